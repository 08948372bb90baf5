import type { Client } from 'pg';
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

type PgModule = typeof import('pg');
let pgModule: PgModule | undefined;

/**
 * The `pg` driver, loaded on first use: commands that never connect (lint, new, help) do not pay for it.
 * On Node 20 merely loading it costs ~100 ms: pg probes for Cloudflare Workers with `new Response()`,
 * which starts Node's fetch (undici) and compiles its HTTP parser's WASM, and the process cannot exit
 * before that compilation ends.
 */
export function pg(): PgModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (pgModule ??= require('pg') as PgModule);
}

type CountingQuery = InstanceType<PgModule['Query']> & { completed: number };
let CountingQueryClass: (new (sql: string) => CountingQuery) | undefined;

/** A simple-protocol query that counts the statements that completed, so a failure can be located. */
function countingQuery(sql: string): CountingQuery {
  if (!CountingQueryClass) {
    const { Query } = pg();
    CountingQueryClass = class extends Query {
      completed = 0;
      // Part of pg's Submittable protocol (pg-cursor and pg-query-stream implement the same hooks).
      handleCommandComplete(msg: unknown, connection: unknown): void {
        this.completed++;
        (Query.prototype as unknown as { handleCommandComplete(m: unknown, c: unknown): void }).handleCommandComplete.call(this, msg, connection);
      }
    } as unknown as new (sql: string) => CountingQuery;
  }
  return new CountingQueryClass(sql);
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
      const q = countingQuery(sql);
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
  const client = new (pg().Client)({
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
