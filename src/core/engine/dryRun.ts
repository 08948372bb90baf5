import { performance } from 'node:perf_hooks';
import { Db, pgErrorFields } from '../db/db';
import { RefusedError } from '../errors';
import { Engine } from './engine';
import { computePlan, PlanStep } from './plan';
import { computeStates } from './state';
import { errorLocation, sectionStatements } from './statements';

export interface LockTaken {
  /** Relation name (schema-qualified when not on the search_path). */
  relation: string;
  /** PostgreSQL lock mode, e.g. AccessExclusiveLock. */
  mode: string;
  /** The relation was created earlier in the rehearsal: nobody else can be blocked by this lock. */
  newObject: boolean;
}

export interface RehearsedStatement {
  line: number;
  column: number;
  sql: string;
  durationMs: number;
  command?: string;
  rowCount?: number | null;
  /** Locks this statement took that were not held before it (held until the transaction ends). */
  locks: LockTaken[];
  /** Tables (or materialized views) whose storage was rewritten by this statement (relfilenode changed). */
  rewritten: string[];
  error?: { message: string; code?: string; detail?: string; hint?: string; line: number; column: number };
}

export interface RehearsedMigration {
  version: string;
  name: string;
  file: string;
  /** False for `transaction:false` migrations (and those after a failure): they cannot be rehearsed. */
  rehearsed: boolean;
  reason?: string;
  ok: boolean;
  statements: RehearsedStatement[];
  /** The plan (statements and positions) of a migration that was not rehearsed. */
  planned?: { line: number; column: number; sql: string }[];
}

export interface DryRunResult {
  environment: string;
  connection: string;
  migrations: RehearsedMigration[];
  warnings: string[];
  ok: boolean;
}

interface Snapshot {
  /** Every user relation (tables, indexes, sequences…); `filenode` only for tables and materialized views. */
  files: Map<string, { name: string; filenode: string }>;
  locks: Set<string>;
  lockList: { oid: string; relation: string; mode: string }[];
}

// Relation OIDs below FirstNormalObjectId (16384) are the system catalogs: every statement reads them.
const SNAPSHOT_SQL = `
SELECT 'rel' AS k, c.oid::text AS oid, CASE WHEN c.relkind IN ('r', 'm') THEN c.relfilenode::text END AS fn, c.oid::regclass::text AS name, NULL AS mode
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid >= 16384 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
UNION ALL
SELECT 'lock', l.relation::text, NULL, coalesce(l.relation::regclass::text, l.relation::text), l.mode
  FROM pg_locks l
 WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation' AND l.relation >= 16384`;

async function snapshot(db: Db): Promise<Snapshot> {
  const r = await db.query<{ k: string; oid: string; fn: string | null; name: string; mode: string | null }>(SNAPSHOT_SQL);
  const files = new Map<string, { name: string; filenode: string }>();
  const locks = new Set<string>();
  const lockList: Snapshot['lockList'] = [];
  for (const x of r.rows) {
    if (x.k === 'rel') files.set(x.oid, { name: x.name, filenode: x.fn ?? '' });
    else {
      locks.add(`${x.oid}/${x.mode}`);
      lockList.push({ oid: x.oid, relation: x.name, mode: x.mode ?? '' });
    }
  }
  return { files, locks, lockList };
}

/**
 * Rehearse pending migrations on the real target inside one BEGIN … ROLLBACK, statement by statement,
 * recording timings, rows, locks taken and rewrites. Nothing persists (an audit row is written only when
 * Bulwark's tables already exist: a dry run never creates them).
 */
export async function dryRun(engine: Engine, envName: string | undefined, opts: { version?: string } = {}): Promise<DryRunResult> {
  const env = engine.environment(envName);
  const migrations = engine.validMigrations();
  return engine.withSession(env, { lock: false }, async (s) => {
    const states = computeStates(migrations, s.rows);
    const p = computePlan(migrations, states, { allowOutOfOrder: true });
    const warnings = [...p.warnings, ...p.problems.map((x) => `apply would refuse: ${x.message}`)];
    let steps: PlanStep[] = p.steps;
    if (opts.version !== undefined) {
      const m = migrations.find((x) => x.version === opts.version);
      if (!m) throw new RefusedError(`no migration has version ${opts.version}`, { hint: 'Use a version shown by `bulwark status`.' });
      const st = states.find((x) => x.version === m.version);
      if (st && (st.status === 'applied' || st.status === 'edited')) {
        throw new RefusedError(`${m.version}_${m.name} is already applied on "${env.name}"; there is nothing to rehearse`);
      }
      steps = [{ version: m.version, name: m.name, file: m.file, transaction: m.up.transaction, reason: 'pending', statements: sectionStatements(m, m.up, 'up'), sql: m.up.sql }];
    }
    const out: RehearsedMigration[] = [];
    const db = s.db;
    // Rehearsing takes the same locks as applying: never queue behind production traffic for long.
    const lockTimeout = env.lockTimeoutMs ?? 5000;
    let stopped = false;
    let before: Snapshot | undefined;
    let initial: Set<string> | undefined;
    await db.query(`BEGIN; SET LOCAL lock_timeout = ${lockTimeout}${env.statementTimeoutMs !== undefined ? `; SET LOCAL statement_timeout = ${env.statementTimeoutMs}` : ''}`);
    try {
      before = await snapshot(db);
      initial = new Set(before.files.keys());
      for (const step of steps) {
        const m = migrations.find((x) => x.version === step.version)!;
        const planned = step.statements.map((x) => ({ line: x.line, column: x.column, sql: x.sql }));
        if (stopped) {
          out.push({ version: m.version, name: m.name, file: m.file, rehearsed: false, reason: 'not rehearsed: an earlier migration failed', ok: false, statements: [], planned });
          continue;
        }
        if (!step.transaction) {
          out.push({
            version: m.version, name: m.name, file: m.file, rehearsed: false, ok: true, statements: [], planned,
            reason: 'runs outside a transaction (transaction:false), so it cannot be rehearsed inside BEGIN … ROLLBACK; its plan is shown instead. Later migrations were rehearsed without it.',
          });
          continue;
        }
        const rm: RehearsedMigration = { version: m.version, name: m.name, file: m.file, rehearsed: true, ok: true, statements: [] };
        out.push(rm);
        for (const st of step.statements) {
          const t0 = performance.now();
          try {
            const r = await db.query(st.sql);
            const durationMs = performance.now() - t0;
            const after = await snapshot(db);
            const rewritten: string[] = [];
            for (const [oid, f] of after.files) {
              const old = before.files.get(oid);
              if (old && f.filenode && old.filenode !== f.filenode && initial.has(oid)) rewritten.push(f.name);
            }
            const locks = after.lockList
              .filter((l) => !before!.locks.has(`${l.oid}/${l.mode}`))
              .map((l) => ({ relation: l.relation, mode: l.mode, newObject: !initial!.has(l.oid) }));
            rm.statements.push({ line: st.line, column: st.column, sql: st.sql, durationMs, command: r.command, rowCount: r.rowCount, locks, rewritten });
            before = after;
          } catch (e) {
            const f = pgErrorFields(e);
            const loc = errorLocation(m, st, f?.position);
            rm.statements.push({
              line: st.line, column: st.column, sql: st.sql, durationMs: performance.now() - t0, locks: [], rewritten: [],
              error: { message: engine.redactor.redact(f?.message ?? String(e)), ...(f?.code ? { code: f.code } : {}), ...(f?.detail ? { detail: f.detail } : {}), ...(f?.hint ? { hint: f.hint } : {}), ...loc },
            });
            rm.ok = false;
            stopped = true;
            break;
          }
        }
      }
    } finally {
      await db.query('ROLLBACK').catch(() => {});
    }
    const ok = out.every((x) => x.ok);
    if (s.historyExists) {
      await s.history
        .appendAudit({ action: 'dry-run', details: { ok, migrations: out.map((x) => ({ version: x.version, rehearsed: x.rehearsed, ok: x.ok })) } })
        .catch((e) => engine.logger.warn(`could not write the dry-run audit row: ${e instanceof Error ? e.message : e}`));
    }
    return { environment: env.name, connection: engine.display(env), migrations: out, warnings, ok };
  });
}
