/** Names shared by the CLI bundle and dist/pglite.cjs (kept apart so that neither pulls in the other). */

/** The PGlite release Bulwark is built with (pinned in package.json; a unit test checks they agree). */
export const PGLITE_VERSION = '0.5.16';
/** The PostgreSQL major version inside that PGlite (its data directories' PG_VERSION). */
export const PG_MAJOR = '18';
/** Bump when the way templates are made changes, so that old ones are not used. */
export const TEMPLATE_FORMAT = 1;
/** The template's folder name, beside the bundle (dist/) and in the cache folder. */
export const TEMPLATE_NAME = `pglite-${PGLITE_VERSION}-template-${TEMPLATE_FORMAT}`;
