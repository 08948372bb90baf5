import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, runCli, Workspace } from '../helpers/workspace';

/** `bulwark lint` as CI runs it: the built CLI in a temporary project, no database needed. */
describe('cli: lint', function () {
  this.timeout(60000);
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace({
      '20260101000000_users.sql': '-- migrate:up\nCREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, email text);\n-- migrate:down\nDROP TABLE IF EXISTS users;\n',
      '20260102000000_index.sql': '-- migrate:up\nSET LOCAL lock_timeout = \'2s\';\nCREATE INDEX IF NOT EXISTS users_email ON users (email);\n',
      '20260103000000_drop.sql': '-- migrate:up\nSET LOCAL lock_timeout = \'2s\';\nALTER TABLE users DROP COLUMN IF EXISTS email;\n',
    });
  });
  afterEach(() => ws.cleanup());
  const lint = (args: string[] = []) => runCli(['lint', ...args], { cwd: ws.dir });

  it('prints findings like a compiler and exits 1 when one is an error', async () => {
    const r = await lint();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^migrations\/20260102000000_index\.sql:3:8: warning require-concurrent-index-creation .*SHARE lock.*CONCURRENTLY/m);
    assert.match(r.stdout, /^migrations\/20260103000000_drop\.sql:3:\d+: error ban-drop-column /m);
    assert.match(r.stdout, /3 file\(s\) linted: 1 error\(s\), 1 warning\(s\)/);
  });

  it('exits 0 when only warnings remain (an ignore comment silences the error)', async () => {
    ws.write('20260103000000_drop.sql', "-- migrate:up\nSET LOCAL lock_timeout = '2s';\n-- bulwark-ignore ban-drop-column\nALTER TABLE users DROP COLUMN IF EXISTS email;\n");
    const r = await lint();
    assert.equal(r.code, 0, r.stdout);
    assert.doesNotMatch(r.stdout, /ban-drop-column/);
  });

  it('--format json: every finding has file, line, column (1-based), rule, severity, message', async () => {
    const r = await lint(['--format', 'json']);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.files, 3);
    assert.equal(doc.errors, 1);
    const f = doc.findings.find((x: { rule: string }) => x.rule === 'require-concurrent-index-creation');
    assert.deepEqual([f.file, f.line, f.column, f.severity], ['migrations/20260102000000_index.sql', 3, 8, 'warning']);
    for (const x of doc.findings) for (const k of ['file', 'line', 'column', 'rule', 'severity', 'message']) assert.ok(x[k] !== undefined, `${k} missing`);
    assert.ok(f.fixes[0].edits.length >= 1, 'fixes are included');
  });

  it('does not load the database driver (pg, and through it Node\'s fetch / TLS stack)', async () => {
    // Loading pg on Node 20 starts undici and compiles its WASM, which the process then waits for at exit.
    const probe = path.join(ws.dir, 'probe.cjs');
    const seen = path.join(ws.dir, 'modules.json');
    fs.writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify(process.moduleLoadList)));`);
    const r = await runCli(['lint', '--format', 'json'], { cwd: ws.dir, env: { NODE_OPTIONS: `--require ${probe}` } });
    assert.equal(r.code, 1, r.stderr);
    const modules: string[] = JSON.parse(fs.readFileSync(seen, 'utf8'));
    assert.ok(modules.includes('NativeModule fs'), 'the probe saw the process');
    assert.deepEqual(modules.filter((m) => /^NativeModule (tls|dns)$|undici/.test(m)), []);
  });

  it('--format sarif: SARIF 2.1.0 with rules and located results', async () => {
    const r = await lint(['--format', 'sarif']);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.version, '2.1.0');
    const run = doc.runs[0];
    assert.equal(run.tool.driver.name, 'bulwark');
    assert.ok(run.tool.driver.rules.some((x: { id: string }) => x.id === 'ban-drop-column'));
    const res = run.results.find((x: { ruleId: string }) => x.ruleId === 'ban-drop-column');
    assert.equal(res.level, 'error');
    assert.equal(run.tool.driver.rules[res.ruleIndex].id, 'ban-drop-column');
    assert.deepEqual(res.locations[0].physicalLocation.artifactLocation, { uri: 'migrations/20260103000000_drop.sql', uriBaseId: 'SRCROOT' });
    assert.equal(res.locations[0].physicalLocation.region.startLine, 3);
  });

  it('--pg-version changes verdicts (volatile default rule before PostgreSQL 11)', async () => {
    const file = ws.write('20260104000000_default.sql', "-- migrate:up\nSET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN IF NOT EXISTS flag boolean DEFAULT false;\n");
    const rel = path.relative(ws.dir, file);
    const v10 = JSON.parse((await lint([rel, '--format', 'json', '--pg-version', '10'])).stdout);
    const v17 = JSON.parse((await lint([rel, '--format', 'json', '--pg-version', '17'])).stdout);
    assert.ok(v10.findings.some((x: { rule: string }) => x.rule === 'add-column-volatile-default'));
    assert.ok(!v17.findings.some((x: { rule: string }) => x.rule === 'add-column-volatile-default'));
    const bad = await lint(['--pg-version', 'ten']);
    assert.equal(bad.code, 64);
  });

  it('reads rule settings from bulwark.json', async () => {
    fs.writeFileSync(path.join(ws.dir, 'bulwark.json'), JSON.stringify({ lint: { rules: { 'ban-drop-column': 'warning', 'require-concurrent-index-creation': 'off' } } }));
    const r = await lint(['--format', 'json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.findings.find((x: { rule: string }) => x.rule === 'ban-drop-column').severity, 'warning');
    assert.ok(!doc.findings.some((x: { rule: string }) => x.rule === 'require-concurrent-index-creation'));
    fs.writeFileSync(path.join(ws.dir, 'bulwark.json'), JSON.stringify({ lint: { rules: { 'ban-drop-colum': 'off' } } }));
    const bad = await lint();
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown rule "ban-drop-colum"/);
  });

  it('reports syntax errors at their exact position, one per broken statement', async () => {
    ws.write('20260105000000_broken.sql', '-- migrate:up\nCREATE TABLE IF NOT EXISTS a (id int);\nCREATE TABEL b (id int);\nSELECT * FROM WHERE;\n');
    const r = await lint(['migrations/20260105000000_broken.sql']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /20260105000000_broken\.sql:3:8: error syntax-error syntax error at or near "TABEL"/);
    assert.match(r.stdout, /20260105000000_broken\.sql:4:15: error syntax-error syntax error at or near "WHERE"/);
  });

  it('lists the rules', async () => {
    const r = await lint(['--rules']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ban-drop-column\s+error\s+data-loss/m);
    assert.match(r.stdout, /^prefer-timestamptz\s+off\s+style/m);
  });
});
