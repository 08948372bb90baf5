import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeWorkspace, migration } from '../helpers/workspace';
import { packageVsix } from '../vscode/vsix.mjs';

/**
 * The .vsix that `npm run package:vsix` makes, from the current build: it holds what the extension runs
 * (bundle, parser and PostgreSQL WASM, the embedded database's template, icons, snippet, rule docs) and
 * nothing else, and the embedded database starts from the packaged template (a zip keeps no empty folders).
 */
describe('the packaged extension (.vsix)', function () {
  this.timeout(180_000);
  let tmp: string;
  let files: string[];

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-vsix-'));
    const { extension } = packageVsix(tmp);
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(extension, path.join(d, e.name))]));
    files = walk(extension);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('holds what runs and nothing of the sources, tests or node_modules', () => {
    assert.ok(files.some((f) => f.toLowerCase() === 'readme.md'), 'the README is packaged');
    for (const f of ['package.json', 'dist/extension.js', 'dist/cli.js', 'dist/pglite.cjs', 'dist/libpg-query.wasm', 'dist/pglite.wasm', 'dist/pglite.data', 'snippets/sql.json', 'media/bulwark.svg', 'media/light/applied.svg', 'media/dark/applied.svg', 'docs/rules/require-concurrent-index-creation.md', 'migrations-template/migration.sql']) {
      assert.ok(files.includes(f), `${f} is packaged`);
    }
    assert.ok(files.some((f) => /^dist\/pglite-.*-template-.*\/PG_VERSION$/.test(f)), 'the embedded database template is packaged');
    for (const f of files) assert.doesNotMatch(f, /^(src|test|bench|node_modules|example|scripts|out|\.ci|\.bulwark)\/|\.c?js\.map$|\.ts$/, `${f} should not be packaged`);
  });

  it('the packaged CLI applies migrations to the embedded database made from the packaged template', () => {
    const ws = makeWorkspace({});
    try {
      ws.write('20260101000000_a.sql', migration('CREATE TABLE IF NOT EXISTS a (id int);', 'DROP TABLE IF EXISTS a;'));
      const cache = path.join(tmp, 'cache');
      const out = execFileSync(process.execPath, [path.join(tmp, 'vsix', 'extension', 'dist', 'cli.js'), 'apply', '--json'], {
        cwd: ws.dir,
        env: { PATH: process.env.PATH, HOME: tmp, XDG_CACHE_HOME: cache, NO_COLOR: '1' },
        encoding: 'utf8',
      });
      const r = JSON.parse(out);
      assert.equal(r.ok, true, out);
      assert.deepEqual(r.results.map((x: { version: string; status: string }) => `${x.version}:${x.status}`), ['20260101000000:applied']);
      assert.ok(!fs.existsSync(cache), 'started from the packaged template, not a template made in the cache');
    } finally {
      ws.cleanup();
    }
  });
});
