// Bundles the CLI (and, later, the extension) into dist/. Type-checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // pg-native is an optional peer of pg that we never use; vscode is provided by the editor.
  external: ['pg-native', 'vscode'],
  // jsonc-parser's "main" is a UMD build with dynamic requires that bundlers cannot follow; its ESM build bundles cleanly.
  mainFields: ['module', 'main'],
  define: { __BULWARK_VERSION__: JSON.stringify(pkg.version) },
};

// The embedded PostgreSQL (PGlite, ~1 MB of JavaScript) is its own file, dist/pglite.cjs, that the CLI
// requires only when it opens an embedded database: commands that do not use it never load it.
const pgliteOutside = {
  name: 'pglite-outside',
  setup(build) {
    build.onResolve({ filter: /\/pgliteModule$/ }, () => ({ path: './pglite.cjs', external: true }));
  },
};

const builds = [
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, plugins: [pgliteOutside] },
  {
    ...common,
    entryPoints: ['src/core/db/pgliteModule.ts'],
    outfile: 'dist/pglite.cjs',
    // PGlite's ESM build finds its .wasm and .data files with `new URL(file, import.meta.url)`; in a CJS
    // bundle import.meta is empty, so point it at this bundle: the files are copied beside it (below).
    define: { ...common.define, 'import.meta.url': '__bulwark_import_meta_url' },
    banner: { js: 'var __bulwark_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  },
];

// The VS Code extension: same engine, `vscode` provided by the editor; PGlite stays in dist/pglite.cjs.
builds.push({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', plugins: [pgliteOutside] });
// The tests that run inside a real VS Code extension host (test/vscode/): not part of the package.
// out/vscode-test/suite.js is the extensionTestsPath entry (test/vscode/suite/index.ts); every
// test/vscode/suite/*.test.ts is its own bundle beside it (mocha loads each one after setting up its
// globals), and the entry gets the list of test files at bundle time, so a stale .test.js left in
// out/ is never run. mocha stays external (ESM package: the extension host's Node 24 require()s it).
if (!production) {
  const suiteDir = 'test/vscode/suite';
  const tests = readdirSync(suiteDir).filter((f) => f.endsWith('.test.ts')).sort();
  rmSync('out/vscode-test', { recursive: true, force: true });
  builds.push({
    ...common,
    entryPoints: {
      suite: join(suiteDir, 'index.ts'),
      ...Object.fromEntries(tests.map((f) => [f.replace(/\.ts$/, ''), join(suiteDir, f)])),
    },
    outdir: 'out/vscode-test',
    external: [...common.external, 'mocha'],
    define: { ...common.define, __BULWARK_VSCODE_TESTS__: JSON.stringify(tests.map((f) => f.replace(/\.ts$/, '.js'))) },
    plugins: [{ name: 'pglite-from-dist', setup: (b) => b.onResolve({ filter: /\/pgliteModule$/ }, () => ({ path: join(process.cwd(), 'dist/pglite.cjs'), external: true })) }],
  });
}

const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
// The PostgreSQL parser's WASM file must sit beside the bundle: libpg-query loads it from the script's folder.
copyFileSync(join(dirname(require.resolve('libpg-query')), 'libpg-query.wasm'), 'dist/libpg-query.wasm');
// PGlite's PostgreSQL (pglite.wasm), its initdb (initdb.wasm, for the first run on a machine) and its
// file system image (pglite.data: share/, timezones…). Its extensions (*.tar.gz) are not used.
const pgliteDist = dirname(require.resolve('@electric-sql/pglite'));
for (const f of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) copyFileSync(join(pgliteDist, f), join('dist', f));

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  try {
    await bundledTemplate();
  } catch (e) {
    // Not fatal: without it the first run on a machine makes the template in the user's cache.
    console.warn(`warning: could not make the embedded database's template in dist/: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * The embedded database's template beside the bundle: a data directory initialised once here (initdb
 * takes seconds), so that the first `bulwark` command on a machine starts from a copy of it in well
 * under a second. Made once per PGlite version (kept across builds); older ones are removed.
 */
async function bundledTemplate() {
  const { makeTemplate, TEMPLATE_NAME } = require('./dist/pglite.cjs');
  for (const f of readdirSync('dist')) {
    const tmpOf = /^pglite-.*-template-.*\.tmp-(\d+)$/.exec(f);
    // Templates of other PGlite versions, and unfinished ones of builds that died (not of one running now).
    if (tmpOf ? !alive(Number(tmpOf[1])) : /^pglite-.*-template-/.test(f) && f !== TEMPLATE_NAME) rmSync(join('dist', f), { recursive: true, force: true });
  }
  if (existsSync(join('dist', TEMPLATE_NAME, 'PG_VERSION'))) return;
  const tmp = join('dist', `${TEMPLATE_NAME}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await makeTemplate(tmp);
  renameSync(tmp, join('dist', TEMPLATE_NAME));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code !== 'ESRCH';
  }
}
