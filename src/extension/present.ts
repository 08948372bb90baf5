// How statuses read in the tree, the lenses and tooltips. Pure text: no vscode import, unit-tested.
import type { EnvironmentStatus, MigrationState } from '../core';

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 36) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 60) return `${d} days ago`;
  return new Date(t).toISOString().slice(0, 10);
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

/** The icon file (media/{light,dark}/<name>.svg) of a migration's state on one environment. */
export function stateIcon(s: MigrationState | undefined): string {
  if (!s) return 'pending';
  switch (s.status) {
    case 'applied':
      return 'applied';
    case 'edited':
      return s.edit === 'semantic' ? 'edited-semantic' : 'edited';
    default:
      return s.status;
  }
}

/** One line: the status word first (`pending`, `applied …`, `failed …`), then who/when/how long or why. */
export function stateText(s: MigrationState | undefined, now = Date.now()): string {
  if (!s) return 'pending';
  const by = s.osUser ?? s.appliedBy;
  const when = [ago(s.appliedAt, now), by ? `by ${by}` : ''].filter(Boolean).join(' ');
  const took = s.durationMs !== undefined && !s.recordedOnly ? ` · ${duration(s.durationMs)}` : '';
  switch (s.status) {
    case 'applied':
      return s.recordedOnly ? `applied (recorded without running) ${when}`.trim() : `applied ${when}${took}`.trim();
    case 'pending':
      return 'pending';
    case 'out-of-order':
      return 'out of order: a later version is already applied';
    case 'failed':
      if (s.interrupted) return `failed: interrupted after ${s.statementsDone ?? 0} statement(s), needs repair`;
      return `failed: ${firstLine(s.error?.message ?? 'see history')}${s.statementsDone ? ` (after ${s.statementsDone} statement(s), needs repair)` : ''}`;
    case 'edited':
      return s.edit === 'semantic'
        ? `edited after apply (semantic change: drift) · applied ${when}`.trim()
        : `edited after apply (cosmetic) · applied ${when}`.trim();
    case 'missing':
      return `missing: recorded ${when} but the file is gone${s.reversible ? ' (its stored down section can roll it back)' : ''}`.trim();
  }
}

/** A one-character summary per environment, for a migration's row. */
export function stateGlyph(s: MigrationState | undefined): string {
  switch (s?.status) {
    case 'applied':
      return '✓';
    case 'failed':
      return '✗';
    case 'edited':
      return s.edit === 'semantic' ? '≠' : '~';
    case 'missing':
      return '?';
    case 'out-of-order':
      return '↯';
    default:
      return '○';
  }
}

const SEVERITY: Record<string, number> = { failed: 6, 'edited-semantic': 5, missing: 4, 'out-of-order': 3, edited: 2, pending: 1, applied: 0 };

/** The icon of a migration's row: the most urgent of its environments' states. */
export function worstIcon(states: (MigrationState | undefined)[]): string {
  let worst = 'applied';
  for (const s of states) {
    const icon = stateIcon(s);
    if ((SEVERITY[icon] ?? 0) > (SEVERITY[worst] ?? 0)) worst = icon;
  }
  return states.length ? worst : 'pending';
}

/** Applicable actions of a migration on one environment. */
export function actionsFor(s: MigrationState | undefined, reachable: boolean): { apply: boolean; dryRun: boolean; rollback: boolean } {
  const status = s?.status ?? 'pending';
  const notApplied = status === 'pending' || status === 'out-of-order' || (status === 'failed' && !s?.interrupted && !s?.statementsDone);
  // A missing file's migration can still be rolled back with the down section the history kept.
  const applied = status === 'applied' || status === 'edited' || status === 'missing';
  return {
    apply: reachable && notApplied,
    dryRun: reachable && notApplied,
    rollback: reachable && applied && s?.reversible === true,
  };
}

export function environmentText(st: EnvironmentStatus | undefined): string {
  if (!st) return 'checking…';
  if (!st.reachable) return `unreachable: ${firstLine(st.error ?? '')}`;
  const counts = new Map<string, number>();
  for (const m of st.migrations) counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
  const parts = [`${counts.get('applied') ?? 0} applied`, `${counts.get('pending') ?? 0} pending`];
  for (const k of ['failed', 'edited', 'missing', 'out-of-order']) if (counts.get(k)) parts.push(`${counts.get(k)} ${k === 'out-of-order' ? 'out of order' : k}`);
  if (st.lockHolder) parts.push(`locked by pid ${st.lockHolder.pid}`);
  return parts.join(' · ');
}

export function environmentIcon(st: EnvironmentStatus | undefined, isProtected: boolean): string {
  if (st && !st.reachable) return 'env-unreachable';
  if (st?.lockHolder) return 'env-locked';
  return isProtected ? 'env-protected' : 'env';
}
