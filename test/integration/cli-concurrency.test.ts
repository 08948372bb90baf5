import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { lockKey } from '../../src/core/db/lock';
import { createTestDb, TestDb, waitFor } from '../helpers/db';
import { CliResult, makeWorkspace, migration, runCli, startCli, Workspace } from '../helpers/workspace';

/**
 * Several `bulwark` processes against one database: the advisory lock serialises them, the waiter says
 * it waited (output and audit), every migration runs exactly once, and a held lock past
 * "lockWaitTimeout" fails with the holder named.
 */

type Running = ReturnType<typeof startCli>;

interface Backend {
  pid: number;
  wait_event_type: string | null;
  wait_event: string | null;
  application_name: string;
}

describe('cli: concurrent runs', function () {
  this.timeout(30000);

  let db: TestDb;
  let ws: Workspace;
  const clients: Client[] = [];
  const extraDbs: TestDb[] = [];
  const running: Running[] = [];

  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
  });

  afterEach(async () => {
    for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    for (const c of clients.splice(0)) await c.end().catch(() => {});
    for (const d of extraDbs.splice(0)) await d.drop();
    await db.drop();
    ws.cleanup();
  });

  async function connect(url = db.url): Promise<Client> {
    const c = new Client({ connectionString: url, application_name: 'bulwark-test-holder' });
    c.on('error', () => {});
    await c.connect();
    clients.push(c);
    return c;
  }

  function start(args: string[], env: Record<string, string>): Running {
    const r = startCli(args, { cwd: ws.dir, env });
    running.push(r);
    return r;
  }

  /** Bulwark's sessions on the test database (application_name starts with 'bulwark/'). */
  function bulwarkBackends(): Promise<Backend[]> {
    return db.query<Backend>(
      `SELECT pid, wait_event_type, wait_event, application_name FROM pg_stat_activity
        WHERE datname = $1 AND application_name LIKE 'bulwark/%' ORDER BY pid`,
      [db.name],
    );
  }

  /** waitFor, failing at once (with the output) if one of the CLI processes exits meanwhile. */
  async function waitWhileRunning<T>(procs: Running[], probe: () => Promise<T | undefined>, what: string): Promise<T> {
    const exited: CliResult[] = [];
    for (const p of procs) void p.done.then((r) => exited.push(r), () => {});
    return waitFor(async () => {
      if (exited.length) throw new Error(`a bulwark process exited while waiting for ${what}: ${JSON.stringify(exited[0])}`);
      return probe();
    }, what);
  }

  it('two apply runs started together: both exit 0, each migration runs once, the second waits for the lock and says so', async () => {
    const env = { DATABASE_URL: db.url };
    ws.write('20240101000100_create_x.sql', migration('CREATE TABLE x (id int);', 'DROP TABLE x;'));
    const first = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(first.code, 0, first.stderr);

    ws.write('20240101000200_fill_x.sql', migration('INSERT INTO x VALUES (1);', 'DELETE FROM x;')); // needs x: blocked by the test
    ws.write('20240101000300_t3.sql', migration('CREATE TABLE t3 (id int);', 'DROP TABLE t3;'));
    ws.write('20240101000400_t4.sql', migration('CREATE TABLE t4 (id int);', 'DROP TABLE t4;'));
    ws.write('20240101000500_t5.sql', migration('CREATE TABLE t5 (id int);\nINSERT INTO t5 SELECT id FROM x;', 'DROP TABLE t5;'));
    const pendingVersions = ['20240101000200', '20240101000300', '20240101000400', '20240101000500'];

    const holder = await connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE x IN ACCESS EXCLUSIVE MODE');

    const a = start(['apply'], env);
    const b = start(['apply'], env);

    // One runner holds the migration lock and waits for the table lock; the other waits for the migration lock.
    const pids = await waitWhileRunning([a, b], async () => {
      const rows = await bulwarkBackends();
      const onTable = rows.find((r) => r.wait_event_type === 'Lock' && r.wait_event === 'relation');
      const onAdvisory = rows.find((r) => r.wait_event_type === 'Lock' && r.wait_event === 'advisory');
      return onTable && onAdvisory ? { applier: Number(onTable.pid), waiter: Number(onAdvisory.pid) } : undefined;
    }, 'one runner blocked on table x and the other on the migration lock');
    await holder.query('COMMIT');

    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, `first process: ${ra.stdout}\n${ra.stderr}`);
    assert.equal(rb.code, 0, `second process: ${rb.stdout}\n${rb.stderr}`);

    // Exactly one of them applied the four pending migrations; the other found nothing to do after waiting.
    const applier = [ra, rb].filter((r) => /20240101000200_fill_x applied/.test(r.stdout));
    const waiter = [ra, rb].filter((r) => /nothing to do on default: every migration is applied/.test(r.stdout));
    assert.equal(applier.length, 1, `outputs:\n${ra.stdout}\n---\n${rb.stdout}`);
    assert.equal(waiter.length, 1, `outputs:\n${ra.stdout}\n---\n${rb.stdout}`);
    for (const v of ['20240101000200_fill_x', '20240101000300_t3', '20240101000400_t4', '20240101000500_t5']) {
      assert.match(applier[0].stdout, new RegExp(`✔ ${v} applied`));
    }
    assert.doesNotMatch(applier[0].stdout, /waited/);
    assert.match(waiter[0].stdout, /waited .* for the migration lock/);
    assert.ok(
      waiter[0].stderr.includes(`another run holds the migration lock (pid ${pids.applier}, bulwark/`),
      `the waiter should name the holder pid ${pids.applier}; stderr:\n${waiter[0].stderr}`,
    );

    // The database: every migration applied once, one 'apply' audit row each, one 'lock-wait' row naming the holder.
    const history = await db.query<{ version: string; status: string }>('SELECT version, status FROM bulwark.migrations ORDER BY version');
    assert.deepEqual(history, [
      { version: '20240101000100', status: 'applied' },
      ...pendingVersions.map((version) => ({ version, status: 'applied' })),
    ]);
    const applies = await db.query<{ version: string; n: number }>(
      `SELECT version, count(*)::int AS n FROM bulwark.audit WHERE action = 'apply' GROUP BY version ORDER BY version`,
    );
    assert.deepEqual(applies, ['20240101000100', ...pendingVersions].map((version) => ({ version, n: 1 })));
    const waits = await db.query<{ holder: string; version: string | null }>(
      `SELECT details->>'holderPid' AS holder, version FROM bulwark.audit WHERE action = 'lock-wait'`,
    );
    assert.deepEqual(waits, [{ holder: String(pids.applier), version: null }]);
    assert.deepEqual(await db.query('SELECT id FROM x'), [{ id: 1 }], 'the INSERT ran exactly once');
    assert.deepEqual(await db.query('SELECT id FROM t5'), [{ id: 1 }]);
  });

  it('fails with exit 1 naming the holder when the migration lock stays held past lockWaitTimeout', async () => {
    ws.writeConfig({ environments: [{ name: 'dev', url: db.url, lockWaitTimeout: '300ms' }] });
    ws.write('20240101000100_create_y.sql', migration('CREATE TABLE y (id int);'));

    const holder = await connect();
    const [classid, objid] = lockKey('bulwark.migrations');
    await holder.query('SELECT pg_advisory_lock($1::int, $2::int)', [classid, objid]);
    const holderPid = Number((await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);

    const text = await runCli(['apply'], { cwd: ws.dir });
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stderr, /error: another migration run holds the migration lock on "dev": pid (\d+)/);
    assert.equal(/holds the migration lock on "dev": pid (\d+)/.exec(text.stderr)![1], String(holderPid), text.stderr);
    assert.match(text.stderr, /application "bulwark-test-holder"/);
    assert.match(text.stderr, new RegExp(`pg_terminate_backend\\(${holderPid}\\)`));

    const json = await runCli(['apply', '--json'], { cwd: ws.dir });
    assert.equal(json.code, 1, json.stdout + json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.error.code, 'LOCK_HELD');
    assert.equal(doc.error.holder.pid, holderPid);
    assert.equal(doc.error.holder.application, 'bulwark-test-holder');

    // Nothing was created: not the migration's table, not even Bulwark's own schema.
    assert.deepEqual(await db.query(`SELECT to_regclass('public.y') AS t, to_regnamespace('bulwark') AS s`), [{ t: null, s: null }]);

    // Once the lock is released the same command succeeds without waiting.
    await holder.query('SELECT pg_advisory_unlock($1::int, $2::int)', [classid, objid]);
    const after = await runCli(['apply'], { cwd: ws.dir });
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assert.deepEqual(await db.query(`SELECT version, status FROM bulwark.migrations`), [{ version: '20240101000100', status: 'applied' }]);
    assert.deepEqual(await db.query(`SELECT count(*)::int AS n FROM bulwark.audit WHERE action = 'lock-wait'`), [{ n: 0 }]);
  });

  it('does not report a migration lock held in another database as held on this one', async () => {
    // Advisory locks are per database: a run on another database with the same history table key does
    // not block this one, so `status` must not report it as the holder either.
    const other = await createTestDb();
    extraDbs.push(other);
    ws.write('20240101000100_create_z.sql', migration('CREATE TABLE z (id int);'));
    const holder = await connect(other.url);
    const [classid, objid] = lockKey('bulwark.migrations');
    await holder.query('SELECT pg_advisory_lock($1::int, $2::int)', [classid, objid]);
    const otherPid = Number((await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);

    const env = { DATABASE_URL: db.url };
    const applied = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.doesNotMatch(applied.stderr, /another run holds the migration lock/);

    const st = await runCli(['status', '--json'], { cwd: ws.dir, env });
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const doc = JSON.parse(st.stdout);
    assert.equal(
      doc.environments[0].lockHolder,
      undefined,
      `status reports pid ${doc.environments[0].lockHolder?.pid} (the holder in ${other.name} is ${otherPid}) as holding the lock on ${db.name}`,
    );
  });
});
