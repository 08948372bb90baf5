/**
 * The database interface the engine talks to. `pg` implements it for servers; the embedded PostgreSQL
 * (PGlite) implements it too, so the engine does not care which one it has.
 */
export interface QueryResult<T = Record<string, unknown>> {
  rows: T[];
  /** Rows affected (INSERT/UPDATE/DELETE/…) or returned; null when the command has none. */
  rowCount: number | null;
  command: string;
}

export interface Db {
  /** One statement; with `params` it uses the extended protocol, without it the simple protocol. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Server process id of this session (for lock holder reports and for tests). */
  readonly backendPid: number;
  /** server_version_num, e.g. 150020. */
  readonly serverVersion: number;
  /**
   * True for the embedded database (PGlite, inside this process): it has one session only, a running
   * statement cannot be cancelled from outside, and a commit costs no fsync.
   */
  readonly embedded?: boolean;
  /**
   * Run a script of several statements in one round trip (simple protocol). On failure the error carries
   * `commandsCompleted`: how many statements completed before it, to locate the failing one. Optional:
   * without it the engine sends statements one at a time.
   */
  runScript?(sql: string): Promise<void>;
  /** Closes the session; never throws. */
  close(): Promise<void>;
}

/** Fields a PostgreSQL error carries (copied from the server's ErrorResponse). */
export interface PgErrorFields {
  message: string;
  code?: string;
  severity?: string;
  detail?: string;
  hint?: string;
  /** 1-based character position in the statement sent. */
  position?: number;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

export function pgErrorFields(e: unknown): PgErrorFields | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.code !== 'string' || !/^[0-9A-Z]{5}$/.test(o.code) || typeof o.message !== 'string') return undefined;
  const str = (k: string) => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const pos = str('position');
  return {
    message: o.message,
    code: o.code,
    severity: str('severity'),
    detail: str('detail'),
    hint: str('hint'),
    position: pos !== undefined ? Number(pos) : typeof o.position === 'number' ? o.position : undefined,
    where: str('where'),
    schema: str('schema'),
    table: str('table'),
    column: str('column'),
    constraint: str('constraint'),
  };
}

/** Errors that mean the session is gone (terminated, server shut down, network lost). */
export function isConnectionLost(e: unknown): boolean {
  const f = pgErrorFields(e);
  if (f?.code && (f.code.startsWith('08') || f.code === '57P01' || f.code === '57P02' || f.code === '57P03')) return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /Connection terminated|connection ended|ECONNRESET|EPIPE|Client has encountered a connection error|not queryable/i.test(msg);
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function quoteLiteral(value: string): string {
  // standard_conforming_strings is on in every supported PostgreSQL; an E'' string handles backslashes anyway.
  const hasBackslash = value.includes('\\');
  const body = value.replace(/'/g, "''").replace(/\\/g, '\\\\');
  return (hasBackslash ? "E'" : "'") + body + "'";
}

/** Statements of a script that completed before it failed (set by Db.runScript). */
export function commandsCompleted(e: unknown): number | undefined {
  const n = e && typeof e === 'object' ? (e as { commandsCompleted?: unknown }).commandsCompleted : undefined;
  return typeof n === 'number' ? n : undefined;
}
