import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openEmbedded } from '../../src/core/db/embedded';
import { waitFor } from '../helpers/db';
import { TEST_CACHE_HOME } from '../helpers/embedded';
import { CLI, CliResult, makeWorkspace, migration, runCli, startCli, Workspace } from '../helpers/workspace';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';

/**
 * Zero setup: no bulwark.json, no DATABASE_URL. The CLI works on the embedded PostgreSQL in
 * `.bulwark/local` exactly as on a server, one process at a time, and a killed run loses nothing that
 * committed.
 */
describe('cli: the embedded database (no configuration at all)', function () {
  this.timeout(120000);

  let ws: Workspace;
  // No DATABASE_URL here (startCli passes only PATH, HOME and NO_COLOR from this process).
  const env = { XDG_CACHE_HOME: TEST_CACHE_HOME };
  const running: ReturnType<typeof startCli>[] = [];

  beforeEach(() => {
    ws = makeWorkspace();
  });
  afterEach(() => {
    for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    ws.cleanup();
  });

  const cli = (args: string[]) => runCli(args, { cwd: ws.dir, env });
  const ok = (r: CliResult, code = 0) => assert.equal(r.code, code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const statuses = async () => {
    const r = await cli(['status', '--json']);
    ok(r);
    const e = JSON.parse(r.stdout).environments[0];
    return Object.fromEntries(e.migrations.map((m: { version: string; status: string }) => [m.version, m.status]));
  };

  const V1 = '20240101000100';
  const V2 = '20240101000200';
  const V3 = '20240101000300';

  function writeThree(): void {
    ws.write(`${V1}_create_users.sql`, migration('CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);', 'DROP TABLE users;'));
    ws.write(`${V2}_seed_users.sql`, migration("INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');", 'DELETE FROM users;'));
    ws.write(`${V3}_add_name.sql`, migration("ALTER TABLE users ADD COLUMN name text NOT NULL DEFAULT '';", 'ALTER TABLE users DROP COLUMN name;'));
  }

  it('status, plan, dry-run, apply, verify, history, rollback, baseline, repair and consistency all work', async () => {
    writeThree();

    const first = await cli(['status']);
    ok(first);
    assert.match(first.stdout, /^local embedded PostgreSQL at \.bulwark\/local$/m);
    assert.match(first.stdout, /3 pending/);
    assert.equal(fs.readFileSync(path.join(ws.dir, '.bulwark', '.gitignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).join(), '*');

    const plan = await cli(['plan']);
    ok(plan);
    assert.match(plan.stdout, /Plan for local \(embedded PostgreSQL at \.bulwark\/local\)/);

    const rehearsal = await cli(['dry-run']);
    ok(rehearsal);
    assert.match(rehearsal.stdout, /2 row\(s\)/);
    assert.match(rehearsal.stdout, /dry run: ok/);
    assert.deepEqual(await statuses(), { [V1]: 'pending', [V2]: 'pending', [V3]: 'pending' }, 'a dry run persists nothing');

    const applied = await cli(['apply']);
    ok(applied);
    assert.match(applied.stdout, new RegExp(`^✔ ${V1}_create_users applied`, 'm'));
    assert.match(applied.stdout, new RegExp(`^✔ ${V3}_add_name applied`, 'm'));
    // apply ends with the resulting status
    assert.match(applied.stdout, /^local embedded PostgreSQL at \.bulwark\/local$/m);
    assert.match(applied.stdout, /^ {2}3 applied$/m);

    const json = JSON.parse((await cli(['status', '--json'])).stdout);
    assert.equal(json.environments[0].environment, 'local');
    assert.equal(json.environments[0].connection, 'embedded PostgreSQL at .bulwark/local');
    assert.equal(json.environments[0].reachable, true);

    const verified = await cli(['verify']);
    ok(verified);
    assert.match(verified.stdout, /verify: ok \(local\)/);

    const hist = await cli(['history', '--json']);
    ok(hist);
    assert.deepEqual(JSON.parse(hist.stdout).filter((r: { action: string }) => r.action === 'apply').map((r: { version: string }) => r.version), [V1, V2, V3]);

    const back = await cli(['rollback']);
    ok(back);
    assert.match(back.stdout, new RegExp(`^✔ ${V3}_add_name rolled back`, 'm'));
    assert.deepEqual(await statuses(), { [V1]: 'applied', [V2]: 'applied', [V3]: 'pending' });

    const again = await cli(['dry-run']);
    ok(again);
    assert.match(again.stdout, /ALTER TABLE users ADD COLUMN name/);
    assert.match(again.stdout, /locks: AccessExclusive on users/);

    const adopted = await cli(['baseline', V3]);
    ok(adopted);
    assert.deepEqual(await statuses(), { [V1]: 'applied', [V2]: 'applied', [V3]: 'applied' });

    const repair = await cli(['repair']);
    ok(repair);
    assert.match(repair.stdout, /nothing to repair on "local"/);

    const cons = await cli(['consistency']);
    ok(cons);
    assert.match(cons.stdout, /consistency: ok/);
  });

  it('locates a failing migration in its file exactly as on a server, and repair resolves it', async () => {
    writeThree();
    const bad = ws.write('20240101000400_bad.sql', '-- migrate:up\nCREATE TABLE t4 (id int);\nINSERT INTO t4 VALUES (1);\nSELECT missing_col\n  FROM t4;\n-- migrate:down\nDROP TABLE t4;\n');
    const r = await cli(['apply']);
    ok(r, 1);
    assert.ok(r.stdout.includes(`${path.relative(ws.dir, bad)}:4:8: error: column "missing_col" does not exist [42703]`), r.stdout);
    assert.match(r.stdout, /The migration was rolled back; nothing of it persists\./);
    assert.deepEqual(await statuses(), { [V1]: 'applied', [V2]: 'applied', [V3]: 'applied', '20240101000400': 'failed' });

    const syntax = ws.write('20240101000400_bad.sql', '-- migrate:up\nCREATE TABLE t4 (id int);\nCREAT INDEX ON t4 (id);\n-- migrate:down\nDROP TABLE t4;\n');
    const s = await cli(['apply']);
    ok(s, 1);
    assert.ok(s.stdout.includes(`${path.relative(ws.dir, syntax)}:3:1: error: syntax error at or near "CREAT" [42601]`), s.stdout);

    const fixed = await cli(['repair', '20240101000400', '--resolve', 'rolled-back']);
    ok(fixed);
    assert.deepEqual((await statuses())['20240101000400'], 'pending');
  });

  it('lets one process at a time open the database, naming the one that holds it', async () => {
    ws.write(`${V1}_slow.sql`, migration('CREATE TABLE slow (id int);\nSELECT pg_sleep(4);', 'DROP TABLE slow;'));
    const run = startCli(['apply'], { cwd: ws.dir, env });
    running.push(run);
    let stderr = '';
    run.child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => stderr.includes('applying'), 'apply to start its migration');

    const blocked = await cli(['status']);
    ok(blocked, 1);
    assert.match(blocked.stdout + blocked.stderr, new RegExp(`in use by another process: pid ${run.child.pid} on [^ ]+ \\(bulwark apply\\)`));
    const json = await cli(['status', '--json']);
    ok(json, 1);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.environments[0].reachable, false);
    assert.match(doc.environments[0].error, /in use by another process/);

    const apply = await cli(['apply', '--json']);
    ok(apply, 1);
    assert.equal(JSON.parse(apply.stdout).error.code, 'LOCK_HELD');
    assert.equal(JSON.parse(apply.stdout).error.holder.pid, run.child.pid);

    // Killed in the middle of its migration: the lock is stale, the migration is not there at all.
    run.child.kill('SIGKILL');
    await run.done;
    const after = await cli(['status', '--json']);
    ok(after);
    assert.equal(JSON.parse(after.stdout).environments[0].migrations[0].status, 'pending');
    ok(await cli(['apply']));
    assert.deepEqual(await statuses(), { [V1]: 'applied' });
  });

  it('Ctrl-C during apply stops after the running migration (it cannot be cancelled in-process), exit 130', async () => {
    ws.write(`${V1}_slow.sql`, migration('CREATE TABLE slow (id int);\nSELECT pg_sleep(2);', 'DROP TABLE slow;'));
    ws.write(`${V2}_next.sql`, migration('CREATE TABLE next (id int);', 'DROP TABLE next;'));
    const run = startCli(['apply'], { cwd: ws.dir, env });
    running.push(run);
    let stderr = '';
    run.child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => stderr.includes(`applying ${V1}_slow`), 'the slow migration to start');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stderr, /SIGINT: stopping after the running migration/);
    assert.match(r.stdout, new RegExp(`✔ ${V1}_slow applied`));
    assert.match(r.stdout, new RegExp(`· ${V2}_next not executed`));
    assert.deepEqual(await statuses(), { [V1]: 'applied', [V2]: 'pending' });
  });

  it('the bundle works from dist/ alone, and commands that do not open the embedded database never load PGlite', async () => {
    writeThree();
    const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-dist-'));
    try {
      fs.cpSync(path.dirname(CLI), alone, { recursive: true });
      const run = (args: string[]) => spawnSync(process.execPath, [path.join(alone, 'cli.js'), ...args], { cwd: ws.dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env }, encoding: 'utf8' });
      const applied = run(['apply']);
      assert.equal(applied.status, 0, applied.stdout + applied.stderr);
      assert.match(applied.stdout, /3 applied/);
      // The build's template was used: nothing was made in the cache folder.
      assert.doesNotMatch(applied.stderr, /preparing the embedded PostgreSQL template/);

      // Without PGlite's files, everything that does not open the embedded database still works.
      for (const f of fs.readdirSync(alone)) if (/^pglite|^initdb/.test(f)) fs.rmSync(path.join(alone, f), { recursive: true });
      assert.equal(run(['--version']).status, 0);
      const lint = run(['lint']);
      assert.match(lint.stdout, /3 file\(s\) linted/, lint.stdout + lint.stderr);
      const status = run(['status']);
      assert.equal(status.status, 1);
      assert.match(status.stdout + status.stderr, /cannot open the embedded database in .*pglite\.cjs/s);
    } finally {
      fs.rmSync(alone, { recursive: true, force: true });
    }
  });

  it('a kill -9 during apply keeps every migration that committed, and none half-applied', async () => {
    const N = 150;
    const versions: string[] = [];
    for (let i = 1; i <= N; i++) {
      const v = `20240101${String(Math.floor(i / 60)).padStart(2, '0')}${String(i % 60).padStart(2, '0')}00`;
      versions.push(v);
      ws.write(`${v}_m${i}.sql`, migration(`CREATE TABLE t${i} (id int PRIMARY KEY, pad text);\nINSERT INTO t${i} SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;`, `DROP TABLE t${i};`));
    }
    const run = startCli(['apply'], { cwd: ws.dir, env });
    running.push(run);
    let stderr = '';
    run.child.stderr!.on('data', (d) => (stderr += d));
    // Kill it mid-run: once migration 40 has started, 1–39 have committed and were reported as done.
    const started = await waitFor(async () => {
      const m = [...stderr.matchAll(/applying (\d+)_m\d+ \((\d+)\/\d+\)/g)].pop();
      return m && Number(m[2]) >= 40 ? Number(m[2]) : undefined;
    }, 'apply to reach migration 40', 60000);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL', 'it was still running when killed');

    const st = await statuses();
    const appliedCount = versions.filter((v) => st[v] === 'applied').length;
    assert.ok(appliedCount >= started - 1, `migrations 1–${started - 1} committed before the kill; ${appliedCount} are recorded`);
    assert.deepEqual(versions.map((v) => st[v]), versions.map((_, i) => (i < appliedCount ? 'applied' : 'pending')), 'the applied ones are a prefix, the rest pending');

    // Each migration is all there (table, 2,000 rows) exactly when its history row is.
    const db = await openEmbedded(path.join(ws.dir, '.bulwark', 'local'), { cacheDir: path.join(TEST_CACHE_HOME, 'bulwark') });
    try {
      const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t[0-9]+$'`);
      assert.equal(Number(r.rows[0].n), appliedCount);
      if (appliedCount > 0) assert.deepEqual((await db.query(`SELECT count(*)::int AS n FROM t${appliedCount}`)).rows, [{ n: 2000 }]);
    } finally {
      await db.close();
    }

    const rest = await cli(['apply']);
    ok(rest);
    assert.equal(Object.values(await statuses()).filter((s) => s === 'applied').length, N);
  });
});
