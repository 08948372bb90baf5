import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { apply, BackupError, Engine, rollback } from '../../src/core';
import { createTestDb, TestDb } from '../helpers/db';
import { makeWorkspace, migration, runCli, Workspace } from '../helpers/workspace';

/**
 * Backups before a protected environment changes, with the real pg_dump against the real server: what is
 * dumped, that it restores, and that a backup that cannot be taken stops the run before anything changes.
 */
describe('backups before protected environments change', function () {
  this.timeout(60000);
  let db: TestDb;
  let ws: Workspace;
  const extra: TestDb[] = [];
  const pgDump = execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();

  const prod = (backup?: unknown, more: Record<string, unknown> = {}) => ({
    environments: [{ name: 'prod', url: '${env:PROD_URL}', protected: true, ...(backup === undefined ? {} : { backup }), ...more }],
  });
  const engine = (vars: Record<string, string> = {}): Engine => ws.engine({ PROD_URL: db.url, ...vars });
  const auditRows = () => db.query<Record<string, any>>('SELECT action, version, details FROM bulwark.audit ORDER BY id');
  const bulwarkExists = async () => (await db.query<{ n: string | null }>("SELECT to_regnamespace('bulwark')::text AS n"))[0].n !== null;

  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
    await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, name text);
      INSERT INTO accounts VALUES (1, 'ada'), (2, 'grace'), (3, 'edsger');
      CREATE TABLE untouched (x int); INSERT INTO untouched VALUES (42);
      CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
      CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO events VALUES (1, '2026-05-01');`);
    ws.write(
      '20260101000000_drop_name.sql',
      migration(
        "ALTER TABLE accounts DROP COLUMN name;\nCREATE TABLE fresh (id int);\nINSERT INTO fresh VALUES (1);\nUPDATE events SET id = 2;\nDO $$ BEGIN PERFORM 1; END $$;",
        'ALTER TABLE accounts ADD COLUMN name text;\nDROP TABLE fresh;',
      ),
    );
  });
  afterEach(async () => {
    await db.drop();
    for (const x of extra.splice(0)) await x.drop();
    ws.cleanup();
  });

  it('a protected environment is backed up before apply: the schema, and the rows of the tables the migrations change', async () => {
    ws.writeConfig(prod());
    const r = await apply(engine(), 'prod', { confirm: 'prod' });
    assert.equal(r.ok, true);
    const b = r.backup!;
    assert.ok(b, 'a backup was taken');
    // accounts (altered) and events with its partition (updated); not `fresh` (created by the migration), not `untouched`.
    assert.deepEqual(b.tables, ['accounts', 'events', 'events_2026']);
    assert.deepEqual(b.opaque.map((x) => [x.version, x.line, x.what]), [['20260101000000', 6, 'a DO block']]);
    assert.ok(b.dir.startsWith(path.join(ws.dir, '.bulwark', 'backups', 'prod') + path.sep), b.dir);
    assert.deepEqual(fs.readdirSync(b.dir).sort(), ['manifest.json', 'schema.dump', 'tables.dump']);
    // Production rows: the owner's only.
    assert.equal(fs.statSync(b.dir).mode & 0o777, 0o700);
    for (const f of fs.readdirSync(b.dir)) assert.equal(fs.statSync(path.join(b.dir, f)).mode & 0o777, 0o600, f);
    assert.match(fs.readFileSync(path.join(ws.dir, '.bulwark', '.gitignore'), 'utf8'), /\*/);
    const manifest = JSON.parse(fs.readFileSync(path.join(b.dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.environment, 'prod');
    assert.deepEqual(manifest.migrations, [{ version: '20260101000000', name: 'drop_name', direction: 'up' }]);
    const listed = execFileSync('pg_restore', ['--list', path.join(b.dir, 'tables.dump')], { encoding: 'utf8' });
    assert.match(listed, /TABLE DATA public accounts/);
    assert.doesNotMatch(listed, /untouched|fresh/);
    // The audit trail says where it is.
    const audit = (await auditRows()).find((x) => x.action === 'backup')!;
    assert.equal(audit.details.ok, true);
    assert.equal(audit.details.dir, b.dir);
    assert.equal(audit.details.tableCount, 3);

    // And it restores what the migration dropped: the name column with its values.
    const target = await createTestDb();
    extra.push(target);
    execFileSync('pg_restore', ['--dbname', target.url, '--no-owner', path.join(b.dir, 'tables.dump')]);
    assert.deepEqual(await target.query('SELECT id, name FROM accounts ORDER BY id'), [
      { id: 1, name: 'ada' },
      { id: 2, name: 'grace' },
      { id: 3, name: 'edsger' },
    ]);
    assert.deepEqual(await db.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'name'"), [{ n: 0 }]);
  });

  it('rollback is backed up too (the tables its down section changes); data "all" dumps every table', async () => {
    ws.writeConfig(prod({ data: 'all', dir: 'dumps' }));
    const up = await apply(engine(), 'prod', { confirm: 'prod' });
    assert.deepEqual(fs.readdirSync(up.backup!.dir).sort(), ['database.dump', 'manifest.json']);
    assert.ok(up.backup!.dir.startsWith(path.join(ws.dir, 'dumps', 'prod') + path.sep));
    assert.match(execFileSync('pg_restore', ['--list', path.join(up.backup!.dir, 'database.dump')], { encoding: 'utf8' }), /TABLE DATA public untouched/);
    ws.writeConfig(prod());
    const down = await rollback(engine(), 'prod', { confirm: 'prod' });
    assert.equal(down.ok, true);
    assert.deepEqual(down.backup!.tables, ['accounts', 'fresh']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(down.backup!.dir, 'manifest.json'), 'utf8')).migrations, [{ version: '20260101000000', name: 'drop_name', direction: 'down' }]);
  });

  it('a backup that cannot be taken stops the run: nothing applied, not even Bulwark\'s tables; then audited once they exist', async () => {
    ws.writeConfig(prod({ pgDump: '/nonexistent/pg_dump' }));
    await assert.rejects(apply(engine(), 'prod', { confirm: 'prod' }), (e: unknown) => {
      assert.ok(e instanceof BackupError, String(e));
      assert.match(e.message, /backup\.pgDump of "prod" names "\/nonexistent\/pg_dump", which does not run as pg_dump/);
      assert.match(e.hint ?? '', /Nothing was changed.*--no-backup/s);
      return true;
    });
    assert.equal(await bulwarkExists(), false);
    assert.deepEqual(await db.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'name'"), [{ n: 1 }]);

    // Once Bulwark's tables exist, the failure is in the audit trail.
    ws.writeConfig(prod(false));
    ws.write('20250101000000_first.sql', migration('CREATE TABLE first (id int);'));
    await apply(engine(), 'prod', { confirm: 'prod', to: '20250101000000' });
    ws.writeConfig(prod({ pgDump: '/nonexistent/pg_dump' }));
    await assert.rejects(apply(engine(), 'prod', { confirm: 'prod' }), BackupError);
    const failed = (await auditRows()).filter((x) => x.action === 'backup');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].details.ok, false);
    assert.deepEqual(failed[0].details.migrations, ['20260101000000']);
    assert.deepEqual(await db.query("SELECT version FROM bulwark.migrations ORDER BY version"), [{ version: '20250101000000' }]);
  });

  it('refuses a pg_dump older than the server, naming both versions', async () => {
    const fake = path.join(ws.dir, 'old_pg_dump');
    fs.writeFileSync(fake, '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n', { mode: 0o755 });
    ws.writeConfig(prod({ pgDump: fake }));
    await assert.rejects(apply(engine(), 'prod', { confirm: 'prod' }), /pg_dump 9\.6\.24, and the server is PostgreSQL \d+ \(pg_dump must be at least the server's version\)/);
    assert.equal(await bulwarkExists(), false);
  });

  it('the password reaches pg_dump in its environment, never on its command line, in the manifest or the audit trail', async () => {
    const log = path.join(ws.dir, 'pg_dump.log');
    const wrapper = path.join(ws.dir, 'pg_dump_wrapper');
    fs.writeFileSync(wrapper, `#!/bin/sh\necho "ARGS $*" >> '${log}'\necho "PGPASSWORD=$PGPASSWORD" >> '${log}'\nexec '${pgDump}' "$@"\n`, { mode: 0o755 });
    // The local server trusts every connection: the password is carried, not checked.
    const secret = 'Zq9-secret-pw';
    const url = new URL(db.url);
    url.password = secret;
    ws.writeConfig(prod({ pgDump: wrapper }));
    const r = await apply(ws.engine({ PROD_URL: url.toString() }), 'prod', { confirm: 'prod' });
    assert.equal(r.ok, true);
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    assert.ok(lines.some((l) => l === `PGPASSWORD=${secret}`), 'pg_dump got the password in PGPASSWORD');
    const args = lines.filter((l) => l.startsWith('ARGS') && !l.includes('--version'));
    assert.equal(args.length, 2, 'schema and tables');
    for (const a of args) {
      assert.ok(!a.includes(secret), a);
      assert.match(a, /--no-password/);
    }
    assert.ok(!fs.readFileSync(path.join(r.backup!.dir, 'manifest.json'), 'utf8').includes(secret));
    assert.ok(!JSON.stringify(await auditRows()).includes(secret));
  });

  it('backup: false, or apply with backup: false (audited), takes none; unprotected environments take none by default', async () => {
    ws.writeConfig(prod(false));
    const off = await apply(engine(), 'prod', { confirm: 'prod', to: '20260101000000' });
    assert.equal(off.backup, undefined);
    assert.equal(off.backupSkipped, undefined);
    assert.ok(!(await auditRows()).some((x) => x.action.startsWith('backup')));
    await rollback(engine(), 'prod', { confirm: 'prod', backup: false });

    ws.writeConfig(prod());
    const skipped = await apply(engine(), 'prod', { confirm: 'prod', backup: false });
    assert.equal(skipped.backupSkipped, true);
    assert.ok(skipped.warnings.some((w) => /no backup of "prod" was taken/.test(w)));
    assert.ok(!fs.existsSync(path.join(ws.dir, '.bulwark', 'backups')));
    assert.deepEqual((await auditRows()).filter((x) => x.action.startsWith('backup')).map((x) => x.action), ['backup-skipped']);

    ws.writeConfig({ environments: [{ name: 'dev', url: '${env:PROD_URL}' }] });
    await rollback(engine(), 'dev');
    const dev = await apply(engine(), 'dev');
    assert.equal(dev.backup, undefined);
    assert.equal(dev.backupSkipped, undefined);
  });

  it('the CLI prints where the backup is, and --no-backup skips it', async () => {
    ws.writeConfig(prod());
    const r = await runCli(['apply', '--env', 'prod', '--confirm', 'prod'], { cwd: ws.dir, env: { PROD_URL: db.url } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /✔ backup of the schema \+ 3 tables \(accounts, events, events_2026\): \.bulwark\/backups\/prod\/\d{8}T\d{6}Z-apply-20260101000000 \d+ kB/);
    assert.match(r.stdout, /warning: the backup may miss rows changed by a DO block \(20260101000000_drop_name, line 6\)/);
    assert.match(r.stderr, /\[prod\] backing up the schema before applying/);
    const back = await runCli(['rollback', '--env', 'prod', '--confirm', 'prod', '--no-backup', '--json'], { cwd: ws.dir, env: { PROD_URL: db.url } });
    assert.equal(back.code, 0, back.stderr);
    const doc = JSON.parse(back.stdout);
    assert.equal(doc.backupSkipped, true);
    assert.equal(doc.backup, undefined);
    const trail = await runCli(['history', '--env', 'prod'], { cwd: ws.dir, env: { PROD_URL: db.url } });
    assert.match(trail.stdout, /backup .* \.bulwark\/backups\/prod\/\d{8}T\d{6}Z-apply-20260101000000\n/);
    assert.match(trail.stdout, /backup-skipped .* backup: false \(--no-backup\)/);
  });
});
