// Bundles the CLI (and, later, the extension) into dist/. Type-checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
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

const builds = [
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];

// The PostgreSQL parser's WASM file must sit beside the bundle: libpg-query loads it from the script's folder.
const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
copyFileSync(join(dirname(require.resolve('libpg-query')), 'libpg-query.wasm'), 'dist/libpg-query.wasm');

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
