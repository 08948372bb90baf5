import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Db, isConnectionLost, pgErrorFields, PgErrorFields } from '../db/db';
import { diff, Fingerprint, fingerprint, SchemaDifference } from '../db/fingerprint';
import { MigrationFileError } from '../errors';
import type { Migration } from '../migrations/parse';
import { splitStatements } from '../sql/split';
import { errorLocation, PlannedStatement, sectionStatements } from './statements';

/**
 * Shadow replay (`bulwark verify --replay`): every migration is run on an empty throwaway database — the
 * shadow — to prove that its up section works from scratch and that its down section really undoes it.
 *
 * Order of the checks: one migration at a time, right after its up: up_i, fingerprint, down_i,
 * fingerprint (must equal the fingerprint taken before up_i), up_i again, fingerprint (must equal the one
 * after the first up_i), then migration i+1. Compared with running every up and then the downs from the
 * last one backwards, this checks each down against exactly the schema that existed before its up (so a
 * difference is blamed on that one migration, not on the sum of the downs after it), it matches how
 * `rollback` is used (the migration applied last is rolled back, then usually re-applied once fixed), and
 * one lossy down does not make every earlier comparison fail. What it does not exercise is a chain of
 * several downs in a row; each down runs on the schema its own up produced, which is what a rollback of
 * the last migration sees.
 *
 * The first up that fails is reported at its exact file position and the replay stops there: the
 * migrations after it are not replayed (they are listed as such). A failed or lossy down, or an up that
 * cannot run again after its down, is reported too, and the replay goes on: when the shadow no longer
 * holds the schema the up produced, a fresh shadow is opened and the ups so far are applied again.
 *
 * Statements a shadow cannot run faithfully are skipped with a reason, and the migration is
 * "replayed with skips": roles, tablespaces, databases, ALTER SYSTEM, subscriptions and the like are
 * never run (they are cluster-wide, or reach outside the database); a missing role, a missing extension
 * or library file, a missing privilege of the shadow's user, or another database name make a statement
 * skipped rather than failed. Each statement of a transactional section runs under a savepoint, so a
 * skipped statement does not abort its transaction. A statement that then fails for want of an object a
 * skipped statement would have created (undefined table, type, function…) is reported as "could not
 * verify", not as a failure.
 */

export type ReplayStatus = 'replayed' | 'replayed-with-skips' | 'failed' | 'not-replayed' | 'down-mismatch' | 'down-failed' | 'reup-failed';
export type ReplayPhase = 'up' | 'down' | 'reup';

export interface SkippedStatement {
  phase: ReplayPhase;
  file: string;
  line: number;
  column: number;
  /** The statement (shortened when long). */
  statement: string;
  reason: string;
  code?: string;
  /** For a statement that failed because a skipped one did not run: where that one is. */
  dependsOn?: { file: string; line: number; column: number };
}

export interface ReplayProblem {
  kind: 'up-failed' | 'down-failed' | 'down-mismatch' | 'reup-failed' | 'reup-mismatch';
  message: string;
  file: string;
  line: number;
  column: number;
  code?: string;
  detail?: string;
  hint?: string;
  statement?: string;
  /** For down-mismatch and reup-mismatch: every difference, in words. */
  differences?: SchemaDifference[];
}

export interface MigrationReplay {
  version: string;
  name: string;
  file: string;
  status: ReplayStatus;
  /** False when the migration has no down section: only its up was replayed. */
  reversible: boolean;
  problems: ReplayProblem[];
  skipped: SkippedStatement[];
  /** For not-replayed: why. */
  reason?: string;
  durationMs?: number;
}

export interface ReplayResult {
  /** False when an up failed, a down failed or does not restore the schema, or an up cannot run again after its down. */
  ok: boolean;
  migrations: MigrationReplay[];
  summary: Record<ReplayStatus, number> & { total: number; irreversible: number; skippedStatements: number };
  /** server_version_num of the shadow. */
  shadowServerVersion?: number;
  /** sha256 of the schema the replay ended with (after the last replayed migration). */
  finalFingerprint?: string;
  cancelled?: boolean;
}

export type ReplayProgress =
  | { kind: 'migration'; version: string; name: string; index: number; total: number }
  | { kind: 'phase'; phase: ReplayPhase; version: string; name: string }
  | { kind: 'rebuild'; upTo: string; reason: string };

export interface ReplayOptions {
  onProgress?: (e: ReplayProgress) => void;
  /** Bulwark's history schema, left out of fingerprints (default "bulwark"). */
  historySchema?: string;
  /** Stop at the next statement: the rest is reported as not replayed. */
  signal?: AbortSignal;
}

const MAX_SHOWN = 300;
const short = (sql: string) => (sql.length > MAX_SHOWN ? sql.slice(0, MAX_SHOWN) + '…' : sql);

interface SkipRecord {
  sql: string;
  keywords: string[];
  shown: SkippedStatement;
}

type SectionOutcome =
  | { ok: true; skipped: SkippedStatement[] }
  | { ok: false; skipped: SkippedStatement[]; problem: Omit<ReplayProblem, 'kind'> };

class Cancelled extends Error {}

function keywordsOf(sql: string): string[] {
  return splitStatements(sql).statements[0]?.keywords ?? [];
}

/** Without string literals and quoted identifiers, to look for keywords. */
function unquoted(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, ' ');
}

/** Statements never run on a shadow: they act on the cluster or outside the database. */
export function shadowSkipReason(sql: string, keywords = keywordsOf(sql)): string | undefined {
  const [a, b, c] = keywords;
  const ddl = a === 'CREATE' || a === 'ALTER' || a === 'DROP';
  if (ddl && (b === 'ROLE' || b === 'USER' || b === 'GROUP') && c !== 'MAPPING') return 'roles belong to the whole server: a shadow database does not create, change or drop them';
  if (ddl && b === 'TABLESPACE') return 'tablespaces are directories of the server: not replayed on a shadow';
  if (ddl && b === 'DATABASE') return 'databases belong to the whole server: not replayed on a shadow database';
  if (a === 'ALTER' && b === 'SYSTEM') return 'ALTER SYSTEM changes the server configuration: not replayed on a shadow';
  if (ddl && b === 'SUBSCRIPTION') return 'a subscription connects to another server: not replayed on a shadow';
  if (a === 'IMPORT' && b === 'FOREIGN') return 'IMPORT FOREIGN SCHEMA reads another server: not replayed on a shadow';
  if (a === 'SECURITY' && b === 'LABEL') return 'security labels need a label provider loaded on the server: not replayed on a shadow';
  if ((a === 'SET' || a === 'RESET') && (b === 'ROLE' || (b === 'SESSION' && c === 'AUTHORIZATION') || ((b === 'LOCAL' || b === 'SESSION') && c === 'ROLE'))) {
    return 'the shadow runs every statement as its own user: changing role is not replayed';
  }
  if (a === 'GRANT' || a === 'REVOKE') {
    const text = unquoted(sql);
    if (!/\bON\b/i.test(text)) return 'role membership belongs to the whole server: not replayed on a shadow';
    const on = /\bON\s+(DATABASE|TABLESPACE|PARAMETER)\b/i.exec(text);
    if (on) return `privileges on a ${on[1].toLowerCase()} belong to the whole server: not replayed on a shadow`;
  }
  if (a === 'COMMENT' && b === 'ON' && (c === 'DATABASE' || c === 'ROLE' || c === 'TABLESPACE')) return `a comment on a ${c.toLowerCase()} belongs to the whole server: not replayed on a shadow`;
  if (a === 'COPY' && /\bPROGRAM\b/i.test(unquoted(sql))) return 'COPY … PROGRAM runs a program on the server: not replayed on a shadow';
  return undefined;
}

/** Errors that say the shadow lacks something the real database has (a role, a file, a privilege…), not that the migration is wrong. */
export function environmentReason(f: PgErrorFields | undefined, keywords: string[], sql = ''): string | undefined {
  if (!f?.code) return undefined;
  const msg = f.message;
  const isExtension = (keywords[0] === 'CREATE' || keywords[0] === 'ALTER') && keywords[1] === 'EXTENSION';
  switch (f.code) {
    case '42704': {
      const m = /^(role|tablespace) "[^"]*" does not exist/.exec(msg);
      if (m) return `${m[0]} on the shadow (${m[1] === 'role' ? 'roles are not replayed' : 'tablespaces are not replayed'})`;
      // A server that answers in another language (lc_messages could not be set): go by the statement.
      if (!/does not exist/.test(msg) && /\bOWNER\s+TO\b|\bAUTHORIZATION\b|\bTABLESPACE\b|^\s*(GRANT|REVOKE|REASSIGN|DROP\s+OWNED|ALTER\s+DEFAULT\s+PRIVILEGES)\b|^\s*CREATE\s+POLICY\b[\s\S]*\bTO\b/i.test(unquoted(sql))) {
        return `a role or tablespace it names is not on the shadow: ${msg}`;
      }
      return undefined;
    }
    case '58P01':
    case '58P02':
      return `a file it needs is missing on the shadow: ${msg}`;
    case '42501':
      return `the shadow's user lacks a privilege: ${msg}`;
    case '3D000':
      return `the database is not there on the shadow: ${msg}`;
    case '0A000':
      if (isExtension || keywords[0] === 'LOAD' || /extension "[^"]*" is not available|could not (load|access file)/.test(msg)) return `not available on the shadow: ${msg}`;
      return undefined;
    case '22023':
      if (/^role "[^"]*" does not exist/.test(msg)) return `${msg} on the shadow (roles are not replayed)`;
      return undefined;
    default:
      return undefined;
  }
}

const UNDEFINED = new Set(['42704', '42P01', '42883', '3F000', '42703', '42P02', '42809']);
const DUPLICATE = new Set(['42P07', '42710', '42723', '42701', '42P06']);

/**
 * The object an "undefined …"/"already exists" error is about: the first quoted name (`column "x" of
 * relation "t" does not exist` → x, not t) or the function of `function f(integer) does not exist`.
 */
function missingName(message: string): string | undefined {
  const fn = /^(?:function|procedure) ([^\s(]+)\(/.exec(message);
  const q = /"((?:[^"]|"")+)"/.exec(message);
  const name = fn ? fn[1] : q ? q[1].replace(/""/g, '"') : undefined;
  return name?.split('.').pop() || undefined;
}

function mentions(sql: string, name: string): boolean {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_$])${esc}($|[^A-Za-z0-9_$])`, 'i').test(sql);
}

/** The skipped statement a failure most likely comes from, when the failure is about a missing (or left-over) object. */
function skippedCause(f: PgErrorFields | undefined, skips: SkipRecord[]): SkipRecord | undefined {
  if (!f?.code || skips.length === 0) return undefined;
  if (!UNDEFINED.has(f.code) && !DUPLICATE.has(f.code)) return undefined;
  const name = missingName(f.message);
  if (name) for (let k = skips.length - 1; k >= 0; k--) if (mentions(skips[k].sql, name)) return skips[k];
  // An extension creates functions, types, operators… that its statement does not name. Never columns,
  // tables or schemas here: a typo there must stay a failure.
  if (f.code === '42883' || (f.code === '42704' && !/^(role|tablespace|policy|trigger|constraint|index) /.test(f.message))) {
    for (let k = skips.length - 1; k >= 0; k--) if (skips[k].keywords[0] === 'CREATE' && skips[k].keywords[1] === 'EXTENSION') return skips[k];
  }
  return undefined;
}

/** One shadow session and what was skipped on it so far. */
interface Shadow {
  db: Db;
  skips: SkipRecord[];
}

const PROBLEM_STATUS: Record<ReplayProblem['kind'], ReplayStatus> = {
  'up-failed': 'failed', 'down-failed': 'down-failed', 'down-mismatch': 'down-mismatch', 'reup-failed': 'reup-failed', 'reup-mismatch': 'reup-failed',
};

/** Replay `migrations` on empty shadow databases opened by `openShadow` (see the top of this file). */
export async function replay(migrations: readonly Migration[], openShadow: () => Promise<Db>, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const sorted = [...migrations].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const exclude = [opts.historySchema ?? 'bulwark'];
  const progress = opts.onProgress ?? (() => {});
  const fp = (s: Shadow) => fingerprint(s.db, { excludeSchemas: exclude });
  const checkCancel = () => {
    if (opts.signal?.aborted) throw new Cancelled('cancelled');
  };

  const open = async (): Promise<Shadow> => {
    const db = await openShadow();
    // Skip reasons are recognised by message too (role "x" does not exist): ask for untranslated ones.
    // Only superusers may; otherwise a message in another language is judged by the statement instead.
    await db.query("SET lc_messages TO 'C'").catch(() => {});
    return { db, skips: [] };
  };

  const results: MigrationReplay[] = [];
  let shadow: Shadow = await open();
  const shadowServerVersion = shadow.db.serverVersion;
  let stopReason: string | undefined;
  let cancelled = false;
  let finalFingerprint: string | undefined;

  /** Run one section on the shadow, statement by statement. */
  const runSection = async (s: Shadow, m: Migration, which: 'up' | 'down', phase: ReplayPhase): Promise<SectionOutcome> => {
    const section = which === 'up' ? m.up : m.down!;
    const skipped: SkippedStatement[] = [];
    let statements: PlannedStatement[];
    try {
      statements = sectionStatements(m, section, which);
    } catch (e) {
      if (!(e instanceof MigrationFileError)) throw e;
      return { ok: false, skipped, problem: { message: e.message, file: m.file, line: e.location?.line ?? section.markerLine, column: e.location?.column ?? 1, ...(e.hint ? { hint: e.hint } : {}) } };
    }
    const db = s.db;
    const wrapped = section.transaction;
    // In a transaction:false section, a BEGIN … COMMIT written by hand is a transaction too: use savepoints inside it.
    let inTx = wrapped;
    if (wrapped) await db.query('BEGIN');
    const skip = (st: PlannedStatement, keywords: string[], reason: string, code?: string, cause?: SkipRecord) => {
      const shown: SkippedStatement = {
        phase, file: m.file, line: st.line, column: st.column, statement: short(st.sql), reason,
        ...(code ? { code } : {}),
        ...(cause ? { dependsOn: { file: cause.shown.file, line: cause.shown.line, column: cause.shown.column } } : {}),
      };
      skipped.push(shown);
      s.skips.push({ sql: st.sql, keywords, shown });
    };
    try {
      for (const [k, st] of statements.entries()) {
        checkCancel();
        const keywords = keywordsOf(st.sql);
        const pre = shadowSkipReason(st.sql, keywords);
        if (pre) {
          skip(st, keywords, pre);
          continue;
        }
        const guarded = inTx;
        try {
          if (guarded) await db.query('SAVEPOINT bulwark_replay');
          await db.query(st.sql);
          if (guarded) await db.query('RELEASE SAVEPOINT bulwark_replay');
          if (!wrapped) {
            if (keywords[0] === 'BEGIN' || (keywords[0] === 'START' && keywords[1] === 'TRANSACTION')) inTx = true;
            else if (['COMMIT', 'END', 'ABORT'].includes(keywords[0]) || (keywords[0] === 'ROLLBACK' && !keywords.includes('TO'))) inTx = false;
          }
        } catch (e) {
          if (isConnectionLost(e)) throw e;
          const f = pgErrorFields(e);
          if (guarded) await db.query('ROLLBACK TO SAVEPOINT bulwark_replay');
          const env = environmentReason(f, keywords, st.sql);
          if (env) {
            skip(st, keywords, env, f?.code);
            continue;
          }
          const cause = skippedCause(f, s.skips);
          if (cause) {
            const at = `${path.basename(cause.shown.file)}:${cause.shown.line}:${cause.shown.column}`;
            skip(st, keywords, `could not verify: it fails without the statement skipped at ${at} (${f!.message})`, f?.code, cause);
            continue;
          }
          if (inTx) await db.query('ROLLBACK').catch(() => {});
          inTx = false;
          const loc = errorLocation(m, st, f?.position);
          const partial = k > 0 && !wrapped ? `it runs outside a transaction: the ${k} statement(s) before it persist` : undefined;
          const detail = [f?.detail, partial].filter(Boolean).join(' — ');
          return {
            ok: false, skipped,
            problem: {
              message: f?.message ?? (e instanceof Error ? e.message : String(e)),
              file: m.file, line: loc.line, column: loc.column,
              ...(f?.code ? { code: f.code } : {}), ...(detail ? { detail } : {}), ...(f?.hint ? { hint: f.hint } : {}),
              statement: short(st.sql),
            },
          };
        }
      }
      if (wrapped) {
        try {
          await db.query('COMMIT');
        } catch (e) {
          if (isConnectionLost(e)) throw e;
          await db.query('ROLLBACK').catch(() => {});
          const f = pgErrorFields(e);
          return {
            ok: false, skipped,
            problem: {
              message: `at COMMIT (a deferred constraint or trigger): ${f?.message ?? String(e)}`,
              file: m.file, line: section.markerLine, column: 1, ...(f?.code ? { code: f.code } : {}), ...(f?.detail ? { detail: f.detail } : {}),
            },
          };
        }
      } else if (inTx) {
        // A hand-written BEGIN without its COMMIT: the real runner's session would keep it open; end it here.
        await db.query('COMMIT').catch(() => {});
      }
      return { ok: true, skipped };
    } catch (e) {
      if (inTx && !isConnectionLost(e)) await db.query('ROLLBACK').catch(() => {});
      throw e;
    }
  };

  /** A fresh shadow with the ups of sorted[0..upTo] applied (after a round trip left the old one in another state). */
  const rebuild = async (upTo: number, reason: string): Promise<{ ok: true } | { ok: false; why: string }> => {
    progress({ kind: 'rebuild', upTo: sorted[upTo].version, reason });
    await shadow.db.close();
    shadow = await open();
    for (let k = 0; k <= upTo; k++) {
      const r = await runSection(shadow, sorted[k], 'up', 'up');
      if (!r.ok) return { ok: false, why: `${sorted[k].version}_${sorted[k].name} failed when applied again on a fresh shadow: ${r.problem.message}` };
    }
    return { ok: true };
  };

  try {
    let current: Fingerprint = await fp(shadow);
    for (let i = 0; i < sorted.length; i++) {
      const m = sorted[i];
      const base = { version: m.version, name: m.name, file: m.file, reversible: m.down !== undefined };
      if (stopReason !== undefined) {
        results.push({ ...base, status: 'not-replayed', problems: [], skipped: [], reason: stopReason });
        continue;
      }
      const started = performance.now();
      const r: MigrationReplay = { ...base, status: 'replayed', problems: [], skipped: [] };
      results.push(r);
      try {
        progress({ kind: 'migration', version: m.version, name: m.name, index: i, total: sorted.length });
        const before = current;

        progress({ kind: 'phase', phase: 'up', version: m.version, name: m.name });
        const up = await runSection(shadow, m, 'up', 'up');
        r.skipped.push(...up.skipped);
        if (!up.ok) {
          r.problems.push({ kind: 'up-failed', ...up.problem });
          stopReason = `not replayed: ${m.version}_${m.name} failed before it`;
          continue;
        }
        const afterUp = await fp(shadow);
        current = afterUp;

        if (m.down) {
          progress({ kind: 'phase', phase: 'down', version: m.version, name: m.name });
          const down = await runSection(shadow, m, 'down', 'down');
          r.skipped.push(...down.skipped);
          let now: Fingerprint | undefined;
          if (!down.ok) {
            r.problems.push({ kind: 'down-failed', ...down.problem, message: `the down section fails: ${down.problem.message}` });
          } else {
            const afterDown = await fp(shadow);
            const d = diff(before, afterDown, { expected: 'before up', actual: 'after down' });
            if (d.length > 0) {
              r.problems.push({
                kind: 'down-mismatch',
                message: `the down section does not restore the schema as it was before the up section (${d.length} difference${d.length > 1 ? 's' : ''})`,
                file: m.file, line: m.down.markerLine, column: 1, differences: d,
              });
            }
            progress({ kind: 'phase', phase: 'reup', version: m.version, name: m.name });
            const reup = await runSection(shadow, m, 'up', 'reup');
            r.skipped.push(...reup.skipped);
            if (!reup.ok) {
              r.problems.push({ kind: 'reup-failed', ...reup.problem, message: `the up section cannot run again after the down section: ${reup.problem.message}` });
            } else {
              now = await fp(shadow);
              const d2 = diff(afterUp, now, { expected: 'after up', actual: 'after up again' });
              if (d2.length > 0) {
                r.problems.push({
                  kind: 'reup-mismatch',
                  message: `the up section run again after the down section gives another schema (${d2.length} difference${d2.length > 1 ? 's' : ''})`,
                  file: m.file, line: m.up.markerLine, column: 1, differences: d2,
                });
              }
            }
          }
          now ??= await fp(shadow);
          if (now.hash !== afterUp.hash) {
            const b = await rebuild(i, `${m.version}_${m.name} left the shadow in another state than its up`);
            if (!b.ok) stopReason = `not replayed: the shadow could not be rebuilt (${b.why})`;
            else {
              now = await fp(shadow);
              if (now.hash !== afterUp.hash) stopReason = `not replayed: applying the migrations again on a fresh shadow gave another schema than the first time`;
            }
          }
          current = now;
        }
      } catch (e) {
        if (!(e instanceof Cancelled)) throw e;
        cancelled = true;
        r.status = 'not-replayed';
        r.reason = 'cancelled';
        stopReason = 'not replayed: the replay was cancelled';
        continue;
      } finally {
        r.durationMs = performance.now() - started;
        if (r.status !== 'not-replayed') r.status = r.problems.length > 0 ? PROBLEM_STATUS[r.problems[0].kind] : r.skipped.length > 0 ? 'replayed-with-skips' : 'replayed';
      }
    }
    if (!cancelled && stopReason === undefined) finalFingerprint = current.hash;
  } finally {
    await shadow.db.close();
  }

  const summary: ReplayResult['summary'] = {
    total: results.length, replayed: 0, 'replayed-with-skips': 0, failed: 0, 'not-replayed': 0, 'down-mismatch': 0, 'down-failed': 0, 'reup-failed': 0,
    irreversible: results.filter((x) => !x.reversible).length,
    skippedStatements: results.reduce((n, x) => n + x.skipped.length, 0),
  };
  for (const x of results) summary[x.status]++;
  const ok = !results.some((x) => x.problems.length > 0) && !cancelled;
  return { ok, migrations: results, summary, shadowServerVersion, ...(finalFingerprint ? { finalFingerprint } : {}), ...(cancelled ? { cancelled } : {}) };
}
