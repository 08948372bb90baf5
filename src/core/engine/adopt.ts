import { quoteLiteral } from '../db/db';
import { describeHolder, LockHolder, lockHolder, lockKey } from '../db/lock';
import { RefusedError } from '../errors';
import type { Migration } from '../migrations/parse';
import { Engine, Session } from './engine';
import { computeStates } from './state';

/**
 * Bookkeeping operations: adopt an existing database (baseline), record one migration without running it
 * (mark-applied), or resolve a failed row / accept an edit (repair). They only ever write Bulwark's own
 * tables, never drop data, and every change gets an audit row.
 */
export interface BookkeepingResult {
  environment: string;
  changed: { version: string; name: string; action: string }[];
  message: string;
}

function target(migrations: Migration[], version: string): Migration {
  const m = migrations.find((x) => x.version === version);
  if (!m) throw new RefusedError(`no migration file has version ${version}`, { hint: 'Use a version shown by `bulwark status`.' });
  return m;
}

function recordSql(s: Session, m: Migration): string {
  return s.history.upsertSql({ version: m.version, name: m.name, checksum: m.checksum, normalizedChecksum: m.normalizedChecksum, status: 'baseline', transactional: m.up.transaction, down: m.down ? { sql: m.down.sql, transaction: m.down.transaction } : null });
}

/** Record every migration up to and including `version` as present, without running it. */
export async function baseline(engine: Engine, envName: string | undefined, version: string, opts: { confirm?: string } = {}): Promise<BookkeepingResult> {
  const env = engine.environment(envName);
  const migrations = engine.validMigrations();
  target(migrations, version);
  engine.checkConfirmation(env, opts.confirm, 'baseline');
  return engine.withSession(env, { lock: true }, async (s) => {
    const known = new Set(s.rows.map((r) => r.version));
    const todo = migrations.filter((m) => m.version <= version && !known.has(m.version));
    const failed = s.rows.filter((r) => r.version <= version && (r.status === 'failed' || r.status === 'running'));
    if (failed.length) {
      throw new RefusedError(`baseline would hide failed migrations: ${failed.map((r) => r.version).join(', ')}`, { hint: 'Resolve them with `bulwark repair VERSION --resolve …` first.' });
    }
    if (todo.length) {
      await s.ensureHistory();
      const sql = todo.map((m) => `${recordSql(s, m)};\n${s.history.auditSql({ action: 'baseline', version: m.version, name: m.name, details: { baseline: version, checksum: m.checksum } })}`);
      await s.db.query(`BEGIN;\n${sql.join(';\n')};\nCOMMIT`);
    }
    return {
      environment: env.name,
      changed: todo.map((m) => ({ version: m.version, name: m.name, action: 'recorded as applied (baseline)' })),
      message: todo.length ? `recorded ${todo.length} migration(s) up to ${version} as applied on "${env.name}" without running them` : `nothing to record: every migration up to ${version} is already recorded on "${env.name}"`,
    };
  });
}

export async function markApplied(engine: Engine, envName: string | undefined, version: string, opts: { confirm?: string } = {}): Promise<BookkeepingResult> {
  const env = engine.environment(envName);
  const migrations = engine.validMigrations();
  const m = target(migrations, version);
  engine.checkConfirmation(env, opts.confirm, 'mark-applied');
  return engine.withSession(env, { lock: true }, async (s) => {
    const row = s.rows.find((r) => r.version === version);
    if (row && (row.status === 'applied' || row.status === 'baseline')) {
      throw new RefusedError(`${version}_${m.name} is already recorded as applied on "${env.name}"`);
    }
    if (row) throw new RefusedError(`${version}_${m.name} is recorded as failed on "${env.name}"`, { hint: `Use \`bulwark repair ${version} --resolve applied\`.` });
    await s.ensureHistory();
    await s.db.query(`BEGIN;\n${recordSql(s, m)};\n${s.history.auditSql({ action: 'mark-applied', version, name: m.name, details: { checksum: m.checksum } })};\nCOMMIT`);
    return { environment: env.name, changed: [{ version, name: m.name, action: 'recorded as applied without running' }], message: `recorded ${version}_${m.name} as applied on "${env.name}" without running it` };
  });
}

export interface RepairOptions {
  confirm?: string;
  /** For a failed row: what is true now. */
  resolve?: 'applied' | 'rolled-back';
  /** For an edited migration: record the file's current checksums. */
  acceptChecksum?: boolean;
}

export interface RepairDiagnosis {
  environment: string;
  problems: { version: string; name: string; status: string; explanation: string; commands: string[] }[];
  /** Indexes left INVALID (typically by a failed CREATE INDEX CONCURRENTLY). */
  invalidIndexes: string[];
}

/** Without a resolution: explain what needs repair. With one: apply it to Bulwark's tables, audited. */
export async function repair(engine: Engine, envName: string | undefined, version: string | undefined, opts: RepairOptions = {}): Promise<BookkeepingResult | RepairDiagnosis> {
  const env = engine.environment(envName);
  const set = engine.migrations();
  if (version === undefined) {
    return engine.withSession(env, { lock: false }, async (s) => {
      const states = computeStates(set.migrations, s.rows);
      const problems: RepairDiagnosis['problems'] = [];
      for (const st of states) {
        const id = `${st.version}`;
        if (st.status === 'failed') {
          const partial = st.transaction === false;
          problems.push({
            version: st.version, name: st.name, status: st.interrupted ? 'interrupted' : 'failed',
            explanation: partial
              ? `ran outside a transaction and ${st.interrupted ? 'was interrupted' : 'failed'} after ${st.interrupted ? 'at least ' : ''}${st.statementsDone ?? 0} statement(s); those persist${st.interrupted ? ' (the statement running when the process died may have completed too: check the database)' : ''}. ${st.error ? 'Error: ' + st.error.message : ''}`.trim()
              : `failed and was rolled back; nothing of it persists. ${st.error ? 'Error: ' + st.error.message : ''} Fix the file and run apply again, or:`.trim(),
            commands: [`bulwark repair ${id} --resolve applied`, `bulwark repair ${id} --resolve rolled-back`],
          });
        } else if (st.status === 'edited') {
          problems.push({
            version: st.version, name: st.name, status: `edited (${st.edit})`,
            explanation: st.edit === 'cosmetic' ? 'the file changed after apply, only in comments/whitespace/case' : 'the file\'s SQL changed after apply: the database ran the old SQL',
            commands: [`bulwark repair ${id} --accept-checksum`],
          });
        } else if (st.status === 'missing') {
          problems.push({ version: st.version, name: st.name, status: 'missing', explanation: 'applied here but no file has this version (another branch?)', commands: [] });
        }
      }
      const inv = await s.db.query<{ name: string }>(
        `SELECT i.indexrelid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE NOT i.indisvalid AND c.oid >= 16384 ORDER BY 1`,
      );
      return { environment: env.name, problems, invalidIndexes: inv.rows.map((r) => r.name) };
    });
  }
  if (!opts.resolve && !opts.acceptChecksum) {
    throw new RefusedError('repair VERSION needs --resolve applied|rolled-back or --accept-checksum', { hint: 'Run `bulwark repair` without a version to see what needs repair.' });
  }
  engine.checkConfirmation(env, opts.confirm, 'repair');
  return engine.withSession(env, { lock: true }, async (s) => {
    const row = s.rows.find((r) => r.version === version);
    if (!row) throw new RefusedError(`${version} has no history row on "${env.name}"; nothing to repair`);
    const m = set.migrations.find((x) => x.version === version);
    const audit = (action: string, details: Record<string, unknown>) =>
      s.history.auditSql({ action: 'repair', version, name: row.name, details: { resolution: action, previousStatus: row.status, previousError: row.error, ...details } });
    if (opts.acceptChecksum) {
      if (!m) throw new RefusedError(`${version} has no file, so there is no checksum to accept`);
      if (row.status !== 'applied' && row.status !== 'baseline') throw new RefusedError(`${version} is ${row.status}, not applied: --accept-checksum is for applied migrations whose file was edited`);
      await s.db.query(`BEGIN;
UPDATE ${s.history.table} SET checksum = ${quoteLiteral(m.checksum)}, normalized_checksum = ${quoteLiteral(m.normalizedChecksum)} WHERE version = ${quoteLiteral(version)};
${audit('accept-checksum', { oldChecksum: row.checksum, newChecksum: m.checksum })};
COMMIT`);
      return { environment: env.name, changed: [{ version, name: row.name, action: 'accepted the edited file' }], message: `recorded the current checksum of ${version}_${row.name} on "${env.name}"` };
    }
    if (row.status !== 'failed' && row.status !== 'running') {
      throw new RefusedError(`${version}_${row.name} is ${row.status} on "${env.name}", not failed: --resolve is for failed migrations`, { hint: 'To undo an applied migration, use `bulwark rollback`.' });
    }
    if (opts.resolve === 'applied') {
      if (!m) throw new RefusedError(`${version} has no file; cannot record it as applied`);
      await s.db.query(`BEGIN;
UPDATE ${s.history.table} SET status = 'baseline', error = NULL, checksum = ${quoteLiteral(m.checksum)}, normalized_checksum = ${quoteLiteral(m.normalizedChecksum)} WHERE version = ${quoteLiteral(version)};
${audit('applied', {})};
COMMIT`);
      return { environment: env.name, changed: [{ version, name: row.name, action: 'resolved as applied' }], message: `recorded ${version}_${row.name} as applied on "${env.name}"` };
    }
    await s.db.query(`BEGIN;
${s.history.deleteSql(version)};
${audit('rolled-back', {})};
COMMIT`);
    return { environment: env.name, changed: [{ version, name: row.name, action: 'resolved as rolled back (pending again)' }], message: `${version}_${row.name} is pending again on "${env.name}"` };
  });
}

/** The audit trail of one migration (or all) on an environment, oldest first. */
export async function history(engine: Engine, envName: string | undefined, version?: string): Promise<Array<Record<string, unknown>>> {
  const env = engine.environment(envName);
  return engine.withSession(env, { lock: false }, async (s) => (s.historyExists ? s.history.auditRows(version) : []));
}

export interface UnlockResult {
  environment: string;
  /** The session that held the migration lock and was ended. */
  terminated: LockHolder;
  message: string;
}

/**
 * End the session that holds an environment's migration lock (a run whose process died while its connection
 * stayed open, a forgotten psql): `pg_terminate_backend`, only for the pid the caller saw holding it (so a new,
 * live run is never ended by mistake), then wait for the lock to be free and audit what was ended. A protected
 * environment needs its name as confirmation. The ended session's transaction rolls back, like any crash.
 */
export async function unlock(engine: Engine, envName: string | undefined, opts: { pid: number; confirm?: string }): Promise<UnlockResult> {
  const env = engine.environment(envName);
  if (env.embedded) throw new RefusedError(`"${env.name}" is the embedded database: no other session can hold its lock`);
  engine.checkConfirmation(env, opts.confirm, 'unlock');
  const key = lockKey(engine.historyKey());
  const holder = await engine.withSession(env, { lock: false }, async (s) => {
    const h = await lockHolder(s.db, key);
    if (!h) throw new RefusedError(`nobody holds the migration lock on "${env.name}" now: nothing to end`);
    if (h.pid !== opts.pid) {
      throw new RefusedError(`pid ${opts.pid} does not hold the migration lock on "${env.name}"; ${describeHolder(h)} does`, {
        hint: `Look again (\`bulwark status --env ${env.name}\`) and pass the pid that holds it now, if it is really stale.`,
      });
    }
    const r = await s.db.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [h.pid]);
    if (!r.rows[0]?.ok) throw new RefusedError(`could not end pid ${h.pid} on "${env.name}" (it may have just finished)`);
    // The lock goes when the server has cleaned the session up: wait for it, with a deadline.
    const deadline = Date.now() + 10_000;
    while ((await lockHolder(s.db, key))?.pid === h.pid) {
      if (Date.now() > deadline) throw new RefusedError(`pid ${h.pid} was told to end but still holds the lock on "${env.name}" after 10 s`);
      await s.db.query('SELECT pg_sleep(0.05)');
    }
    return h;
  });
  // Audit it holding the lock ourselves: the lock is free now, and the audit needs the writers' path.
  await engine.withSession(env, { lock: true }, async (s) => {
    await s.ensureHistory();
    await s.history.appendAudit({
      action: 'unlock',
      details: {
        terminatedPid: holder.pid,
        holderUser: holder.user,
        holderApplication: holder.application,
        holderHost: holder.clientHost,
        holderSince: holder.since?.toISOString() ?? null,
      },
    });
  });
  engine.logger.warn(`[${env.name}] ended the session holding the migration lock: ${describeHolder(holder)}`);
  return { environment: env.name, terminated: holder, message: `ended ${describeHolder(holder)}; the migration lock on "${env.name}" is free` };
}
