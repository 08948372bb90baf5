import type { HistoryError, HistoryRow } from '../db/history';
import type { Migration } from '../migrations/parse';

/**
 * The state of one migration on one environment.
 * - `applied`: ran (or was recorded by baseline/mark-applied) and the file still has the same up section.
 * - `pending`: not applied yet, and nothing later has been applied.
 * - `out-of-order`: not applied, but a later version is: someone merged a branch whose migration sorts
 *   before what this environment already has. `apply` refuses it unless told `--allow-out-of-order`.
 * - `failed`: its last run failed (see `error`); for a transactional migration nothing of it persists and
 *   `apply` retries it; for a `transaction:false` one, `statementsDone` statements persist and `repair` must
 *   resolve it first. `interrupted` marks a `transaction:false` run whose process died mid-way.
 * - `edited`: applied, but the file's up section changed since: `edit` says whether the change is
 *   cosmetic (comments, whitespace, case, line endings) or semantic (drift).
 * - `missing`: recorded in the database, but no file has its version.
 */
export type MigrationStatus = 'applied' | 'pending' | 'out-of-order' | 'failed' | 'edited' | 'missing';

export interface MigrationState {
  version: string;
  name: string;
  status: MigrationStatus;
  /** Absent for `missing`. */
  file?: string;
  edit?: 'cosmetic' | 'semantic';
  /** Recorded by baseline / mark-applied / repair without running its SQL. */
  recordedOnly?: boolean;
  appliedAt?: string;
  appliedBy?: string;
  osUser?: string;
  hostname?: string;
  durationMs?: number;
  error?: HistoryError;
  interrupted?: boolean;
  statementsDone?: number;
  transaction?: boolean;
  reversible?: boolean;
  checksum?: string;
  normalizedChecksum?: string;
  /** Checksums stored in the history (differ from the file's when edited). */
  appliedChecksum?: string;
  appliedNormalizedChecksum?: string;
}

export function computeStates(migrations: readonly Migration[], rows: readonly HistoryRow[]): MigrationState[] {
  const byVersion = new Map(rows.map((r) => [r.version, r]));
  const files = new Set(migrations.map((m) => m.version));
  let maxDone = '';
  for (const r of rows) if ((r.status === 'applied' || r.status === 'baseline') && r.version > maxDone) maxDone = r.version;

  const out: MigrationState[] = [];
  for (const m of migrations) {
    const base: MigrationState = {
      version: m.version,
      name: m.name,
      status: 'pending',
      file: m.file,
      transaction: m.up.transaction,
      reversible: m.down !== undefined,
      checksum: m.checksum,
      normalizedChecksum: m.normalizedChecksum,
    };
    const r = byVersion.get(m.version);
    if (!r) {
      base.status = maxDone && m.version < maxDone ? 'out-of-order' : 'pending';
      out.push(base);
      continue;
    }
    Object.assign(base, fromRow(r));
    if (r.status === 'failed' || r.status === 'running') {
      base.status = 'failed';
      base.interrupted = r.status === 'running';
    } else if (r.checksum === m.checksum) {
      base.status = 'applied';
    } else {
      base.status = 'edited';
      base.edit = r.normalizedChecksum === m.normalizedChecksum ? 'cosmetic' : 'semantic';
    }
    out.push(base);
  }
  for (const r of rows) {
    if (files.has(r.version)) continue;
    // Its file is gone, but the down section kept at apply time can still roll it back.
    out.push({ version: r.version, name: r.name, status: 'missing', reversible: r.down !== null, ...fromRow(r) });
  }
  out.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  return out;
}

function fromRow(r: HistoryRow): Partial<MigrationState> {
  const s: Partial<MigrationState> = {
    appliedAt: r.appliedAt.toISOString(),
    appliedBy: r.appliedBy,
    appliedChecksum: r.checksum,
    appliedNormalizedChecksum: r.normalizedChecksum,
  };
  if (r.status === 'baseline') s.recordedOnly = true;
  if (r.osUser) s.osUser = r.osUser;
  if (r.hostname) s.hostname = r.hostname;
  if (r.durationMs !== null) s.durationMs = r.durationMs;
  if (r.error) s.error = r.error;
  if (r.statementsDone !== null) s.statementsDone = r.statementsDone;
  return s;
}

/** Applied in the sense that matters for ordering and promotion: its SQL is in the database. */
export function isInDatabase(s: MigrationState): boolean {
  return s.status === 'applied' || s.status === 'edited' || s.status === 'missing';
}
