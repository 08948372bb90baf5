import { Engine, EnvironmentStatus } from './engine';
import type { MigrationState } from './state';

export interface Finding {
  severity: 'error' | 'warning';
  kind: 'file' | 'edited' | 'missing' | 'out-of-order' | 'failed' | 'unreachable' | 'promotion' | 'checksum-mismatch';
  message: string;
  environment?: string;
  version?: string;
  file?: string;
  line?: number;
  column?: number;
}

export interface VerifyResult {
  environments: string[];
  findings: Finding[];
  /** False when any finding is an error. */
  ok: boolean;
}

/** Findings about one environment's state: semantic edits, failures, missing files, out-of-order files. */
export function stateFindings(st: EnvironmentStatus): Finding[] {
  const out: Finding[] = [];
  if (!st.reachable) return [{ severity: 'error', kind: 'unreachable', environment: st.environment, message: `cannot reach "${st.environment}": ${st.error}` }];
  for (const m of st.migrations) {
    const id = `${m.version}_${m.name}`;
    const base = { environment: st.environment, version: m.version, ...(m.file ? { file: m.file } : {}) };
    if (m.status === 'edited') {
      out.push({
        ...base, kind: 'edited', severity: m.edit === 'semantic' ? 'error' : 'warning',
        message: m.edit === 'semantic'
          ? `${id} changed after it was applied on "${st.environment}" (drift: its SQL differs from what ran)`
          : `${id} changed after it was applied on "${st.environment}", cosmetically only (comments, whitespace, case)`,
      });
    } else if (m.status === 'missing') {
      out.push({ ...base, kind: 'missing', severity: 'error', message: `${id} is applied on "${st.environment}" but its file is missing` });
    } else if (m.status === 'out-of-order') {
      out.push({ ...base, kind: 'out-of-order', severity: 'error', message: `${id} is pending on "${st.environment}" but sorts before migrations already applied there` });
    } else if (m.status === 'failed') {
      out.push({ ...base, kind: 'failed', severity: 'error', message: `${id} ${m.interrupted ? 'was interrupted' : 'failed'} on "${st.environment}"${m.error ? ': ' + m.error.message : ''}` });
    }
  }
  return out;
}

/** Checksums, missing files, out-of-order files and failures on one environment or all of them. */
export async function verify(engine: Engine, envName?: string): Promise<VerifyResult> {
  const set = engine.migrations();
  const findings: Finding[] = set.errors.map((e) => ({
    severity: 'error' as const, kind: 'file' as const, message: e.message,
    ...(e.location ? { file: e.location.file, line: e.location.line, column: e.location.column } : {}),
  }));
  const envs = envName !== undefined ? [engine.environment(envName)] : engine.config.environments;
  const statuses = await Promise.all(envs.map((env) => engine.statusOf(env, set.migrations)));
  for (const st of statuses) findings.push(...stateFindings(st));
  return { environments: envs.map((e) => e.name), findings, ok: !findings.some((f) => f.severity === 'error') };
}

export interface Transition {
  from: string;
  to: string;
  /** Applied on `from` with the file's SQL, not yet on `to`. */
  ready: { version: string; name: string }[];
}

export interface ConsistencyReport {
  environments: EnvironmentStatus[];
  transitions: Transition[];
  mismatches: Finding[];
  ok: boolean;
}

const done = (m: MigrationState | undefined) => m !== undefined && (m.status === 'applied' || m.status === 'edited' || m.status === 'missing');

/**
 * The migration × environment matrix, what is ready to promote along the promotion order, and every
 * inconsistency: applied downstream but not upstream, different SQL on two environments, failures, drift.
 */
export async function consistency(engine: Engine): Promise<ConsistencyReport> {
  const environments = await engine.statusAll();
  const byEnv = new Map(environments.map((e) => [e.environment, new Map(e.migrations.map((m) => [m.version, m]))]));
  const mismatches: Finding[] = environments.flatMap(stateFindings);
  const transitions: Transition[] = [];
  for (const env of engine.config.environments) {
    if (!env.requires) continue;
    const from = byEnv.get(env.requires)!;
    const to = byEnv.get(env.name)!;
    const fromSt = environments.find((e) => e.environment === env.requires)!;
    const toSt = environments.find((e) => e.environment === env.name)!;
    if (!fromSt.reachable || !toSt.reachable) continue;
    const ready: Transition['ready'] = [];
    for (const [version, m] of from) {
      const there = to.get(version);
      if (m.status === 'applied' && (!there || there.status === 'pending' || there.status === 'out-of-order')) ready.push({ version, name: m.name });
    }
    for (const [version, m] of to) {
      if (done(m) && !done(from.get(version))) {
        mismatches.push({ severity: 'error', kind: 'promotion', environment: env.name, version, message: `${version}_${m.name} is applied on "${env.name}" but not on "${env.requires}", which comes before it` });
      }
    }
    transitions.push({ from: env.requires, to: env.name, ready });
  }
  // The same migration applied with different SQL on two environments.
  const versions = new Set(environments.flatMap((e) => e.migrations.map((m) => m.version)));
  for (const v of versions) {
    const applied = environments
      .map((e) => ({ env: e.environment, m: byEnv.get(e.environment)!.get(v) }))
      .filter((x) => done(x.m) && x.m!.appliedNormalizedChecksum);
    const distinct = new Set(applied.map((x) => x.m!.appliedNormalizedChecksum));
    if (distinct.size > 1) {
      mismatches.push({
        severity: 'error', kind: 'checksum-mismatch', version: v,
        message: `${v}_${applied[0].m!.name} was applied with different SQL on ${applied.map((x) => `"${x.env}" (${x.m!.appliedNormalizedChecksum!.slice(0, 12)})`).join(', ')}`,
      });
    }
  }
  return { environments, transitions, mismatches, ok: !mismatches.some((f) => f.severity === 'error') };
}
