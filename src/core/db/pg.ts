import { Client } from 'pg';
import { ConnectionError } from '../errors';
import { redact } from '../redact';
import type { ResolvedConnection } from '../config/config';
import { Db, QueryResult } from './db';

export interface ConnectOptions {
  /** Shown in pg_stat_activity, so a lock holder can be identified (who, from where). */
  applicationName: string;
  connectTimeoutMs?: number;
  /** Called with every server NOTICE/WARNING (RAISE NOTICE in migrations). */
  onNotice?: (message: string) => void;
}

class PgDb implements Db {
  constructor(private readonly client: Client, readonly backendPid: number) {}

  async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const r = params ? await this.client.query(sql, params as unknown[]) : await this.client.query(sql);
    // A simple-protocol string with several statements yields an array; the engine sends one at a time.
    const last = Array.isArray(r) ? r[r.length - 1] : r;
    return { rows: last.rows as T[], rowCount: last.rowCount, command: last.command };
  }

  async close(): Promise<void> {
    try {
      await this.client.end();
    } catch {
      // Closing a session that the server already ended is not an error worth reporting.
    }
  }
}

export async function connectPg(conn: ResolvedConnection, opts: ConnectOptions): Promise<Db> {
  const client = new Client({
    ...conn.pg,
    application_name: opts.applicationName,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 15000,
  });
  // Without a listener an 'error' event (server terminated the session while idle) would crash the process.
  client.on('error', () => {});
  if (opts.onNotice) client.on('notice', (n) => opts.onNotice!(n.message ?? String(n)));
  try {
    await client.connect();
    const r = await client.query('SELECT pg_backend_pid() AS pid');
    return new PgDb(client, Number(r.rows[0].pid));
  } catch (e) {
    await client.end().catch(() => {});
    const msg = redact(e instanceof Error ? e.message : String(e), conn.secrets);
    throw new ConnectionError(`cannot connect to ${conn.display}: ${msg}`, {
      hint: 'Check that the server is running and reachable, and the user, database and password (PGPASSWORD, ~/.pgpass or the variable named by connection.passwordEnv).',
    });
  }
}
