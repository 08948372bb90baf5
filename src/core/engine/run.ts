import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EnvironmentConfig } from '../config/config';
import { commandsCompleted, Db, isConnectionLost, pgErrorFields, quoteLiteral } from '../db/db';
import { ELAPSED_MS_SQL, History, HistoryError } from '../db/history';
import type { StoredDown } from '../db/history';
import { BulwarkError, RefusedError } from '../errors';
import type { Migration, MigrationSection } from '../migrations/parse';
import { Engine, EnvironmentStatus, Session } from './engine';
import { BackupError, BackupInfo, BackupWork, takeBackup } from './backup';
import { computePlan, PlanOptions, PlanResult, PlanStep } from './plan';
import { computeStates } from './state';
import { codePointPositionToIndex } from '../sql/text';
import { errorLocation, locationInStatement, PlannedStatement, sectionStatements } from './statements';

/** Where and why a migration failed, located in its file. */
export interface MigrationFailure {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  file: string;
  line: number;
  column: number;
  /** 0-based index of the failing statement in its section. */
  statementIndex?: number;
  statement?: string;
  /** Statements of a `transaction:false` section that completed before the failure: they persist. */
  statementsDone?: number;
  /** What is true in the database now, in one sentence. */
  outcome: string;
  connectionLost?: boolean;
}

/** One migration's outcome; results come as values so a UI can show partial progress. */
export type MigrationRunResult =
  | { version: string; name: string; status: 'applied' | 'rolled-back'; durationMs: number }
  | { version: string; name: string; status: 'failed'; durationMs: number; error: MigrationFailure }
  | { version: string; name: string; status: 'not-executed' };

export interface RunResult {
  environment: string;
  connection: string;
  results: MigrationRunResult[];
  warnings: string[];
  /** Time spent waiting for another run's lock. */
  lockWaitedMs: number;
  ok: boolean;
  /** The run was cancelled (AbortSignal / Ctrl-C). */
  cancelled?: boolean;
  /** The backup taken before anything changed (environments with `backup`). */
  backup?: BackupInfo;
  /** The environment wants a backup and the caller said `backup: false` (recorded in the audit trail). */
  backupSkipped?: boolean;
}

export interface ApplyOptions extends PlanOptions {
  /** Cancel the run: the running statement is cancelled on the server (its migration rolls back) and nothing after it runs. */
  signal?: AbortSignal;
  /** Must equal the environment's name when it is protected. */
  confirm?: string;
  /** Apply even when the promotion order says no (audited). */
  force?: boolean;
  /** false: no backup even where the environment wants one (audited). Default: the environment's setting. */
  backup?: boolean;
}

export interface PlanReport extends PlanResult {
  environment: string;
  connection: string;
}

/** What `apply` would do on an environment, without changing anything. */
export async function plan(engine: Engine, envName: string | undefined, opts: PlanOptions = {}): Promise<PlanReport> {
  const env = engine.environment(envName);
  const migrations = engine.validMigrations();
  return engine.withSession(env, { lock: false }, async (s) => ({
    environment: env.name,
    connection: engine.display(env),
    ...computePlan(migrations, computeStates(migrations, s.rows), opts),
  }));
}

export async function apply(engine: Engine, envName: string | undefined, opts: ApplyOptions = {}): Promise<RunResult> {
  const env = engine.environment(envName);
  const migrations = engine.validMigrations();
  engine.checkConfirmation(env, opts.confirm, 'apply');
  return engine.withSession(env, { lock: true }, async (s) => {
    const p = computePlan(migrations, computeStates(migrations, s.rows), opts);
    const broken = p.problems.find((x) => x.fileError);
    if (broken) throw broken.fileError;
    if (p.problems.length > 0) throw refusal(`apply to "${env.name}" refused`, p.problems);
    const warnings = [...p.warnings];
    if (env.requires && p.steps.length > 0) warnings.push(...(await promotionGate(engine, env, p.steps, migrations, s, opts.force === true)));
    const byVersion = new Map(migrations.map((x) => [x.version, x]));
    const backup = p.steps.length > 0 ? await backupGate(engine, s, p.steps.map((st) => ({ migration: byVersion.get(st.version)!, direction: 'up' as const, statements: st.statements })), 'apply', opts.backup) : {};
    if (backup.backupSkipped) warnings.push(`no backup of "${env.name}" was taken (backup: false / --no-backup)`);
    if (p.steps.length > 0) await s.ensureHistory();
    await auditBackup(s, backup);
    const results: MigrationRunResult[] = [];
    let failed = false;
    for (const [i, step] of p.steps.entries()) {
      const m = byVersion.get(step.version)!;
      // The embedded database runs its statements in this thread, so a Ctrl-C pressed during a migration
      // is only seen once the event loop turns: let it turn before deciding to start the next one.
      if (s.db.embedded && opts.signal && !failed) await new Promise((r) => setImmediate(r));
      if (failed || opts.signal?.aborted) {
        results.push({ version: m.version, name: m.name, status: 'not-executed' });
        continue;
      }
      engine.onProgress({ kind: 'migration-start', environment: env.name, version: m.version, name: m.name, index: i, total: p.steps.length, direction: 'up' });
      // Group commit: every migration commits atomically with its history row, but only the run's last
      // commit waits for the WAL flush (which makes all earlier ones durable too). A server crash mid-run
      // can lose whole migrations together with their rows, never half of one; the run reports only after
      // the final flush. The embedded database has no WAL writer to flush an asynchronous commit later
      // and its flush costs nothing (no fsync), so there every migration commits synchronously: a killed
      // process keeps every migration that committed.
      const asyncCommit = !s.db.embedded && i < p.steps.length - 1;
      const r = await cancellable(engine, s, opts.signal, () => runSection(engine, s, m, m.up, step.statements, 'up', { asyncCommit }));
      engine.onProgress({ kind: 'migration-done', environment: env.name, version: m.version, name: m.name, ok: r.status !== 'failed', durationMs: 'durationMs' in r ? r.durationMs : 0 });
      results.push(r);
      if (r.status === 'failed') {
        failed = true;
        if (r.error.connectionLost) {
          // The session is gone (and with it our lock): stop here, record from a new session.
          const present = await recordAfterConnectionLoss(engine, env, m, r.error, 'up');
          if (present) {
            for (const x of results) {
              if (x.status === 'applied' && !present.has(x.version)) {
                warnings.push(`${x.version}_${x.name} was applied in this run but is no longer recorded after the connection loss (the server lost it in a crash, with its history row); it is pending again`);
              }
            }
          }
          for (const rest of p.steps.slice(i + 1)) results.push({ version: rest.version, name: rest.name, status: 'not-executed' });
          break;
        }
      }
    }
    const cancelled = opts.signal?.aborted === true;
    return { environment: env.name, connection: engine.display(env), results, warnings, lockWaitedMs: s.lock?.waitedMs ?? 0, ok: !failed && !cancelled, ...(cancelled ? { cancelled } : {}), ...backup };
  });
}

/**
 * The backup an environment asks for, taken before anything changes (nothing is written to the database
 * yet, not even Bulwark's tables). A failure refuses the run; the audit trail records it when Bulwark's
 * tables already exist.
 */
async function backupGate(engine: Engine, s: Session, work: BackupWork[], reason: 'apply' | 'rollback', requested: boolean | undefined): Promise<{ backup?: BackupInfo; backupSkipped?: boolean }> {
  // (The configuration gives embedded environments no backup.)
  if (!s.env.backup) return {};
  if (requested === false) return { backupSkipped: true };
  try {
    return { backup: await takeBackup(engine, s, work, reason) };
  } catch (e) {
    const err = e instanceof BackupError ? e : new BackupError(`backup of "${s.env.name}" failed: ${engine.redactor.redact(e instanceof Error ? e.message : String(e))}`);
    if (s.historyExists) {
      await s.history.appendAudit({ action: 'backup', details: { ok: false, reason, error: err.message, migrations: work.map((w) => w.migration.version) } }).catch(() => {});
    }
    throw err;
  }
}

async function auditBackup(s: Session, b: { backup?: BackupInfo; backupSkipped?: boolean }): Promise<void> {
  if (b.backup) {
    const x = b.backup;
    await s.history.appendAudit({
      action: 'backup',
      durationMs: x.durationMs,
      details: { ok: true, dir: x.dir, files: x.files, data: x.data, tables: x.tables.slice(0, 100), tableCount: x.tables.length, opaque: x.opaque.length, pgDump: x.pgDump.version },
    });
  } else if (b.backupSkipped) {
    await s.history.appendAudit({ action: 'backup-skipped', details: { reason: 'backup: false (--no-backup)' } });
  }
}

/**
 * Run `fn` so that aborting `signal` cancels the statement running on the server (pg_cancel_backend from
 * a second session): the migration's transaction then fails and rolls back like any other failure.
 */
async function cancellable<T>(engine: Engine, s: Session, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  if (!signal) return fn();
  const onAbort = () => {
    if (s.db.embedded) {
      engine.logger.warn(`[${s.env.name}] the embedded database cannot cancel a running statement: stopping after the running migration`);
      return;
    }
    engine.logger.warn(`[${s.env.name}] cancelling the running statement (backend ${s.db.backendPid})`);
    void engine.cancelBackend(s.env, s.db.backendPid).catch((e) => engine.logger.error(`could not cancel: ${e instanceof Error ? e.message : e}`));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export interface RollbackOptions {
  signal?: AbortSignal;
  /** false: no backup even where the environment wants one (audited). */
  backup?: boolean;
  /** Roll back this version; default: the migration applied last (by time, not by file name). */
  version?: string;
  confirm?: string;
}

export async function rollback(engine: Engine, envName: string | undefined, opts: RollbackOptions = {}): Promise<RunResult> {
  const env = engine.environment(envName);
  const set = engine.migrations();
  engine.checkConfirmation(env, opts.confirm, 'rollback');
  return engine.withSession(env, { lock: true }, async (s) => {
    const done = s.rows.filter((r) => r.status === 'applied' || r.status === 'baseline');
    let row = opts.version !== undefined ? s.rows.find((r) => r.version === opts.version) : undefined;
    if (opts.version === undefined) {
      row = [...done].sort((a, b) => b.appliedAt.getTime() - a.appliedAt.getTime() || (a.version < b.version ? 1 : -1))[0];
      if (!row) throw new RefusedError(`nothing to roll back on "${env.name}": no migration is applied`);
    }
    if (!row) throw new RefusedError(`${opts.version} is not applied on "${env.name}"`, { hint: 'See `bulwark status`.' });
    if (row.status === 'failed' || row.status === 'running') {
      throw new RefusedError(`${row.version}_${row.name} is recorded as failed on "${env.name}", not applied`, {
        hint: `Resolve it first with \`bulwark repair ${row.version} --resolve applied|rolled-back\`.`,
      });
    }
    const warnings: string[] = [];
    let m = set.migrations.find((x) => x.version === row!.version);
    if (!m) {
      const bad = set.errors.find((e) => e.location?.file.includes(row!.version));
      if (bad || !row.down) {
        throw new RefusedError(`cannot roll back ${row.version}_${row.name}: ${bad ? 'its file has problems: ' + bad.describe() : `its file is missing from ${set.dir} and no copy of its down section was kept when it was applied`}`);
      }
      // The file is gone (another branch checked out?): run the down section kept when it was applied.
      m = storedMigration(set.dir, row.version, row.name, row.checksum, row.normalizedChecksum, row.down);
      warnings.push(`${m.version}_${m.name} has no file here: rolled back with the down section stored when it was applied`);
    }
    if (!m.down) {
      throw new RefusedError(`${m.version}_${m.name} is irreversible: it has no (or an empty) -- migrate:down section`, {
        location: { file: m.file },
        hint: 'Write a down section that undoes the up section, or undo the change with a new migration.',
      });
    }
    if (row.normalizedChecksum !== m.normalizedChecksum) {
      warnings.push(`${m.version}_${m.name} was changed since it was applied; its down section may not match what ran`);
    }
    const statements = sectionStatements(m, m.down, 'down');
    const backup = await backupGate(engine, s, [{ migration: m, direction: 'down', statements }], 'rollback', opts.backup);
    if (backup.backupSkipped) warnings.push(`no backup of "${env.name}" was taken (backup: false / --no-backup)`);
    await s.ensureHistory();
    await auditBackup(s, backup);
    engine.onProgress({ kind: 'migration-start', environment: env.name, version: m.version, name: m.name, index: 0, total: 1, direction: 'down' });
    const r = await cancellable(engine, s, opts.signal, () => runSection(engine, s, m, m.down!, statements, 'down'));
    engine.onProgress({ kind: 'migration-done', environment: env.name, version: m.version, name: m.name, ok: r.status !== 'failed', durationMs: 'durationMs' in r ? r.durationMs : 0 });
    if (r.status === 'failed' && r.error.connectionLost) await recordAfterConnectionLoss(engine, env, m, r.error, 'down');
    return { environment: env.name, connection: engine.display(env), results: [r], warnings, lockWaitedMs: s.lock?.waitedMs ?? 0, ok: r.status !== 'failed', ...backup };
  });
}

/** What the history keeps of a migration's down section, to roll it back once its file is gone. */
function downOf(m: Migration): StoredDown | null {
  return m.down ? { sql: m.down.sql, transaction: m.down.transaction } : null;
}

/** A migration made from a history row's stored down section (its file is gone); positions refer to that text. */
function storedMigration(dir: string, version: string, name: string, checksum: string, normalizedChecksum: string, down: StoredDown): Migration {
  const marker = `-- migrate:down${down.transaction ? '' : ' transaction:false'}\n`;
  const text = marker + down.sql;
  return {
    version,
    name,
    file: path.join(dir, `${version}_${name}.sql`),
    text,
    up: { sql: '', offset: 0, markerLine: 1, transaction: true },
    down: { sql: down.sql, offset: marker.length, markerLine: 1, transaction: down.transaction },
    meta: { requires: [] },
    checksum,
    normalizedChecksum,
  };
}

function timeoutSql(env: EnvironmentConfig, local: boolean): string[] {
  const kw = local ? 'SET LOCAL' : 'SET';
  const out: string[] = [];
  if (env.lockTimeoutMs !== undefined) out.push(`${kw} lock_timeout = ${env.lockTimeoutMs}`);
  if (env.statementTimeoutMs !== undefined) out.push(`${kw} statement_timeout = ${env.statementTimeoutMs}`);
  return out;
}

/**
 * Run one section. Transactional: BEGIN + timeouts, each statement, then the history and audit rows and
 * COMMIT in one round trip, so the migration and its record commit together or not at all. Outside a
 * transaction: a `running` row first, progress after each statement, so a crash leaves the truth behind.
 */
async function runSection(
  engine: Engine,
  s: Session,
  m: Migration,
  section: MigrationSection,
  statements: PlannedStatement[],
  direction: 'up' | 'down',
  opts: { asyncCommit?: boolean } = {},
): Promise<MigrationRunResult> {
  const { db, history, env } = s;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const okStatus = direction === 'up' ? 'applied' : 'rolled-back';
  const record = (durationMs: number) =>
    direction === 'up'
      ? history.upsertSql({ version: m.version, name: m.name, checksum: m.checksum, normalizedChecksum: m.normalizedChecksum, status: 'applied', transactional: section.transaction, durationMs, statementsDone: section.transaction ? null : statements.length, down: downOf(m) })
      : history.deleteSql(m.version);
  const auditOk = (durationMs: number) =>
    history.auditSql({ action: direction === 'up' ? 'apply' : 'rollback', version: m.version, name: m.name, durationMs, details: { checksum: m.checksum, statements: statements.length, transactional: section.transaction } });

  const prefix = ['BEGIN', ...timeoutSql(env, true), ...(opts.asyncCommit ? ['SET LOCAL synchronous_commit = off'] : [])];

  // One round trip for the whole migration when the driver can locate a failure in a script. Before
  // PostgreSQL 13, statement_timeout would apply to the whole script instead of each statement.
  if (section.transaction && db.runScript && (env.statementTimeoutMs === undefined || db.serverVersion >= 130000)) {
    let text = prefix.join(';\n') + ';\n';
    const starts: number[] = [];
    for (const st of statements) {
      starts.push(text.length);
      text += st.sql + ';\n';
    }
    const bookkeeping = direction === 'up'
      ? history.upsertSql({ version: m.version, name: m.name, checksum: m.checksum, normalizedChecksum: m.normalizedChecksum, status: 'applied', transactional: true, durationSql: ELAPSED_MS_SQL, down: downOf(m) })
      : history.deleteSql(m.version);
    const audit = history.auditSql({ action: direction === 'up' ? 'apply' : 'rollback', version: m.version, name: m.name, durationSql: ELAPSED_MS_SQL, details: { checksum: m.checksum, statements: statements.length, transactional: true } });
    text += `${bookkeeping};\n${audit};\nCOMMIT`;
    try {
      await db.runScript(text);
      return { version: m.version, name: m.name, status: okStatus, durationMs: elapsed() };
    } catch (e) {
      const lost = isConnectionLost(e);
      if (!lost) await db.query('ROLLBACK').catch(() => {});
      // Locate the failing statement: by the error position (relative to the whole script; syntax errors
      // stop the script before anything runs), else by how many statements completed.
      const f = pgErrorFields(e);
      let index = -1;
      let at: number | undefined;
      if (f?.position) {
        const p = codePointPositionToIndex(text, f.position);
        for (let k = 0; k < starts.length; k++) if (starts[k] <= p) index = k;
        if (index >= 0 && p <= starts[index] + statements[index].sql.length) at = p - starts[index];
        else index = index >= 0 ? statements.length : -1;
      } else {
        const n = commandsCompleted(e);
        if (n !== undefined) index = n - prefix.length;
      }
      const failure = describeFailure(engine, m, section, statements, index, e, direction, lost, undefined, at);
      if (!lost) await recordFailure(history, m, section, failure, direction, db);
      return { version: m.version, name: m.name, status: 'failed', durationMs: elapsed(), error: failure };
    }
  }

  if (section.transaction) {
    let i = -1;
    try {
      await db.query(prefix.join('; '));
      for (i = 0; i < statements.length; i++) await db.query(statements[i].sql);
      i = statements.length; // a failure from here on is the COMMIT (deferred constraints) or the bookkeeping
      const d = elapsed();
      await db.query(`${record(d)};\n${auditOk(d)};\nCOMMIT`);
      return { version: m.version, name: m.name, status: okStatus, durationMs: d };
    } catch (e) {
      const lost = isConnectionLost(e);
      if (!lost) await db.query('ROLLBACK').catch(() => {});
      const failure = describeFailure(engine, m, section, statements, i, e, direction, lost, undefined);
      if (!lost) await recordFailure(history, m, section, failure, direction, db);
      return { version: m.version, name: m.name, status: 'failed', durationMs: elapsed(), error: failure };
    }
  }

  // transaction:false — each statement commits on its own.
  let i = -1;
  try {
    if (direction === 'up') {
      await db.query(`${history.upsertSql({ version: m.version, name: m.name, checksum: m.checksum, normalizedChecksum: m.normalizedChecksum, status: 'running', transactional: false, statementsDone: 0 })};\n${history.auditSql({ action: 'apply-start', version: m.version, name: m.name, details: { transactional: false } })}`);
    }
    const t = timeoutSql(env, false);
    if (t.length) await db.query(t.join('; '));
    for (i = 0; i < statements.length; i++) {
      await db.query(statements[i].sql);
      if (direction === 'up') await db.query(`UPDATE ${history.table} SET statements_done = ${i + 1} WHERE version = ${quoteLiteral(m.version)}`);
    }
    i = statements.length;
    const d = elapsed();
    await db.query(`${record(d)};\n${auditOk(d)}`);
    if (t.length) await db.query('RESET lock_timeout; RESET statement_timeout');
    return { version: m.version, name: m.name, status: okStatus, durationMs: d };
  } catch (e) {
    const lost = isConnectionLost(e);
    const done = Math.max(0, Math.min(i, statements.length));
    const failure = describeFailure(engine, m, section, statements, i, e, direction, lost, done);
    if (!lost) {
      await db.query('RESET lock_timeout; RESET statement_timeout').catch(() => {});
      await recordFailure(history, m, section, failure, direction, db);
    }
    return { version: m.version, name: m.name, status: 'failed', durationMs: elapsed(), error: failure };
  }
}

function describeFailure(
  engine: Engine,
  m: Migration,
  section: MigrationSection,
  statements: PlannedStatement[],
  index: number,
  e: unknown,
  direction: 'up' | 'down',
  lost: boolean,
  statementsDone: number | undefined,
  /** UTF-16 index of the error inside the statement, when already known (script mode). */
  at?: number,
): MigrationFailure {
  const f = pgErrorFields(e);
  const stmt = index >= 0 && index < statements.length ? statements[index] : undefined;
  const loc = !stmt ? { line: section.markerLine, column: 1 } : at !== undefined ? locationInStatement(m, stmt, at) : errorLocation(m, stmt, f?.position);
  const cancelled = f?.code === '57014' && /user request/.test(f.message);
  const message = engine.redactor.redact(cancelled ? 'cancelled by the user' : f?.message ?? (e instanceof Error ? e.message : String(e)));
  const what = direction === 'up' ? 'the migration' : 'the rollback';
  let outcome: string;
  if (section.transaction) {
    outcome = lost
      ? `The connection was lost; the server rolls back the open transaction, so nothing of ${what} persists.`
      : `${what[0].toUpperCase()}${what.slice(1)} was rolled back; nothing of it persists.`;
  } else {
    const n = statementsDone ?? 0;
    outcome =
      n === 0
        ? `No statement of ${what} completed (it runs outside a transaction, statement ${index + 1} failed).`
        : `It runs outside a transaction: statement${n > 1 ? 's' : ''} 1${n > 1 ? '–' + n : ''} of ${statements.length} completed and persist; they were NOT undone.`;
    if (/CONCURRENTLY/i.test(stmt?.sql ?? '')) outcome += ' A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind: drop it before retrying.';
  }
  return {
    message,
    ...(f?.code ? { code: f.code } : {}),
    ...(f?.detail ? { detail: engine.redactor.redact(f.detail) } : {}),
    ...(f?.hint ? { hint: f.hint } : {}),
    file: m.file,
    line: loc.line,
    column: loc.column,
    ...(stmt ? { statementIndex: index, statement: stmt.sql.length > 500 ? stmt.sql.slice(0, 500) + '…' : stmt.sql } : {}),
    ...(statementsDone !== undefined ? { statementsDone } : {}),
    outcome,
    ...(lost ? { connectionLost: true } : {}),
  };
}

function historyError(f: MigrationFailure): HistoryError {
  return {
    message: f.message,
    ...(f.code ? { code: f.code } : {}),
    ...(f.detail ? { detail: f.detail } : {}),
    ...(f.hint ? { hint: f.hint } : {}),
    line: f.line,
    column: f.column,
    ...(f.statementIndex !== undefined ? { statement: f.statementIndex } : {}),
    ...(f.statementsDone !== undefined ? { statementsDone: f.statementsDone } : {}),
  };
}

async function recordFailure(history: History, m: Migration, section: MigrationSection, f: MigrationFailure, direction: 'up' | 'down', db: Db): Promise<void> {
  const audit = history.auditSql({ action: 'failure', version: m.version, name: m.name, details: { direction, ...historyError(f), outcome: f.outcome } });
  let row = '';
  if (direction === 'up') {
    row = history.upsertSql({
      version: m.version, name: m.name, checksum: m.checksum, normalizedChecksum: m.normalizedChecksum, status: 'failed',
      transactional: section.transaction, error: historyError(f), statementsDone: f.statementsDone ?? null,
    }) + ';\n';
  } else if (!section.transaction && (f.statementsDone ?? 0) > 0) {
    // Part of the down section ran and persists: the migration is neither applied nor rolled back.
    row = `UPDATE ${history.table} SET status = 'failed', error = ${quoteLiteral(JSON.stringify({ ...historyError(f), message: 'rollback failed part-way: ' + f.message }))}::jsonb WHERE version = ${quoteLiteral(m.version)};\n`;
  }
  await db.query(`BEGIN;\n${row}${audit};\nCOMMIT`);
}

/** After the session died mid-run, write the failure from a new session (under the lock, never over an `applied` row). */
async function recordAfterConnectionLoss(engine: Engine, env: EnvironmentConfig, m: Migration, f: MigrationFailure, direction: 'up' | 'down'): Promise<Set<string> | undefined> {
  try {
    const present = await engine.withSession(env, { lock: true }, async (s) => {
      await s.ensureHistory();
      const row = s.rows.find((r) => r.version === m.version);
      const section = direction === 'up' ? m.up : m.down!;
      if (!(direction === 'up' && row && (row.status === 'applied' || row.status === 'baseline'))) {
        await recordFailure(s.history, m, section, f, direction, s.db);
      }
      return new Set(s.rows.filter((r) => r.status === 'applied' || r.status === 'baseline').map((r) => r.version));
    });
    f.outcome += ' The failure was recorded from a new connection.';
    return present;
  } catch (e) {
    f.outcome += ` The failure could not be recorded (${e instanceof BulwarkError ? e.message : String(e)}); run \`bulwark status\` once the server is back.`;
    return undefined;
  }
}

function refusal(title: string, problems: { message: string; hint?: string; file?: string }[]): RefusedError {
  const lines = problems.map((p) => `  - ${p.message}${p.hint ? `\n    ${p.hint}` : ''}`);
  return new RefusedError(`${title}:\n${lines.join('\n')}`);
}

/**
 * Promotion order: every migration about to be applied here must already be applied, with the same
 * (semantic) checksum, on the environment this one `requires`. `force` overrides, and is audited.
 */
async function promotionGate(engine: Engine, env: EnvironmentConfig, steps: PlanStep[], migrations: Migration[], s: Session, force: boolean): Promise<string[]> {
  const prev = engine.environment(env.requires);
  const st: EnvironmentStatus = await engine.statusOf(prev, migrations);
  const missing: { version: string; message: string }[] = [];
  if (!st.reachable) {
    missing.push(...steps.map((x) => ({ version: x.version, message: `${x.version}_${x.name}: cannot check "${prev.name}" (${st.error})` })));
  } else {
    for (const step of steps) {
      const there = st.migrations.find((x) => x.version === step.version);
      const m = migrations.find((x) => x.version === step.version)!;
      if (!there || !(there.status === 'applied' || there.status === 'edited')) {
        missing.push({ version: step.version, message: `${step.version}_${step.name} is ${there?.status ?? 'pending'} on "${prev.name}"` });
      } else if (there.appliedNormalizedChecksum !== m.normalizedChecksum) {
        missing.push({ version: step.version, message: `${step.version}_${step.name} was applied on "${prev.name}" with different SQL (checksum ${there.appliedNormalizedChecksum?.slice(0, 12)} there, ${m.normalizedChecksum.slice(0, 12)} in the file)` });
      }
    }
  }
  if (missing.length === 0) return [];
  if (!force) {
    throw new RefusedError(
      `promotion order: "${env.name}" requires each migration to be applied on "${prev.name}" first:\n${missing.map((x) => '  - ' + x.message).join('\n')}`,
      { hint: `Apply them to "${prev.name}" first (bulwark apply --env ${prev.name}), or override with --force (audited).` },
    );
  }
  await s.ensureHistory();
  for (const x of missing) {
    await s.history.appendAudit({ action: 'force', version: x.version, details: { gate: 'promotion', requires: prev.name, reason: x.message } });
  }
  return missing.map((x) => `forced past the promotion order: ${x.message}`);
}
