import * as path from 'node:path';

/**
 * The cache folder for the embedded database's template in tests (test/.artifacts is git-ignored): made
 * once, then every test's new data directory is a copy of it, as on a developer's machine.
 */
export const TEST_CACHE_HOME = path.resolve(__dirname, '../.artifacts/cache');
