import { BulwarkError } from '../errors';
import { Db, pgErrorFields } from './db';

/** Who holds the migration lock, read from pg_locks + pg_stat_activity. */
export interface LockHolder {
  pid: number;
  user: string | null;
  /** Client address/host name reported by the server, or 'local socket'. */
  clientHost: string | null;
  /** application_name: Bulwark sets `bulwark/<version> <os user>@<host>`. */
  application: string | null;
  backendStart: Date | null;
  /** When its current transaction (or, failing that, its current query) started. */
  since: Date | null;
  state: string | null;
}

export class LockHeldError extends BulwarkError {
  constructor(readonly holder: LockHolder | undefined, waitedMs: number, envName: string) {
    const who = holder ? describeHolder(holder) : 'a session that ended while we looked it up';
    super('LOCK_HELD', `another migration run holds the migration lock on "${envName}": ${who}; waited ${Math.round(waitedMs / 1000)} s`, {
      hint: holder
        ? `Wait for it to finish and retry. If it is stale (its process is gone), end it with \`bulwark unlock --pid ${holder.pid} --env ${envName}\` (audited; or SELECT pg_terminate_backend(${holder.pid})); raise "lockWaitTimeout" in bulwark.json to wait longer.`
        : 'Retry.',
    });
  }
}

export function describeHolder(h: LockHolder): string {
  const parts = [`pid ${h.pid}`];
  if (h.user) parts.push(`database user ${h.user}`);
  if (h.application) parts.push(`application "${h.application}"`);
  parts.push(`host ${h.clientHost ?? 'unknown'}`);
  const since = h.since ?? h.backendStart;
  if (since) parts.push(`since ${since.toISOString()}`);
  return parts.join(', ');
}

// Two-key advisory locks: a fixed class id ("BULW") and a hash of the history table, so runs against
// different history tables in one database do not block each other.
const LOCK_CLASS = 0x42554c57 | 0;

export function lockKey(historyTable: string): [number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < historyTable.length; i++) {
    h ^= historyTable.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return [LOCK_CLASS, h | 0];
}

export async function lockHolder(db: Db, key: [number, number]): Promise<LockHolder | undefined> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT a.pid, a.usename, coalesce(a.client_hostname, host(a.client_addr), CASE WHEN a.pid IS NOT NULL THEN 'local socket' END) AS client_host,
            a.application_name, a.backend_start, coalesce(a.xact_start, a.query_start) AS since, a.state
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = ($1::int)::oid AND l.objid = ($2::int)::oid AND l.objsubid = 2 AND l.granted
      LIMIT 1`,
    key,
  );
  const x = r.rows[0];
  if (!x) return undefined;
  return {
    pid: Number(x.pid),
    user: (x.usename as string) ?? null,
    clientHost: (x.client_host as string) ?? null,
    application: (x.application_name as string) || null,
    backendStart: (x.backend_start as Date) ?? null,
    since: (x.since as Date) ?? null,
    state: (x.state as string) ?? null,
  };
}

export interface AcquiredLock {
  /** How long we waited (0 when the lock was free). */
  waitedMs: number;
  /** Who held it when we started waiting, if anyone. */
  waitedFor?: LockHolder;
  release(): Promise<void>;
}

/**
 * Take the session-level migration lock, waiting at most `timeoutMs`. A session lock (not a transaction
 * lock) because one run spans many transactions; the server releases it when the session ends, so a killed
 * runner never leaves a stale lock behind.
 */
export async function acquireMigrationLock(
  db: Db,
  key: [number, number],
  opts: { timeoutMs: number; envName: string; onWait?: (holder: LockHolder | undefined) => void },
): Promise<AcquiredLock> {
  const release = async () => {
    await db.query('SELECT pg_advisory_unlock($1::int, $2::int)', key).catch(() => {});
  };
  const first = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', key);
  if (first.rows[0].ok) return { waitedMs: 0, release };
  const holder = await lockHolder(db, key);
  opts.onWait?.(holder);
  const started = Date.now();
  // lock_timeout bounds a heavyweight-lock wait, advisory locks included: the wait is server-side, no polling.
  await db.query(`SET lock_timeout = ${Math.max(1, Math.round(opts.timeoutMs))}`);
  try {
    await db.query('SELECT pg_advisory_lock($1::int, $2::int)', key);
  } catch (e) {
    if (pgErrorFields(e)?.code === '55P03') {
      const now = await lockHolder(db, key).catch(() => undefined);
      throw new LockHeldError(now ?? holder, Date.now() - started, opts.envName);
    }
    throw e;
  } finally {
    await db.query('RESET lock_timeout').catch(() => {});
  }
  return { waitedMs: Date.now() - started, waitedFor: holder, release };
}
