/**
 * Everything Bulwark uses from PGlite, in one module that `embedded.ts` loads on demand. The CLI bundle
 * does not contain it: esbuild builds it as `dist/pglite.cjs` (beside PGlite's .wasm and .data files),
 * which `dist/cli.js` requires only when an embedded database is opened. Under tsx (tests) it is an
 * ordinary module that resolves PGlite from node_modules.
 */
import { PGlite } from '@electric-sql/pglite';

export { PGlite };
export { createPgConfig } from '@electric-sql/pglite/node-postgres';
export { TEMPLATE_NAME } from './embeddedTemplate';

/**
 * Make a template: a freshly initialised data directory, shut down cleanly. The build makes one beside
 * the bundle (esbuild.mjs) and a run without one makes one in the user's cache, both with this.
 */
export async function makeTemplate(dir: string): Promise<void> {
  const pglite = await PGlite.create(dir);
  await pglite.close();
}
