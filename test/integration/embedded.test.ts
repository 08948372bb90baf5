import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Db, pgErrorFields, commandsCompleted } from '../../src/core/db/db';
import { EmbeddedLockedError, LOCK_FILE, openEmbedded, templateDir } from '../../src/core/db/embedded';
import { PG_MAJOR } from '../../src/core/db/embeddedTemplate';
import { connectPg } from '../../src/core/db/pg';
import { resolveConnection } from '../../src/core/config/config';
import { createTestDb, TestDb } from '../helpers/db';
import { TEST_CACHE_HOME } from '../helpers/embedded';

/**
 * The embedded PostgreSQL (PGlite) behind the `Db` interface: it must answer like a server does (rows,
 * types, command tags, errors with SQLSTATE/position/detail/hint, statement counting of scripts), keep
 * its data on disk, and refuse a second opener.
 */
describe('embedded PostgreSQL (PGlite) as a Db', function () {
  this.timeout(120000);
  const cacheDir = path.join(TEST_CACHE_HOME, 'bulwark');
  let tmp: string;
  const open: Db[] = [];

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-embedded-'));
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function openDir(dir: string, opts: Parameters<typeof openEmbedded>[1] = {}): Promise<Db> {
    const db = await openEmbedded(dir, { cacheDir, ...opts });
    open.push(db);
    return db;
  }

  it('throwaway in-memory databases start from the template image and are independent of each other', async () => {
    const a = await openEmbedded(undefined, { cacheDir });
    open.push(a);
    await a.query('CREATE TABLE only_in_a (id int)');
    await a.query('INSERT INTO only_in_a VALUES (1)');
    const b = await openEmbedded(undefined, { cacheDir });
    open.push(b);
    assert.deepEqual((await b.query("SELECT to_regclass('only_in_a') AS r")).rows, [{ r: null }]);
    await b.query('CREATE TABLE only_in_a (id int)');
    assert.deepEqual((await b.query<{ n: string }>('SELECT count(*)::text AS n FROM only_in_a')).rows, [{ n: '0' }]);
    assert.deepEqual((await a.query<{ n: string }>('SELECT count(*)::text AS n FROM only_in_a')).rows, [{ n: '1' }]);
    assert.ok(a.serverVersion >= 170000);
  });

  it('opens a data directory whose empty folders were lost (a .vsix keeps only files)', async () => {
    const dir = path.join(tmp, 'db');
    const db = await openDir(dir);
    await db.query('CREATE TABLE kept (id int)');
    await db.close();
    open.splice(open.indexOf(db), 1);
    const removeEmpty = (d: string): number => {
      let n = 0;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) n += removeEmpty(path.join(d, e.name));
      if (d !== dir && fs.readdirSync(d).length === 0) {
        fs.rmdirSync(d);
        n++;
      }
      return n;
    };
    assert.ok(removeEmpty(dir) > 3, 'the data directory had empty folders');
    const again = await openDir(dir);
    assert.deepEqual((await again.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_class WHERE relname = 'kept'")).rows, [{ n: '1' }]);
  });

  describe('answers like a server', () => {
    let server: TestDb;
    let serverDb: Db;
    let embedded: Db;
    before(async () => {
      server = await createTestDb();
      serverDb = await connectPg(resolveConnection({ name: 't', url: server.url, protected: false, lockWaitTimeoutMs: 1000 }, {}), { applicationName: 'bulwark-test' });
      embedded = await openEmbedded(undefined, {});
    });
    after(async () => {
      await embedded?.close();
      await serverDb?.close();
      await server?.drop();
    });

    /** The same thing on both: a result, or the fields of the error. */
    async function both(fn: (db: Db) => Promise<unknown>): Promise<[unknown, unknown]> {
      const run = (db: Db) => fn(db).then((r) => r, (e) => ({ error: pgErrorFields(e) ?? String(e), completed: commandsCompleted(e) }));
      return [await run(serverDb), await run(embedded)];
    }

    it('is PostgreSQL 17+ with a backend pid, marked embedded', () => {
      assert.ok(embedded.serverVersion >= 170000, String(embedded.serverVersion));
      assert.equal(typeof embedded.backendPid, 'number');
      assert.equal(embedded.embedded, true);
      assert.equal(serverDb.embedded, false);
    });

    it('returns the same rows, types, command tags and row counts, with and without parameters', async () => {
      const setup = 'CREATE TABLE IF NOT EXISTS t (id int8 PRIMARY KEY, at timestamptz, n numeric, j jsonb, b bool, a int[], s text)';
      await serverDb.query(setup);
      await embedded.query(setup);
      const cases: [string, unknown[]?][] = [
        ["INSERT INTO t VALUES (1, '2024-01-02T03:04:05Z', 1.50, '{\"k\": [1, 2]}', true, '{1,2}', 'x'), (2, NULL, NULL, NULL, NULL, NULL, NULL)"],
        ['SELECT * FROM t ORDER BY id'],
        ['SELECT * FROM t WHERE id = $1', [1]],
        ['UPDATE t SET s = $1 WHERE id > $2', ['y', 0]],
        ['DELETE FROM t WHERE id = 2'],
        ['CREATE INDEX t_s ON t (s)'],
        ['SELECT 1 AS one WHERE false'],
      ];
      for (const [sql, params] of cases) {
        const [a, b] = await both((db) => db.query(sql, params));
        assert.deepEqual(b, a, sql);
      }
    });

    it('fails with the same SQLSTATE, position, detail and hint', async () => {
      const setup = 'CREATE TABLE IF NOT EXISTS u (id int PRIMARY KEY); INSERT INTO u VALUES (1) ON CONFLICT DO NOTHING';
      await serverDb.query(setup);
      await embedded.query(setup);
      for (const sql of [
        'SELEC 1',
        'SELECT missing_col FROM u',
        'INSERT INTO u VALUES (1)',
        "DO $$ BEGIN RAISE EXCEPTION 'nope' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0042'; END $$",
        'SELECT 1/0',
        "SELECT 'abc'::int",
      ]) {
        const [a, b] = await both((db) => db.query(sql));
        assert.ok((a as { error?: unknown }).error, `${sql} should fail`);
        assert.deepEqual(b, a, sql);
      }
    });

    it('counts the statements of a script that completed before it failed', async () => {
      const script = 'BEGIN; CREATE TABLE v (id int); INSERT INTO v VALUES (1); INSERT INTO v VALUES (\'x\'); COMMIT';
      const [a, b] = await both(async (db) => {
        try {
          await db.runScript!(script);
        } finally {
          await db.query('ROLLBACK');
        }
      });
      assert.deepEqual(b, a);
      assert.equal((b as { completed: number }).completed, 3);
      assert.equal((await embedded.query("SELECT to_regclass('v') AS t")).rows[0].t, null, 'the failed script left nothing');
    });

    it('passes notices on', async () => {
      const notices: string[] = [];
      const db = await openEmbedded(undefined, { onNotice: (m) => notices.push(m) });
      try {
        await db.query("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$");
        assert.deepEqual(notices, ['hello 42']);
      } finally {
        await db.close();
      }
    });

    it('takes and reports advisory locks like a server', async () => {
      assert.deepEqual((await embedded.query('SELECT pg_try_advisory_lock(1, 2) AS ok')).rows, [{ ok: true }]);
      const r = await embedded.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 1 AND objid = 2");
      assert.deepEqual(r.rows, [{ pid: embedded.backendPid }]);
      assert.deepEqual((await embedded.query('SELECT pg_advisory_unlock(1, 2) AS ok')).rows, [{ ok: true }]);
    });
  });

  describe('on disk', () => {
    it('keeps committed data across close and reopen, holding the lock file while open', async () => {
      const dir = path.join(tmp, 'db');
      const db = await openEmbedded(dir, { cacheDir });
      assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
      await db.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)');
      await db.query('BEGIN; INSERT INTO kept VALUES (3)'); // never committed
      await db.close();
      assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false);
      const again = await openDir(dir);
      assert.deepEqual((await again.query('SELECT id FROM kept ORDER BY id')).rows, [{ id: 1 }, { id: 2 }]);
    });

    it('refuses a second opener of the same data directory, and opens once the first has closed', async () => {
      const dir = path.join(tmp, 'db');
      const first = await openEmbedded(dir, { cacheDir });
      await assert.rejects(openEmbedded(dir, { cacheDir }), (e: unknown) => e instanceof EmbeddedLockedError && /already open in this process/.test(e.message));
      await first.close();
      const second = await openDir(dir);
      assert.equal((await second.query('SELECT 1 AS x')).rows[0].x, 1);
    });

    it('makes the template once, then creates new data directories from it', async () => {
      const cache = path.join(tmp, 'cache');
      const progress: string[] = [];
      const a = await openDir(path.join(tmp, 'a'), { cacheDir: cache, onProgress: (m) => progress.push(m) });
      assert.equal(fs.readFileSync(path.join(templateDir(cache), 'PG_VERSION'), 'utf8').trim(), PG_MAJOR, 'PG_MAJOR is the embedded PostgreSQL');
      assert.deepEqual(fs.readdirSync(path.dirname(templateDir(cache))), [path.basename(templateDir(cache))], 'no temporary folder left');
      assert.match(progress.join('\n'), /preparing the embedded PostgreSQL template/);
      await a.query('CREATE TABLE only_in_a (id int)');
      progress.length = 0;
      const b = await openDir(path.join(tmp, 'b'), { cacheDir: cache, onProgress: (m) => progress.push(m) });
      assert.equal(progress.length, 1);
      assert.match(progress[0], /^creating the embedded database in /);
      assert.equal((await b.query("SELECT to_regclass('only_in_a') AS t")).rows[0].t, null, 'the template is not the other database');
      assert.equal(fs.existsSync(path.join(tmp, 'b', '.bulwark-initialising')), false);
    });

    it('without a usable cache folder, runs initdb in the data directory itself', async () => {
      const blocked = path.join(tmp, 'not-a-folder');
      fs.writeFileSync(blocked, '');
      const progress: string[] = [];
      const db = await openDir(path.join(tmp, 'db'), { cacheDir: blocked, onProgress: (m) => progress.push(m) });
      assert.match(progress.join('\n'), /initdb/);
      assert.equal((await db.query('SELECT 1 AS x')).rows[0].x, 1);
    });

    it('starts again a data directory whose creation was interrupted', async () => {
      const dir = path.join(tmp, 'db');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, '.bulwark-initialising'), '');
      fs.writeFileSync(path.join(dir, 'PG_VERSION'), '18\n');
      fs.mkdirSync(path.join(dir, 'base'));
      const db = await openDir(dir);
      assert.equal((await db.query('SELECT 1 AS x')).rows[0].x, 1);
      assert.equal(fs.existsSync(path.join(dir, '.bulwark-initialising')), false);
    });

    it('refuses a data directory of another PostgreSQL major version, saying which', async () => {
      const dir = path.join(tmp, 'old');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'PG_VERSION'), '17\n');
      await assert.rejects(openEmbedded(dir, { cacheDir }), (e: unknown) => e instanceof Error && /was made by PostgreSQL 17; this Bulwark embeds PostgreSQL 18/.test(e.message));
      assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false, 'the lock was released');
    });

    it('refuses a folder that holds something else', async () => {
      const dir = path.join(tmp, 'docs');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
      await assert.rejects(openEmbedded(dir, { cacheDir }), (e: unknown) => e instanceof Error && /is not an embedded database and is not empty \(it holds notes\.txt\)/.test(e.message));
      assert.deepEqual(fs.readdirSync(dir), ['notes.txt'], 'left as it was');
    });
  });
});
