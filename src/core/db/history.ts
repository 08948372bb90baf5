import type { HistoryConfig } from '../config/config';
import { Db, quoteIdent, quoteLiteral } from './db';

/**
 * The history table (current state: one row per migration that was applied, failed, is running or was
 * recorded without running) and the audit table (append-only: one row per action, never updated).
 * Both are created on first use by a command that changes the database, under the migration lock.
 */
export const HISTORY_FORMAT_VERSION = 1;

export type HistoryStatus = 'applied' | 'failed' | 'running' | 'baseline';

export interface HistoryError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  line?: number;
  column?: number;
  /** 0-based index of the statement that failed in its section. */
  statement?: number;
  /** For transaction:false sections: how many statements completed (and persist). */
  statementsDone?: number;
}

export interface HistoryRow {
  version: string;
  name: string;
  checksum: string;
  normalizedChecksum: string;
  status: HistoryStatus;
  transactional: boolean;
  appliedAt: Date;
  appliedBy: string;
  osUser: string | null;
  hostname: string | null;
  durationMs: number | null;
  error: HistoryError | null;
  toolVersion: string;
  environment: string;
  statementsDone: number | null;
  /**
   * The down section as it was when the migration was applied (or recorded), so it can be rolled back after
   * its file is gone (a branch switch); null for irreversible migrations and rows written before Bulwark kept it.
   */
  down: StoredDown | null;
}

export interface StoredDown {
  sql: string;
  transaction: boolean;
}

export type AuditAction =
  | 'apply'
  | 'rollback'
  | 'dry-run'
  | 'failure'
  | 'baseline'
  | 'mark-applied'
  | 'repair'
  | 'lock-wait'
  | 'force'
  | 'apply-start'
  | 'unlock'
  | 'backup'
  | 'backup-skipped';

export interface AuditEntry {
  action: AuditAction;
  version?: string;
  name?: string;
  durationMs?: number;
  /** A SQL expression for the duration (instead of durationMs). */
  durationSql?: string;
  details?: Record<string, unknown>;
}

/**
 * Milliseconds since the server received the current query message: inside a one-round-trip script, the
 * time the migration's statements took so far.
 */
export const ELAPSED_MS_SQL = '(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::int';

export interface Identity {
  environment: string;
  osUser: string;
  hostname: string;
  toolVersion: string;
}

export class History {
  readonly schema: string;
  readonly table: string;
  readonly audit: string;

  constructor(private readonly db: Db, cfg: HistoryConfig, private readonly who: Identity) {
    this.schema = quoteIdent(cfg.schema);
    this.table = `${this.schema}.${quoteIdent(cfg.table)}`;
    this.audit = `${this.schema}.${quoteIdent(cfg.auditTable)}`;
    this.cfg = cfg;
  }
  private readonly cfg: HistoryConfig;

  /** Read-only commands (status, plan, dry run) must not create anything, so they ask first. */
  async exists(): Promise<boolean> {
    const r = await this.db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoteIdent(this.cfg.schema)}.${quoteIdent(this.cfg.table)}`]);
    return r.rows[0].t !== null;
  }

  /** Create the tables (idempotent); call while holding the migration lock so two runners do not race. */
  async ensure(): Promise<void> {
    if (await this.exists()) {
      const r = await this.db.query<{ d: string | null }>('SELECT obj_description($1::regclass, \'pg_class\') AS d', [this.table]);
      const v = /bulwark history v(\d+)/.exec(r.rows[0].d ?? '');
      if (v && Number(v[1]) > HISTORY_FORMAT_VERSION) {
        throw new Error(`the history table ${this.table} was written by a newer Bulwark (format v${v[1]}); upgrade Bulwark to use this database`);
      }
      // Tables made before Bulwark kept the down sections get the column (additive: older versions ignore it).
      const col = await this.db.query("SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'down' AND NOT attisdropped", [this.table]);
      if (col.rows.length === 0) await this.db.query(`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS down jsonb`);
      return;
    }
    const fn = `${this.schema}.${quoteIdent(this.cfg.auditTable + '_append_only')}`;
    await this.db.query(`BEGIN;
CREATE SCHEMA IF NOT EXISTS ${this.schema};
CREATE TABLE ${this.table} (
  version text PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  normalized_checksum text NOT NULL,
  status text NOT NULL CHECK (status IN ('applied', 'failed', 'running', 'baseline')),
  transactional boolean NOT NULL DEFAULT true,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  applied_by text NOT NULL DEFAULT current_user,
  os_user text,
  hostname text,
  duration_ms integer,
  error jsonb,
  tool_version text NOT NULL,
  environment text NOT NULL,
  statements_done integer,
  down jsonb
);
COMMENT ON TABLE ${this.table} IS 'bulwark history v${HISTORY_FORMAT_VERSION}: one row per migration applied, failed, running or recorded without running';
CREATE TABLE ${this.audit} (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  action text NOT NULL,
  version text,
  name text,
  environment text NOT NULL,
  db_user text NOT NULL DEFAULT current_user,
  os_user text,
  hostname text,
  tool_version text NOT NULL,
  duration_ms integer,
  details jsonb
);
COMMENT ON TABLE ${this.audit} IS 'bulwark audit v${HISTORY_FORMAT_VERSION}: append-only log of every action';
CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'the Bulwark audit table is append-only';
END
$fn$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON ${this.audit} FOR EACH ROW EXECUTE FUNCTION ${fn}();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON ${this.audit} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
COMMIT`).catch(async (e) => {
      await this.db.query('ROLLBACK').catch(() => {});
      throw e;
    });
  }

  async rows(): Promise<HistoryRow[]> {
    const r = await this.db.query<Record<string, unknown>>(
      // to_jsonb(h)->'down': also on a table made before that column existed (read-only sessions never add it).
      `SELECT version, name, checksum, normalized_checksum, status, transactional, applied_at, applied_by, os_user, hostname,
              duration_ms, error, tool_version, environment, statements_done, to_jsonb(h) -> 'down' AS down
         FROM ${this.table} h ORDER BY version`,
    );
    return r.rows.map((x) => ({
      version: String(x.version),
      name: String(x.name),
      checksum: String(x.checksum),
      normalizedChecksum: String(x.normalized_checksum),
      status: x.status as HistoryStatus,
      transactional: Boolean(x.transactional),
      appliedAt: x.applied_at instanceof Date ? x.applied_at : new Date(String(x.applied_at)),
      appliedBy: String(x.applied_by),
      osUser: (x.os_user as string | null) ?? null,
      hostname: (x.hostname as string | null) ?? null,
      durationMs: x.duration_ms === null || x.duration_ms === undefined ? null : Number(x.duration_ms),
      error: (typeof x.error === 'string' ? JSON.parse(x.error) : (x.error as HistoryError | null)) ?? null,
      toolVersion: String(x.tool_version),
      environment: String(x.environment),
      statementsDone: x.statements_done === null || x.statements_done === undefined ? null : Number(x.statements_done),
      down: storedDown(x.down),
    }));
  }

  /**
   * SQL (literals inlined) that upserts a history row; returned as text so the engine can send it in the
   * same round trip as the migration's COMMIT.
   */
  upsertSql(row: {
    version: string;
    name: string;
    checksum: string;
    normalizedChecksum: string;
    status: HistoryStatus;
    transactional: boolean;
    durationMs?: number;
    /** A SQL expression for the duration, when it is only known on the server (see Engine's script mode). */
    durationSql?: string;
    error?: HistoryError | null;
    statementsDone?: number | null;
    /** The migration's down section, kept for rolling back after its file is gone. */
    down?: StoredDown | null;
  }): string {
    const lit = (v: string | number | boolean | null | undefined) =>
      v === null || v === undefined ? 'NULL' : typeof v === 'string' ? quoteLiteral(v) : String(v);
    const values = [
      lit(row.version), lit(row.name), lit(row.checksum), lit(row.normalizedChecksum), lit(row.status), lit(row.transactional),
      'clock_timestamp()', 'current_user', lit(this.who.osUser), lit(this.who.hostname),
      row.durationSql ?? lit(row.durationMs === undefined ? null : Math.round(row.durationMs)),
      row.error ? `${quoteLiteral(JSON.stringify(row.error))}::jsonb` : 'NULL',
      lit(this.who.toolVersion), lit(this.who.environment), lit(row.statementsDone ?? null),
      row.down ? `${quoteLiteral(JSON.stringify(row.down))}::jsonb` : 'NULL',
    ];
    return `INSERT INTO ${this.table} (version, name, checksum, normalized_checksum, status, transactional, applied_at, applied_by,
  os_user, hostname, duration_ms, error, tool_version, environment, statements_done, down)
VALUES (${values.join(', ')})
ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,
  normalized_checksum = EXCLUDED.normalized_checksum, status = EXCLUDED.status, transactional = EXCLUDED.transactional,
  applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by, os_user = EXCLUDED.os_user, hostname = EXCLUDED.hostname,
  duration_ms = EXCLUDED.duration_ms, error = EXCLUDED.error, tool_version = EXCLUDED.tool_version,
  environment = EXCLUDED.environment, statements_done = EXCLUDED.statements_done, down = EXCLUDED.down`;
  }

  deleteSql(version: string): string {
    return `DELETE FROM ${this.table} WHERE version = ${quoteLiteral(version)}`;
  }

  auditSql(e: AuditEntry): string {
    const lit = (v: string | number | undefined) => (v === undefined ? 'NULL' : typeof v === 'string' ? quoteLiteral(v) : String(Math.round(v)));
    return `INSERT INTO ${this.audit} (action, version, name, environment, os_user, hostname, tool_version, duration_ms, details)
VALUES (${lit(e.action)}, ${lit(e.version)}, ${lit(e.name)}, ${lit(this.who.environment)}, ${lit(this.who.osUser)}, ${lit(this.who.hostname)},
  ${lit(this.who.toolVersion)}, ${e.durationSql ?? lit(e.durationMs)}, ${e.details ? `${quoteLiteral(JSON.stringify(e.details))}::jsonb` : 'NULL'})`;
  }

  /** Append an audit row in its own (auto-committed) statement. */
  async appendAudit(e: AuditEntry): Promise<void> {
    await this.db.query(this.auditSql(e));
  }

  async auditRows(version?: string): Promise<Array<Record<string, unknown>>> {
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT id, at, action, version, name, environment, db_user, os_user, hostname, tool_version, duration_ms, details
         FROM ${this.audit} ${version ? 'WHERE version = $1' : ''} ORDER BY id`,
      version ? [version] : undefined,
    );
    return r.rows;
  }
}

function storedDown(v: unknown): StoredDown | null {
  const d = (typeof v === 'string' ? JSON.parse(v) : v) as { sql?: unknown; transaction?: unknown } | null;
  return d && typeof d.sql === 'string' ? { sql: d.sql, transaction: d.transaction !== false } : null;
}
