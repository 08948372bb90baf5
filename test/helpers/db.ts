import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server tests run against: BULWARK_TEST_DATABASE_URL, else DATABASE_URL, else the local one. */
export const ADMIN_URL =
  process.env.BULWARK_TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDb {
  name: string;
  url: string;
  /** A client on the test database, for assertions. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export function urlFor(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = '/' + database;
  return u.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A throwaway database `bulwark_test_<random>`; drop() removes it (terminating leftover sessions). */
export async function createTestDb(): Promise<TestDb> {
  const name = `bulwark_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = urlFor(name);
  const client = new Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  return {
    name,
    url,
    async query<T>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
    async drop() {
      await client.end().catch(() => {});
      await admin(async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      });
    },
  };
}

/** Poll `probe` until it returns a truthy value or the deadline passes (no fixed sleeps). */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}
