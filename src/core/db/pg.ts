import { Client, Query } from 'pg';
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

/** A simple-protocol query that counts the statements that completed, so a failure can be located. */
class CountingQuery extends Query {
  completed = 0;
  // Part of pg's Submittable protocol (pg-cursor and pg-query-stream implement the same hooks).
  handleCommandComplete(msg: unknown, connection: unknown): void {
    this.completed++;
    (Query.prototype as unknown as { handleCommandComplete(m: unknown, c: unknown): void }).handleCommandComplete.call(this, msg, connection);
  }
}

class PgDb implements Db {
  constructor(
    private readonly client: Client,
    readonly backendPid: number,
    readonly serverVersion: number,
    readonly embedded: boolean,
    private readonly afterClose?: () => Promise<void>,
  ) {}

  runScript(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const q = new CountingQuery(sql);
      q.on('end', () => resolve());
      q.on('error', (e: Error & { commandsCompleted?: number }) => {
        e.commandsCompleted = q.completed;
        reject(e);
      });
      void this.client.query(q);
    });
  }

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
    if (this.afterClose) await this.afterClose().catch(() => {});
  }
}

/**
 * A Db over a connected `pg` client: a server session, or the embedded database's in-process connection
 * (the same driver reads both, so rows, types, errors and statement counting are identical).
 */
export async function dbFromClient(client: Client, opts: { embedded?: boolean; afterClose?: () => Promise<void> } = {}): Promise<Db> {
  const r = await client.query("SELECT pg_backend_pid() AS pid, current_setting('server_version_num')::int AS v");
  return new PgDb(client, Number(r.rows[0].pid), Number(r.rows[0].v), opts.embedded === true, opts.afterClose);
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
    return await dbFromClient(client);
  } catch (e) {
    await client.end().catch(() => {});
    const msg = redact(e instanceof Error ? e.message : String(e), conn.secrets);
    throw new ConnectionError(`cannot connect to ${conn.display}: ${msg}`, {
      hint: 'Check that the server is running and reachable, and the user, database and password (PGPASSWORD, ~/.pgpass or the variable named by connection.passwordEnv).',
    });
  }
}
