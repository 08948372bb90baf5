import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { lockKey } from '../../src/core/db/lock';
import { createTestDb, TestDb } from '../helpers/db';
import { makeWorkspace, migration, runCli, Workspace } from '../helpers/workspace';

/**
 * `bulwark unlock`: a run died but its connection stayed open, holding the migration lock. Unlock ends that
 * session — only the pid that holds the lock, only with confirmation on a protected environment — audits
 * it, and the next apply runs at once.
 */
describe('cli: unlock a stale migration lock', function () {
  this.timeout(30000);
  let db: TestDb;
  let ws: Workspace;
  let holder: Client;
  let holderPid: number;

  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
    ws.write('20260101000000_a.sql', migration('CREATE TABLE IF NOT EXISTS a (id int);', 'DROP TABLE IF EXISTS a;'));
    ws.writeConfig({ environments: [{ name: 'dev', url: db.url, lockWaitTimeout: '1s' }, { name: 'prod', url: db.url, protected: true, lockWaitTimeout: '1s' }] });
    holder = new Client({ connectionString: db.url, application_name: 'bulwark/0.0.0 gone@ci-runner-7' });
    holder.on('error', () => {});
    await holder.connect();
    holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await holder.query('SELECT pg_advisory_lock($1, $2)', lockKey('bulwark.migrations'));
  });
  afterEach(async () => {
    await holder.end().catch(() => {});
    await db.drop();
    ws.cleanup();
  });

  const cli = (...args: string[]) => runCli(args, { cwd: ws.dir });
  const alive = async (pid: number) => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length === 1;

  it('apply waits and then names the holder and the unlock command; unlock ends it, audits it, and apply runs', async () => {
    const blocked = await cli('apply', '--env', 'dev');
    assert.equal(blocked.code, 1, blocked.stdout + blocked.stderr);
    assert.match(blocked.stderr, new RegExp(`bulwark unlock --pid ${holderPid} --env dev`));

    const r = await cli('unlock', '--env', 'dev', '--pid', String(holderPid), '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.terminated.pid, holderPid);
    assert.equal(out.terminated.application, 'bulwark/0.0.0 gone@ci-runner-7');
    assert.equal(await alive(holderPid), false, 'the stale session is gone');
    const audit = await db.query<{ action: string; details: Record<string, unknown> }>("SELECT action, details FROM bulwark.audit WHERE action = 'unlock'");
    assert.equal(audit.length, 1);
    assert.equal(audit[0].details.terminatedPid, holderPid);
    assert.equal(audit[0].details.holderApplication, 'bulwark/0.0.0 gone@ci-runner-7');

    const applied = await cli('apply', '--env', 'dev');
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  });

  it('refuses a pid that does not hold the lock, naming the one that does, and ends nothing', async () => {
    const r = await cli('unlock', '--env', 'dev', '--pid', String(holderPid + 100000));
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`does not hold the migration lock on "dev"; pid ${holderPid}`));
    assert.equal(await alive(holderPid), true);
    const none = await cli('unlock', '--env', 'dev');
    assert.equal(none.code, 64, 'the pid is required');
  });

  it('on a protected environment, needs the name typed (--confirm) and ends nothing without it', async () => {
    const r = await cli('unlock', '--env', 'prod', '--pid', String(holderPid));
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /"prod" is a protected environment: unlock needs confirmation/);
    assert.equal(await alive(holderPid), true);
    const ok = await cli('unlock', '--env', 'prod', '--pid', String(holderPid), '--confirm', 'prod');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(await alive(holderPid), false);
  });

  it('says so when nobody holds the lock', async () => {
    await holder.query('SELECT pg_advisory_unlock_all()');
    const r = await cli('unlock', '--env', 'dev', '--pid', String(holderPid));
    assert.equal(r.code, 3);
    assert.match(r.stderr, /nobody holds the migration lock on "dev"/);
    assert.equal(await alive(holderPid), true);
  });
});
