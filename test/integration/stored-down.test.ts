import { strict as assert } from 'node:assert';
import { apply, rollback } from '../../src/core';
import { createTestDb, TestDb } from '../helpers/db';
import { makeWorkspace, migration, runCli, Workspace } from '../helpers/workspace';

/**
 * The history keeps each migration's down section, so a migration applied from another branch can be rolled
 * back after its file is gone (switching branches locally), and tables made before that column existed still work.
 */
describe('rolling back a migration whose file is gone (stored down section)', function () {
  this.timeout(30000);
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
  const engine = () => ws.engine({ DATABASE_URL: db.url });
  const exists = async (rel: string) => (await db.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [rel]))[0].r !== null;

  it('status shows it missing but reversible; rollback runs the stored down section and says so', async () => {
    ws.write('20260101000000_base.sql', migration('CREATE TABLE IF NOT EXISTS base (id int);', 'DROP TABLE IF EXISTS base;'));
    ws.write('20260102000000_feature.sql', migration('CREATE TABLE IF NOT EXISTS feature (id int);\nCREATE INDEX IF NOT EXISTS feature_id ON feature (id);', '-- undo\nDROP TABLE IF EXISTS feature;'));
    assert.equal((await apply(engine(), undefined)).ok, true);
    ws.remove('20260102000000_feature.sql'); // git switch main
    const st = await engine().status();
    const missing = st.migrations.find((m) => m.version === '20260102000000')!;
    assert.equal(missing.status, 'missing');
    assert.equal(missing.reversible, true);

    const r = await rollback(engine(), undefined, { version: '20260102000000' });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(r.warnings.join('\n'), /has no file here: rolled back with the down section stored when it was applied/);
    assert.equal(await exists('feature'), false);
    assert.equal(await exists('base'), true);
    const rows = await db.query<{ version: string }>('SELECT version FROM bulwark.migrations ORDER BY version');
    assert.deepEqual(rows.map((x) => x.version), ['20260101000000']);
    const audit = await db.query<{ action: string; version: string }>("SELECT action, version FROM bulwark.audit WHERE action = 'rollback'");
    assert.deepEqual(audit, [{ action: 'rollback', version: '20260102000000' }]);
  });

  it('the CLI does the same; without a stored down (irreversible) it refuses and says why', async () => {
    ws.write('20260101000000_keep.sql', migration('CREATE TABLE IF NOT EXISTS keep (id int);'));
    ws.write('20260102000000_gone.sql', migration('CREATE TABLE IF NOT EXISTS gone (id int);', 'DROP TABLE IF EXISTS gone;'));
    const env = { DATABASE_URL: db.url };
    assert.equal((await runCli(['apply'], { cwd: ws.dir, env })).code, 0);
    ws.remove('20260101000000_keep.sql');
    ws.remove('20260102000000_gone.sql');
    const ok = await runCli(['rollback', '20260102000000'], { cwd: ws.dir, env });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(await exists('gone'), false);
    const refused = await runCli(['rollback', '20260101000000'], { cwd: ws.dir, env });
    assert.equal(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /cannot roll back 20260101000000_keep: its file is missing from .* and no copy of its down section was kept/);
    assert.equal(await exists('keep'), true);
  });

  it('a stored down section that fails is reported at its line and leaves the migration applied', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE IF NOT EXISTS a (id int);', 'DROP TABLE a;\nDROP TABLE no_such_table;'));
    assert.equal((await apply(engine(), undefined)).ok, true);
    ws.remove('20260101000000_a.sql');
    const r = await rollback(engine(), undefined, { version: '20260101000000' });
    assert.equal(r.ok, false);
    const failed = r.results[0];
    assert.ok(failed.status === 'failed');
    assert.equal(failed.error.line, 3, 'line 1 is the marker, 2 the first statement');
    assert.match(failed.error.message, /no_such_table/);
    assert.equal(await exists('a'), true, 'rolled back as a whole');
    assert.equal((await engine().status()).migrations[0].status, 'missing');
  });

  it('a history table made before the column existed: status reads it, the next write adds the column', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE IF NOT EXISTS a (id int);', 'DROP TABLE IF EXISTS a;'));
    assert.equal((await apply(engine(), undefined)).ok, true);
    await db.query('ALTER TABLE bulwark.migrations DROP COLUMN down');
    const st = await engine().status();
    assert.equal(st.migrations[0].status, 'applied');
    ws.write('20260102000000_b.sql', migration('CREATE TABLE IF NOT EXISTS b (id int);', 'DROP TABLE IF EXISTS b;'));
    assert.equal((await apply(engine(), undefined)).ok, true);
    const rows = await db.query<{ version: string; down: unknown }>('SELECT version, down FROM bulwark.migrations ORDER BY version');
    assert.deepEqual(rows, [
      { version: '20260101000000', down: null },
      { version: '20260102000000', down: { sql: 'DROP TABLE IF EXISTS b;\n', transaction: true } },
    ]);
  });
});
