import { strict as assert } from 'node:assert';
import {
  apply, baseline, BulwarkError, dryRun, Engine, loadConfig, markApplied, MigrationFileError, plan, RefusedError, repair, resolveConnection, rollback, verify,
} from '../../src/core';
import { Client } from 'pg';
import { connectPg } from '../../src/core/db/pg';
import { createTestDb, TestDb, waitFor } from '../helpers/db';
import { makeWorkspace, migration, Workspace } from '../helpers/workspace';

describe('engine on a real PostgreSQL', function () {
  let db: TestDb;
  let ws: Workspace;
  let engine: () => Engine;

  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
    engine = () => ws.engine({ DATABASE_URL: db.url });
  });
  afterEach(async () => {
    await db.drop();
    ws.cleanup();
  });

  const exists = async (rel: string) => (await db.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [rel]))[0].r !== null;
  const historyRows = () => db.query<Record<string, any>>('SELECT * FROM bulwark.migrations ORDER BY version');
  const auditRows = () => db.query<Record<string, any>>('SELECT * FROM bulwark.audit ORDER BY id');

  it('applies pending migrations in order, records who/when/how long, and audits each', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;'));
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);\nINSERT INTO b VALUES (1), (2);', 'DROP TABLE b;'));
    const r = await apply(engine(), undefined);
    assert.equal(r.ok, true);
    assert.deepEqual(r.results.map((x) => [x.version, x.status]), [['20260101000000', 'applied'], ['20260102000000', 'applied']]);
    assert.ok(await exists('b'));
    const rows = await historyRows();
    assert.deepEqual(rows.map((x) => [x.version, x.name, x.status, x.environment]), [
      ['20260101000000', 'a', 'applied', 'default'],
      ['20260102000000', 'b', 'applied', 'default'],
    ]);
    assert.equal(rows[0].applied_by, 'postgres');
    assert.ok(rows[0].os_user && rows[0].hostname && rows[0].tool_version);
    assert.ok(rows[0].duration_ms >= 0);
    assert.match(rows[0].checksum, /^[0-9a-f]{64}$/);
    assert.deepEqual((await auditRows()).map((x) => [x.action, x.version]), [['apply', '20260101000000'], ['apply', '20260102000000']]);
    const again = await apply(engine(), undefined);
    assert.deepEqual(again.results, []);
  });

  it('a failing migration leaves no partial change, stops, and the history tells the truth', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    const bad = migration('CREATE TABLE b (id int);\nINSERT INTO b (id, nope) VALUES (1, 2);');
    ws.write('20260102000000_b.sql', bad);
    ws.write('20260103000000_c.sql', migration('CREATE TABLE c (id int);'));
    const r = await apply(engine(), undefined);
    assert.equal(r.ok, false);
    assert.deepEqual(r.results.map((x) => x.status), ['applied', 'failed', 'not-executed']);
    const f = r.results[1].status === 'failed' ? r.results[1].error : assert.fail('not failed');
    // `nope` is on line 3 of the file, column 20.
    assert.equal(bad.split('\n')[2].indexOf('nope') + 1, 20);
    assert.deepEqual([f.line, f.column, f.code], [3, 20, '42703']);
    assert.match(f.message, /column "nope" of relation "b" does not exist/);
    assert.match(f.outcome, /rolled back; nothing of it persists/);
    assert.equal(await exists('b'), false, 'the first statement of the failed migration was rolled back');
    assert.equal(await exists('c'), false);
    const rows = await historyRows();
    assert.deepEqual(rows.map((x) => [x.version, x.status]), [['20260101000000', 'applied'], ['20260102000000', 'failed']]);
    assert.equal(rows[1].error.line, 3);
    assert.equal(rows[1].error.code, '42703');
    assert.deepEqual((await auditRows()).map((x) => x.action), ['apply', 'failure']);
    const st = await engine().status();
    assert.deepEqual(st.migrations.map((m) => m.status), ['applied', 'failed', 'pending']);

    // Fixed file: the failed (transactional) migration is retried.
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);'));
    const r2 = await apply(engine(), undefined);
    assert.deepEqual(r2.results.map((x) => x.status), ['applied', 'applied']);
    assert.equal((await historyRows())[1].status, 'applied');
    assert.equal((await historyRows())[1].error, null);
  });

  it('reports a deferred constraint violation at COMMIT as a failure of that migration', async () => {
    ws.write('20260101000000_a.sql', migration(`CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE ch (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED);
INSERT INTO ch VALUES (42);`));
    const r = await apply(engine(), undefined);
    assert.equal(r.results[0].status, 'failed');
    assert.equal(await exists('p'), false);
    assert.equal((await historyRows())[0].status, 'failed');
  });

  it('sets lock_timeout and statement_timeout from the environment for each migration', async () => {
    ws.writeConfig({ environments: [{ name: 'dev', url: '${env:DATABASE_URL}', lockTimeout: '1234ms', statementTimeout: '5min' }] });
    ws.write('20260101000000_a.sql', migration("CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lt, current_setting('statement_timeout') AS st;"));
    await apply(engine(), 'dev');
    assert.deepEqual(await db.query('SELECT lt, st FROM seen'), [{ lt: '1234ms', st: '5min' }]);
  });

  it('a lock_timeout stops a migration that would queue behind traffic, and rolls it back', async () => {
    ws.writeConfig({ environments: [{ name: 'dev', url: '${env:DATABASE_URL}', lockTimeout: '200ms' }] });
    await db.query('CREATE TABLE busy (id int)');
    ws.write('20260101000000_a.sql', migration('CREATE TABLE x (id int);\nALTER TABLE busy ADD COLUMN y int;'));
    await db.query('BEGIN');
    await db.query('SELECT * FROM busy'); // holds ACCESS SHARE until the test's transaction ends
    try {
      const r = await apply(engine(), 'dev');
      const f = r.results[0].status === 'failed' ? r.results[0].error : assert.fail('expected a failure');
      assert.equal(f.code, '55P03');
      assert.equal(f.line, 3);
    } finally {
      await db.query('ROLLBACK');
    }
    assert.equal(await exists('x'), false);
  });

  it('refuses transaction control inside a wrapped migration, naming the line', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);'));
    await assert.rejects(apply(engine(), undefined), (e: BulwarkError) => {
      assert.match(e.message, /COMMIT inside a migration that Bulwark runs in a transaction/);
      assert.equal(e.location?.line, 3);
      return true;
    });
    assert.equal(await exists('a'), false);
  });

  it('runs transaction:false sections statement by statement (CREATE INDEX CONCURRENTLY) and says what persists on failure', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE t (id int);'));
    ws.write('20260102000000_idx.sql', migration('CREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_bad ON t (nope);', 'DROP INDEX CONCURRENTLY t_id;', { upOptions: 'transaction:false', downOptions: 'transaction:false' }));
    const r = await apply(engine(), undefined);
    const f = r.results[1].status === 'failed' ? r.results[1].error : assert.fail('expected failure');
    assert.equal(f.statementsDone, 1);
    assert.match(f.outcome, /statement 1 of 2 completed and persist; they were NOT undone/);
    assert.ok(await exists('t_id'), 'the first CONCURRENTLY index stays');
    const row = (await historyRows())[1];
    assert.deepEqual([row.status, row.statements_done, row.transactional], ['failed', 1, false]);
    // apply refuses until the failure is resolved
    await assert.rejects(apply(engine(), undefined), /failed outside a transaction[\s\S]*repair/);
    const diag = await repair(engine(), undefined, undefined);
    assert.ok('problems' in diag && diag.problems[0].version === '20260102000000');
    await db.query('DROP INDEX t_id');
    await repair(engine(), undefined, '20260102000000', { resolve: 'rolled-back' });
    ws.write('20260102000000_idx.sql', migration('CREATE INDEX CONCURRENTLY t_id ON t (id);', 'DROP INDEX CONCURRENTLY t_id;', { upOptions: 'transaction:false', downOptions: 'transaction:false' }));
    assert.equal((await apply(engine(), undefined)).ok, true);
    assert.ok(await exists('t_id'));
    const rb = await rollback(engine(), undefined);
    assert.equal(rb.results[0].status, 'rolled-back');
    assert.equal(await exists('t_id'), false);
    assert.ok((await auditRows()).some((x) => x.action === 'repair' && x.details.resolution === 'rolled-back'));
  });

  it('rolls back the last applied migration by applied time, not by file name', async () => {
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);', 'DROP TABLE b;'));
    await apply(engine(), undefined);
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;'));
    await apply(engine(), undefined, { allowOutOfOrder: true });
    const r = await rollback(engine(), undefined);
    assert.deepEqual(r.results.map((x) => [x.version, x.status]), [['20260101000000', 'rolled-back']]);
    assert.equal(await exists('a'), false);
    assert.equal(await exists('b'), true);
    assert.deepEqual((await historyRows()).map((x) => x.version), ['20260102000000']);
    assert.equal((await auditRows()).at(-1)!.action, 'rollback');
    const r2 = await rollback(engine(), undefined, { version: '20260102000000' });
    assert.equal(r2.results[0].status, 'rolled-back');
    await assert.rejects(rollback(engine(), undefined), /nothing to roll back/);
  });

  it('refuses to roll back an irreversible migration and changes nothing', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    await apply(engine(), undefined);
    await assert.rejects(rollback(engine(), undefined), (e: BulwarkError) => e instanceof RefusedError && /irreversible/.test(e.message));
    assert.ok(await exists('a'));
    assert.equal((await historyRows()).length, 1);
  });

  it('a failing down section keeps the migration applied', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;\nDROP TABLE does_not_exist;'));
    await apply(engine(), undefined);
    const r = await rollback(engine(), undefined);
    assert.equal(r.results[0].status, 'failed');
    assert.ok(await exists('a'), 'the DROP TABLE a was rolled back');
    assert.equal((await historyRows())[0].status, 'applied');
    assert.equal((await auditRows()).at(-1)!.action, 'failure');
  });

  it('dry run reports rows, locks and rewrites, and persists nothing', async () => {
    await db.query('CREATE TABLE accounts (id int, balance int); INSERT INTO accounts SELECT g, g FROM generate_series(1, 50) g');
    ws.write('20260101000000_a.sql', migration(`UPDATE accounts SET balance = balance + 1 WHERE id <= 10;
ALTER TABLE accounts ALTER COLUMN balance TYPE bigint;
CREATE TABLE fresh (id int);
CREATE INDEX fresh_id ON fresh (id);`));
    const r = await dryRun(engine(), undefined);
    assert.equal(r.ok, true);
    const [upd, alter, create, idx] = r.migrations[0].statements;
    assert.equal(upd.rowCount, 10);
    assert.ok(upd.locks.some((l) => l.relation === 'accounts' && l.mode === 'RowExclusiveLock' && !l.newObject));
    assert.deepEqual(upd.rewritten, []);
    assert.deepEqual(alter.rewritten, ['accounts']);
    assert.ok(alter.locks.some((l) => l.relation === 'accounts' && l.mode === 'AccessExclusiveLock'));
    assert.deepEqual(create.rewritten, []);
    assert.ok(idx.locks.every((l) => l.newObject), 'locks on objects created in the rehearsal are marked new');
    assert.equal(alter.line, 3);
    assert.equal(await exists('fresh'), false);
    assert.deepEqual(await db.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'balance'"), [{ data_type: 'integer' }]);
    assert.deepEqual(await db.query('SELECT sum(balance)::int AS s FROM accounts'), [{ s: 1275 }]);
    assert.equal(await exists('bulwark.migrations'), false, 'a dry run never creates Bulwark tables');
  });

  it('dry run locates a failure and does not rehearse transaction:false migrations', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    ws.write('20260102000000_b.sql', migration('CREATE INDEX CONCURRENTLY a_id ON a (id);', undefined, { upOptions: 'transaction:false' }));
    ws.write('20260103000000_c.sql', migration('SELECT 1;\nSELECT nope FROM a;'));
    const r = await dryRun(engine(), undefined);
    assert.equal(r.ok, false);
    assert.deepEqual(r.migrations.map((m) => [m.rehearsed, m.ok]), [[true, true], [false, true], [true, false]]);
    assert.match(r.migrations[1].reason!, /cannot be rehearsed/);
    assert.equal(r.migrations[1].planned![0].sql, 'CREATE INDEX CONCURRENTLY a_id ON a (id)');
    assert.deepEqual([r.migrations[2].statements[1].error!.line, r.migrations[2].statements[1].error!.column], [3, 8]);
    assert.equal(await exists('a'), false);
  });

  it('dry run is audited when Bulwark tables exist', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    await apply(engine(), undefined);
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);'));
    await dryRun(engine(), undefined);
    const last = (await auditRows()).at(-1)!;
    assert.equal(last.action, 'dry-run');
    assert.deepEqual(last.details.migrations, [{ version: '20260102000000', rehearsed: true, ok: true }]);
    assert.equal(await exists('b'), false);
  });

  it('plan shows statements with positions and transaction modes; refusals are listed', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);\n\nCREATE TABLE b (id int);'));
    ws.write('20260102000000_b.sql', migration('CREATE INDEX CONCURRENTLY x ON a (id);', undefined, { upOptions: 'transaction:false' }));
    const p = await plan(engine(), undefined);
    assert.deepEqual(p.steps.map((s) => [s.version, s.transaction, s.statements.map((x) => x.line)]), [
      ['20260101000000', true, [2, 4]],
      ['20260102000000', false, [2]],
    ]);
    const to = await plan(engine(), undefined, { to: '20260101000000' });
    assert.equal(to.steps.length, 1);
    assert.match((await plan(engine(), undefined, { to: '20990101000000' })).problems[0].message, /no migration with that version/);
  });

  it('apply --to stops at the given version', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);'));
    const r = await apply(engine(), undefined, { to: '20260101000000' });
    assert.deepEqual(r.results.map((x) => x.version), ['20260101000000']);
    assert.equal(await exists('b'), false);
  });

  it('refuses out-of-order files unless allowed, and semantic edits of applied ones', async () => {
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);'));
    await apply(engine(), undefined);
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    assert.equal((await engine().status()).migrations[0].status, 'out-of-order');
    await assert.rejects(apply(engine(), undefined), /out of order/);
    ws.remove('20260101000000_a.sql');
    ws.write('20260102000000_b.sql', migration('-- a comment\ncreate   table b (id int);'));
    const cos = await engine().status();
    assert.deepEqual([cos.migrations[0].status, cos.migrations[0].edit], ['edited', 'cosmetic']);
    assert.equal((await verify(engine())).ok, true);
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id bigint);'));
    const sem = await engine().status();
    assert.deepEqual([sem.migrations[0].status, sem.migrations[0].edit], ['edited', 'semantic']);
    assert.equal((await verify(engine())).ok, false);
    ws.write('20260103000000_c.sql', migration('CREATE TABLE c (id int);'));
    await assert.rejects(apply(engine(), undefined), /changed after it was applied[\s\S]*--accept-checksum/);
    await repair(engine(), undefined, '20260102000000', { acceptChecksum: true });
    assert.equal((await apply(engine(), undefined)).ok, true);
    assert.equal((await verify(engine())).ok, true);
  });

  it('checks `requires:` prerequisites', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);'));
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);', undefined, { header: '-- requires: 20260101000000\n' }));
    const r = await apply(engine(), undefined, { to: '20260102000000' });
    assert.equal(r.ok, true);
    ws.write('20260103000000_c.sql', migration('SELECT 1;', undefined, { header: '-- requires: 20260101000000\n' }));
    // requiring a version that sorts later is a file error
    ws.write('20260104000000_d.sql', migration('SELECT 1;', undefined, { header: '-- requires: 20260105000000\n' }));
    ws.write('20260105000000_e.sql', migration('SELECT 1;'));
    await assert.rejects(apply(engine(), undefined), (e: BulwarkError) => e instanceof MigrationFileError && /sorts after this migration/.test(e.message));
  });

  it('baseline and mark-applied record without running, audited', async () => {
    await db.query('CREATE TABLE legacy (id int)');
    ws.write('20260101000000_legacy.sql', migration('CREATE TABLE legacy (id int);'));
    ws.write('20260102000000_more.sql', migration('CREATE TABLE legacy2 (id int);'));
    ws.write('20260103000000_new.sql', migration('CREATE TABLE fresh (id int);'));
    const b = await baseline(engine(), undefined, '20260102000000');
    assert.equal(b.changed.length, 2);
    assert.equal(await exists('legacy2'), false, 'baseline does not run SQL');
    const st = await engine().status();
    assert.deepEqual(st.migrations.map((m) => [m.status, m.recordedOnly ?? false]), [['applied', true], ['applied', true], ['pending', false]]);
    await markApplied(engine(), undefined, '20260103000000');
    await assert.rejects(markApplied(engine(), undefined, '20260103000000'), /already recorded/);
    assert.equal(await exists('fresh'), false);
    assert.deepEqual((await auditRows()).map((x) => x.action), ['baseline', 'baseline', 'mark-applied']);
  });

  it('the audit table is append-only', async () => {
    ws.write('20260101000000_a.sql', migration('SELECT 1;'));
    await apply(engine(), undefined);
    await assert.rejects(db.query('UPDATE bulwark.audit SET action = $1', ['x']), /append-only/);
    await assert.rejects(db.query('DELETE FROM bulwark.audit'), /append-only/);
    await assert.rejects(db.query('TRUNCATE bulwark.audit'), /append-only/);
  });

  it('uses the configured history schema and tables', async () => {
    ws.writeConfig({ history: { schema: 'ops', table: 'schema_history', auditTable: 'events' }, environments: [{ name: 'dev', url: '${env:DATABASE_URL}' }] });
    ws.write('20260101000000_a.sql', migration('SELECT 1;'));
    await apply(engine(), 'dev');
    assert.ok(await exists('ops.schema_history'));
    assert.ok(await exists('ops.events'));
    assert.equal(await exists('bulwark.migrations'), false);
  });

  it('status on an unreachable environment says so instead of throwing', async () => {
    ws.writeConfig({ environments: [{ name: 'dev', url: '${env:DATABASE_URL}' }, { name: 'gone', url: 'postgres://postgres@127.0.0.1:1/none' }] });
    ws.write('20260101000000_a.sql', migration('SELECT 1;'));
    const all = await engine().statusAll();
    assert.deepEqual(all.map((s) => [s.environment, s.reachable]), [['dev', true], ['gone', false]]);
    assert.match(all[1].error!, /cannot connect to postgres:\/\/postgres@127.0.0.1:1\/none/);
  });
});

describe('engine: cancellation and statement-by-statement mode', function () {
  let db: TestDb;
  let ws: Workspace;
  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
  });
  afterEach(async () => {
    await db.drop();
    ws.cleanup();
  });

  it('aborting the signal cancels the running statement: the migration rolls back, later ones do not run', async () => {
    await db.query('CREATE TABLE blocker (id int)');
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);\nINSERT INTO blocker VALUES (1);'));
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);'));
    // A second session holds the lock (statistics views are frozen inside the polling session's transactions).
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE');
    const controller = new AbortController();
    const run = apply(ws.engine({ DATABASE_URL: db.url }), undefined, { signal: controller.signal });
    await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'bulwark/%' AND wait_event_type = 'Lock'`, [db.name])).length === 1, 'the migration to wait on the lock');
    controller.abort();
    const r = await run;
    await holder.end();
    assert.equal(r.cancelled, true);
    assert.equal(r.ok, false);
    assert.deepEqual(r.results.map((x) => x.status), ['failed', 'not-executed']);
    const f = r.results[0].status === 'failed' ? r.results[0].error : assert.fail();
    assert.equal(f.message, 'cancelled by the user');
    assert.equal(f.code, '57014');
    assert.equal(f.line, 3);
    assert.deepEqual(await db.query(`SELECT to_regclass('a') AS a, to_regclass('b') AS b`), [{ a: null, b: null }]);
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM blocker'), [{ n: 0 }]);
  });

  it('without one-round-trip scripts (other drivers, PostgreSQL < 13 with statement_timeout) failures are located the same way', async () => {
    const engine = () => {
      const config = loadConfig({ cwd: ws.dir, env: { DATABASE_URL: db.url } });
      return new Engine({
        config,
        processEnv: { DATABASE_URL: db.url },
        connect: async (env, applicationName) => {
          const c = resolveConnection(env, { DATABASE_URL: db.url });
          const pg = await connectPg(c, { applicationName });
          return { query: pg.query.bind(pg), close: pg.close.bind(pg), backendPid: pg.backendPid, serverVersion: pg.serverVersion };
        },
      });
    };
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);\nINSERT INTO a (nope) VALUES (1);'));
    const r = await apply(engine(), undefined);
    const f = r.results[0].status === 'failed' ? r.results[0].error : assert.fail();
    assert.deepEqual([f.line, f.column, f.statementIndex], [3, 16, 1]);
    assert.deepEqual(await db.query(`SELECT to_regclass('a') AS a`), [{ a: null }]);
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);\nINSERT INTO a (id) VALUES (1);', 'DROP TABLE a;'));
    assert.equal((await apply(engine(), undefined)).ok, true);
    assert.deepEqual(await db.query('SELECT status, duration_ms IS NOT NULL AS d FROM bulwark.migrations'), [{ status: 'applied', d: true }]);
    assert.equal((await rollback(engine(), undefined)).ok, true);
    assert.deepEqual(await db.query(`SELECT to_regclass('a') AS a`), [{ a: null }]);
  });
});
