import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { createTestDb, TestDb, waitFor } from '../helpers/db';
import { CliResult, makeWorkspace, migration, runCli, startCli, Workspace } from '../helpers/workspace';

/**
 * A runner that dies mid-migration (SIGKILL of the process, or its backend terminated by the server):
 * what persists, what the history says, and how the next run and `repair` deal with it.
 */

type Running = ReturnType<typeof startCli>;

describe('cli: crashes mid-migration', function () {
  this.timeout(30000);

  let db: TestDb;
  let ws: Workspace;
  let env: Record<string, string>;
  const clients: Client[] = [];
  const running: Running[] = [];

  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
    env = { DATABASE_URL: db.url };
    await db.query('CREATE TABLE blocker (id int)');
  });

  afterEach(async () => {
    for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    for (const c of clients.splice(0)) await c.end().catch(() => {});
    await db.drop();
    ws.cleanup();
  });

  /** A separate session that holds `LOCK TABLE blocker` in an open transaction until released. */
  async function lockBlocker(): Promise<{ release(): Promise<void> }> {
    const c = new Client({ connectionString: db.url, application_name: 'bulwark-test-holder' });
    c.on('error', () => {});
    await c.connect();
    clients.push(c);
    await c.query('BEGIN');
    await c.query('LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE');
    return { release: async () => void (await c.query('COMMIT')) };
  }

  function start(args: string[]): Running {
    const r = startCli(args, { cwd: ws.dir, env });
    running.push(r);
    return r;
  }

  /** The pid of the CLI's backend once it waits on a heavyweight lock; fails at once if the CLI exits first. */
  async function backendWaitingOnLock(r: Running): Promise<number> {
    let exited: CliResult | undefined;
    void r.done.then((x) => (exited = x), () => {});
    return waitFor(async () => {
      if (exited) throw new Error(`bulwark exited before blocking on the lock: ${JSON.stringify(exited)}`);
      const rows = await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = $1 AND application_name LIKE 'bulwark/%' AND wait_event_type = 'Lock' AND wait_event = 'relation'`,
        [db.name],
      );
      return rows.length === 1 ? Number(rows[0].pid) : undefined;
    }, 'the bulwark backend to wait on the lock of table blocker');
  }

  async function backendGone(pid: number): Promise<void> {
    await waitFor(async () => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length === 0, `backend ${pid} to end`);
  }

  async function statusOf(version: string): Promise<Record<string, unknown>> {
    const r = await runCli(['status', '--json'], { cwd: ws.dir, env });
    const doc = JSON.parse(r.stdout);
    const m = doc.environments[0].migrations.find((x: { version: string }) => x.version === version);
    assert.ok(m, `status has no ${version}: ${r.stdout}`);
    return { ...m, exitCode: r.code };
  }

  const V = '20240101000100';

  it('SIGKILL during a transactional migration: all of it or nothing, with a truthful history; the next apply continues', async () => {
    ws.write(`${V}_create_a.sql`, migration('CREATE TABLE a (id int);\nINSERT INTO blocker VALUES (1);', 'DROP TABLE a;'));
    ws.write(`20240101000200_create_c.sql`, migration('CREATE TABLE c (id int);', 'DROP TABLE c;'));
    const lock = await lockBlocker();
    const run = start(['apply']);
    const pid = await backendWaitingOnLock(run);

    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL');
    assert.match(killed.stderr, /applying 20240101000100_create_a \(1\/2\)/);
    await lock.release();
    await backendGone(pid);

    // The server may still finish the migration it had received (Bulwark sends a migration and its history
    // row as one script) or roll it back; either way the migration and its record are atomic.
    const table = (await db.query<{ t: string | null }>(`SELECT to_regclass('public.a') AS t`))[0].t !== null;
    const rows = await db.query('SELECT version, status FROM bulwark.migrations ORDER BY version');
    const inserted = await db.query('SELECT id FROM blocker');
    const audit = await db.query(`SELECT action FROM bulwark.audit WHERE version = $1`, [V]);
    if (table) {
      assert.deepEqual(rows, [{ version: V, status: 'applied' }]);
      assert.deepEqual(inserted, [{ id: 1 }]);
      assert.deepEqual(audit, [{ action: 'apply' }]);
    } else {
      assert.deepEqual(rows, []);
      assert.deepEqual(inserted, []);
      assert.deepEqual(audit, []);
    }
    assert.equal((await db.query(`SELECT to_regclass('public.c') AS t`))[0].t, null, 'the run stopped with its process');
    assert.equal((await statusOf(V)).status, table ? 'applied' : 'pending');

    const again = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await db.query('SELECT version, status FROM bulwark.migrations ORDER BY version'), [
      { version: V, status: 'applied' },
      { version: '20240101000200', status: 'applied' },
    ]);
    assert.deepEqual(await db.query(`SELECT action FROM bulwark.audit WHERE version = $1 ORDER BY id`, [V]), [{ action: 'apply' }], 'applied exactly once');
    assert.deepEqual(await db.query('SELECT id FROM blocker'), [{ id: 1 }]);
    const after = await statusOf(V);
    assert.equal(after.status, 'applied');
    assert.equal(after.exitCode, 0);
  });

  it('Ctrl-C (SIGINT) cancels the running migration: exit 130, it rolls back, nothing after it runs, the history says so', async () => {
    ws.write(`${V}_create_a.sql`, migration('CREATE TABLE a (id int);\nINSERT INTO blocker VALUES (1);', 'DROP TABLE a;'));
    ws.write(`20240101000200_create_c.sql`, migration('CREATE TABLE c (id int);', 'DROP TABLE c;'));
    const lock = await lockBlocker();
    const run = start(['apply']);
    await backendWaitingOnLock(run);
    run.child.kill('SIGINT');
    const r = await run.done;
    await lock.release();
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stderr, /SIGINT: cancelling the running migration/);
    assert.match(r.stdout, /cancelled by the user/);
    assert.match(r.stdout, /20240101000200_create_c not executed/);
    assert.deepEqual(await db.query(`SELECT to_regclass('public.a') AS a, to_regclass('public.c') AS c`), [{ a: null, c: null }]);
    assert.deepEqual(await db.query('SELECT id FROM blocker'), []);
    assert.deepEqual(await db.query(`SELECT version, status, error->>'message' AS message FROM bulwark.migrations`), [{ version: V, status: 'failed', message: 'cancelled by the user' }]);
    const again = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM bulwark.migrations WHERE status = $1', ['applied']), [{ n: 2 }]);
  });

  it('SIGKILL during a transaction:false migration: the row stays "running" with statements_done = 1; apply refuses until repair', async () => {
    const file = `${V}_two_steps.sql`;
    ws.write(file, migration('CREATE TABLE b1 (id int);\nINSERT INTO blocker VALUES (2);', 'DELETE FROM blocker WHERE id = 2;\nDROP TABLE b1;', { upOptions: 'transaction:false' }));
    const lock = await lockBlocker();
    const run = start(['apply']);
    const pid = await backendWaitingOnLock(run);

    run.child.kill('SIGKILL');
    assert.equal((await run.done).signal, 'SIGKILL');
    await lock.release();
    await backendGone(pid);

    // Statement 1 committed on its own and persists; the history says so.
    assert.notEqual((await db.query(`SELECT to_regclass('public.b1') AS t`))[0].t, null);
    assert.deepEqual(await db.query('SELECT version, status, transactional, statements_done FROM bulwark.migrations'), [
      { version: V, status: 'running', transactional: false, statements_done: 1 },
    ]);
    assert.deepEqual(await db.query(`SELECT action FROM bulwark.audit WHERE version = $1 ORDER BY id`, [V]), [{ action: 'apply-start' }]);

    const st = await statusOf(V);
    assert.equal(st.status, 'failed');
    assert.equal(st.interrupted, true);
    assert.equal(st.statementsDone, 1);
    assert.equal(st.transaction, false);

    const refused = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /refused: apply to "default" refused/);
    assert.match(refused.stderr, /20240101000100_two_steps failed outside a transaction \(its run was interrupted\): 1 of its statements persist/);
    assert.match(refused.stderr, /bulwark repair 20240101000100 --resolve applied/);
    assert.match(refused.stderr, /--resolve rolled-back/);
    assert.deepEqual(await db.query('SELECT status, statements_done FROM bulwark.migrations'), [{ status: 'running', statements_done: 1 }], 'the refusal changed nothing');

    // The operator undoes what ran (statement 1, and statement 2 in case the orphaned backend finished it after the kill), then says so.
    await db.query('DROP TABLE b1');
    await db.query('DELETE FROM blocker WHERE id = 2');
    const repaired = await runCli(['repair', V, '--resolve', 'rolled-back'], { cwd: ws.dir, env });
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.match(repaired.stdout, /20240101000100_two_steps is pending again on "default"/);
    assert.deepEqual(await db.query('SELECT version FROM bulwark.migrations'), []);
    const audit = await db.query<{ action: string; resolution: string; previous: string }>(
      `SELECT action, details->>'resolution' AS resolution, details->>'previousStatus' AS previous FROM bulwark.audit WHERE version = $1 ORDER BY id`,
      [V],
    );
    assert.deepEqual(audit, [
      { action: 'apply-start', resolution: null, previous: null },
      { action: 'repair', resolution: 'rolled-back', previous: 'running' },
    ]);
    assert.equal((await statusOf(V)).status, 'pending');

    const again = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await db.query('SELECT status FROM bulwark.migrations'), [{ status: 'applied' }]);
    assert.notEqual((await db.query(`SELECT to_regclass('public.b1') AS t`))[0].t, null);
    assert.deepEqual(await db.query('SELECT id FROM blocker'), [{ id: 2 }]);
  });

  it('backend terminated while waiting (--json): exit 1, says the connection was lost and nothing persists, records the failure from a new connection', async () => {
    ws.write(`${V}_create_c.sql`, migration('CREATE TABLE c (id int);\nINSERT INTO blocker VALUES (3);', 'DROP TABLE c;'));
    ws.write('20240101000200_after.sql', migration('CREATE TABLE after_c (id int);'));
    const lock = await lockBlocker();
    const run = start(['apply', '--json']);
    const pid = await backendWaitingOnLock(run);

    assert.deepEqual(await db.query('SELECT pg_terminate_backend($1) AS ok', [pid]), [{ ok: true }]);
    const r = await run.done;
    await lock.release();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.results.length, 2);
    const [failed, notRun] = doc.results;
    assert.equal(failed.version, V);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.connectionLost, true);
    assert.equal(failed.error.code, '57P01');
    assert.match(failed.error.outcome, /The connection was lost; the server rolls back the open transaction, so nothing of the migration persists\./);
    assert.match(failed.error.outcome, /The failure was recorded from a new connection\./);
    assert.deepEqual(notRun, { version: '20240101000200', name: 'after', status: 'not-executed' });

    assert.deepEqual(await db.query(`SELECT to_regclass('public.c') AS c, to_regclass('public.after_c') AS a`), [{ c: null, a: null }]);
    assert.deepEqual(await db.query('SELECT id FROM blocker'), []);
    const rows = await db.query<{ version: string; status: string; code: string }>(`SELECT version, status, error->>'code' AS code FROM bulwark.migrations`);
    assert.deepEqual(rows, [{ version: V, status: 'failed', code: '57P01' }]);
    const failures = await db.query<{ action: string; direction: string }>(
      `SELECT action, details->>'direction' AS direction FROM bulwark.audit WHERE version = $1 ORDER BY id`,
      [V],
    );
    assert.deepEqual(failures, [{ action: 'failure', direction: 'up' }]);

    // A transactional failure is retried by the next apply.
    const again = await runCli(['apply'], { cwd: ws.dir, env });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await db.query('SELECT version, status FROM bulwark.migrations ORDER BY version'), [
      { version: V, status: 'applied' },
      { version: '20240101000200', status: 'applied' },
    ]);
  });

  it('backend terminated while waiting (text output): the message says the connection was lost and nothing persists', async () => {
    const file = `${V}_create_c.sql`;
    const text = migration('CREATE TABLE c (id int);\nINSERT INTO blocker VALUES (3);', 'DROP TABLE c;');
    ws.write(file, text);
    const lock = await lockBlocker();
    const run = start(['apply']);
    const pid = await backendWaitingOnLock(run);
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    const r = await run.done;
    await lock.release();

    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /✘ 20240101000100_create_c failed/);
    // The server reports the position of the relation it was waiting for: "blocker" in the INSERT on line 3.
    const line3 = text.split('\n')[2];
    assert.equal(line3, 'INSERT INTO blocker VALUES (3);');
    const where = `migrations/${file}:3:${line3.indexOf('blocker') + 1}`;
    assert.ok(r.stdout.includes(`${where}: error: terminating connection due to administrator command [57P01]`), r.stdout);
    assert.match(r.stdout, /The connection was lost; the server rolls back the open transaction, so nothing of the migration persists\. The failure was recorded from a new connection\./);
    assert.deepEqual(await db.query(`SELECT to_regclass('public.c') AS c`), [{ c: null }]);
    assert.deepEqual(await db.query(`SELECT status FROM bulwark.migrations`), [{ status: 'failed' }]);
    assert.deepEqual(await db.query(`SELECT action FROM bulwark.audit WHERE version = $1`, [V]), [{ action: 'failure' }]);
  });
});
