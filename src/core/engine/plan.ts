import { BulwarkError } from '../errors';
import type { Migration } from '../migrations/parse';
import { sectionStatements, PlannedStatement } from './statements';
import type { MigrationState } from './state';

export interface PlanStep {
  version: string;
  name: string;
  file: string;
  /** False when the section runs outside a transaction (`transaction:false`). */
  transaction: boolean;
  /** Why it is in the plan. */
  reason: 'pending' | 'retry-failed' | 'out-of-order';
  statements: PlannedStatement[];
  /** The section's SQL as written. */
  sql: string;
}

export interface PlanProblem {
  version?: string;
  file?: string;
  line?: number;
  column?: number;
  message: string;
  hint?: string;
  /** Set when the problem is a broken file (bad input rather than a safety refusal). */
  fileError?: BulwarkError;
}

export interface PlanResult {
  steps: PlanStep[];
  /** Reasons `apply` refuses to run this plan. */
  problems: PlanProblem[];
  /** Things worth knowing that do not stop `apply`. */
  warnings: string[];
}

export interface PlanOptions {
  /** Apply up to and including this version. */
  to?: string;
  allowOutOfOrder?: boolean;
}

/** What `apply` would run, in order, and why it would refuse. Pure: the states come from the caller. */
export function computePlan(migrations: readonly Migration[], states: readonly MigrationState[], opts: PlanOptions = {}): PlanResult {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  if (opts.to !== undefined && !byVersion.has(opts.to) && !states.some((s) => s.version === opts.to)) {
    problems.push({ message: `--to ${opts.to}: there is no migration with that version`, hint: 'Use a version shown by `bulwark status`.' });
  }
  const steps: PlanStep[] = [];
  const done = new Set(states.filter((s) => s.status === 'applied' || s.status === 'edited' || s.status === 'missing').map((s) => s.version));
  for (const s of states) {
    if (s.status === 'edited' && s.edit === 'semantic') {
      problems.push({
        version: s.version,
        file: s.file,
        message: `${s.version}_${s.name} was changed after it was applied (its SQL differs from what ran)`,
        hint: `Revert the edit and put the change in a new migration, or, if the database already matches the new SQL, record it with \`bulwark repair ${s.version} --accept-checksum\`.`,
      });
    } else if (s.status === 'edited') {
      warnings.push(`${s.version}_${s.name} was edited after it was applied, cosmetically only (comments, whitespace or case)`);
    } else if (s.status === 'missing') {
      warnings.push(`${s.version}_${s.name} is applied but its file is missing from the migrations folder`);
    } else if (s.status === 'failed' && s.transaction === false) {
      problems.push({
        version: s.version,
        file: s.file,
        message: `${s.version}_${s.name} failed outside a transaction${s.interrupted ? ' (its run was interrupted)' : ''}: ${s.statementsDone ?? 0} of its statements persist`,
        hint: `Check the database, then record what is true: \`bulwark repair ${s.version} --resolve applied\` (finish it by hand first) or \`--resolve rolled-back\` (undo what ran first).`,
      });
    }
  }
  for (const s of states) {
    if (opts.to !== undefined && s.version > opts.to) break;
    const m = byVersion.get(s.version);
    if (!m) continue;
    let reason: PlanStep['reason'];
    if (s.status === 'pending') reason = 'pending';
    else if (s.status === 'out-of-order') reason = 'out-of-order';
    else if (s.status === 'failed' && s.transaction !== false) reason = 'retry-failed';
    else continue;
    if (reason === 'out-of-order' && !opts.allowOutOfOrder) {
      problems.push({
        version: s.version,
        file: s.file,
        message: `${s.version}_${s.name} is pending but sorts before migrations already applied here (out of order)`,
        hint: 'If it is independent of the later ones, apply it with --allow-out-of-order; otherwise give it a newer version (rename the file).',
      });
    }
    for (const r of m.meta.requires) {
      if (!done.has(r) && !steps.some((x) => x.version === r)) {
        problems.push({ version: s.version, file: m.file, message: `${s.version}_${s.name} requires ${r}, which is neither applied nor in this plan` });
      }
    }
    try {
      steps.push({ version: m.version, name: m.name, file: m.file, transaction: m.up.transaction, reason, statements: sectionStatements(m, m.up, 'up'), sql: m.up.sql });
    } catch (e) {
      if (!(e instanceof BulwarkError)) throw e;
      problems.push({ version: m.version, file: m.file, line: e.location?.line, column: e.location?.column, message: e.message, hint: e.hint, fileError: e });
    }
  }
  return { steps, problems, warnings };
}
