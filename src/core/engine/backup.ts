/**
 * Backups before a protected environment changes: `pg_dump` of the whole schema plus the rows of the tables
 * the migrations about to run alter, drop, truncate or write (or of every table, `"data": "all"`), taken
 * under the migration lock right before the first migration runs. A backup that cannot be taken stops the
 * run before anything changes (`--no-backup` skips it, audited).
 *
 * Why pg_dump rather than copies inside the database: a copy on the same server doubles the tables being
 * changed on the disk that is about to be written, and is gone with the server. pg_dump's custom format
 * restores table by table (`pg_restore --table`), which is what undoing a bad migration needs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupSettings, EnvironmentConfig } from '../config/config';
import { connectionPassword } from '../config/connection';
import { ensureGitignored } from '../db/embedded';
import { RefusedError } from '../errors';
import { loadParser, parseSql } from '../lint/parser';
import type { Migration } from '../migrations/parse';
import { TOOL_VERSION } from '../version';
import type { Engine, Session } from './engine';
import type { PlannedStatement } from './statements';

export interface BackupInfo {
  /** Folder holding the dump files and manifest.json. */
  dir: string;
  files: { name: string; bytes: number }[];
  /** `touched`: the tables whose rows were dumped (schema-qualified); `all`: every table. */
  data: 'touched' | 'all';
  tables: string[];
  /** Statements whose effect on data cannot be read from the SQL (DO blocks, function calls…). */
  opaque: OpaqueStatement[];
  pgDump: { path: string; version: string };
  durationMs: number;
  /** How to restore, as commands (connection without password). */
  restore: string[];
}

export interface OpaqueStatement {
  version: string;
  name: string;
  line: number;
  what: string;
}

/** What is about to run: each migration's section and statements. */
export interface BackupWork {
  migration: Migration;
  direction: 'up' | 'down';
  statements: PlannedStatement[];
}

export class BackupError extends RefusedError {}

export async function takeBackup(engine: Engine, s: Session, work: BackupWork[], reason: 'apply' | 'rollback'): Promise<BackupInfo> {
  const env = s.env;
  const settings = env.backup!;
  const started = Date.now();
  const conn = engine.connectionOf(env);
  if (!conn) throw new BackupError(`cannot back up "${env.name}": its connection is not known`);
  const serverMajor = Math.floor(s.db.serverVersion / 10000);
  const pgDump = await findPgDump(settings, engine.environmentVariables, serverMajor, env);

  const analysis = settings.data === 'all' ? { names: [], schemas: [], opaque: [] } : await touchedRelations(work);
  const tables = settings.data === 'all' ? [] : await resolveTables(s, analysis.names, analysis.schemas);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const first = work[0]?.migration.version ?? 'none';
  const dir = uniqueDir(path.join(settings.dir, env.name, `${stamp}-${reason}-${first}`));
  if (path.basename(settings.dir) === 'backups' && path.basename(path.dirname(settings.dir)) === '.bulwark') ensureGitignored(path.dirname(settings.dir));
  // Backups hold production rows: readable by their owner only.
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);

  const password = connectionPassword(conn);
  const childEnv = toolEnvironment(engine.environmentVariables);
  if (password !== undefined) childEnv.PGPASSWORD = password;
  childEnv.PGAPPNAME = `bulwark ${TOOL_VERSION} backup`;
  childEnv.PGCONNECT_TIMEOUT ??= '15';
  const common = ['--format=custom', '--no-password', `--lock-wait-timeout=${Math.max(1000, env.lockWaitTimeoutMs)}`, `--dbname=${conn.libpq}`];
  const run = async (file: string, args: string[], what: string) => {
    engine.onProgress({ kind: 'database', environment: env.name, message: `backing up ${what} before ${reason === 'apply' ? 'applying' : 'rolling back'}` });
    const target = path.join(dir, file);
    const r = await runTool(pgDump.path, [...common, `--file=${target}`, ...args], childEnv);
    if (r.code !== 0) {
      const msg = engine.redactor.redact(r.stderr.trim() || `exit code ${r.code}`);
      throw new BackupError(`backup of "${env.name}" failed: pg_dump (${what}): ${msg}`, { hint: BACKUP_HINT(env) });
    }
    fs.chmodSync(target, 0o600);
    return { name: file, bytes: fs.statSync(target).size };
  };

  const files: BackupInfo['files'] = [];
  const restore: string[] = [];
  const display = conn.display;
  if (settings.data === 'all') {
    files.push(await run('database.dump', [], 'the whole database'));
    restore.push(`pg_restore --dbname='${display}' --clean --if-exists ${path.join(dir, 'database.dump')}`);
  } else {
    files.push(await run('schema.dump', ['--schema-only'], 'the schema'));
    if (tables.length > 0) {
      files.push(await run('tables.dump', tables.flatMap((t) => ['--table', tablePattern(t)]), `${tables.length} table${tables.length === 1 ? '' : 's'}`));
      restore.push(`pg_restore --dbname='${display}' --clean --if-exists --table=<table> ${path.join(dir, 'tables.dump')}   # one table, rows included`);
    }
    restore.push(`pg_restore --list ${path.join(dir, 'schema.dump')}   # every object as it was; restore any with --use-list`);
  }
  const info: BackupInfo = {
    dir,
    files,
    data: settings.data,
    tables: tables.map((t) => t.display),
    opaque: analysis.opaque,
    pgDump: { path: pgDump.path, version: pgDump.version },
    durationMs: Date.now() - started,
    restore,
  };
  const manifest = {
    environment: env.name,
    connection: display,
    reason,
    takenAt: new Date(started).toISOString(),
    takenBy: `${osUser()}@${os.hostname()}`,
    tool: `bulwark ${TOOL_VERSION}`,
    serverVersion: s.db.serverVersion,
    migrations: work.map((w) => ({ version: w.migration.version, name: w.migration.name, direction: w.direction })),
    ...info,
  };
  const manifestFile = path.join(dir, 'manifest.json');
  fs.writeFileSync(manifestFile, engine.redactor.redact(JSON.stringify(manifest, null, 2)) + '\n', { mode: 0o600 });
  return info;
}

const BACKUP_HINT = (env: EnvironmentConfig) =>
  `Nothing was changed. Fix the backup (pg_dump must reach the server and be at least its version: set "backup.pgDump" of "${env.name}" in bulwark.json or BULWARK_PG_DUMP), ` +
  'or run without one: `--no-backup` (recorded in the audit trail).';

/** A pg_dump table pattern matching exactly this table (quoted: no wildcards, case kept). */
function tablePattern(t: ResolvedTable): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `${q(t.schema)}.${q(t.name)}`;
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

function uniqueDir(dir: string): string {
  let d = dir;
  for (let i = 2; fs.existsSync(d); i++) d = `${dir}-${i}`;
  return d;
}

// ---------------------------------------------------------------------------------------------------------
// pg_dump

interface PgDump {
  path: string;
  version: string;
  major: number;
}

async function findPgDump(settings: BackupSettings, vars: Readonly<Record<string, string | undefined>>, serverMajor: number, env: EnvironmentConfig): Promise<PgDump> {
  const named = settings.pgDump ?? vars.BULWARK_PG_DUMP;
  if (named) {
    const found = await probe(named, vars);
    const setting = settings.pgDump ? `backup.pgDump of "${env.name}"` : 'BULWARK_PG_DUMP';
    if (!found) throw new BackupError(`backup of "${env.name}" impossible: ${setting} names "${named}", which does not run as pg_dump`, { hint: BACKUP_HINT(env) });
    if (found.major < serverMajor) {
      throw new BackupError(`backup of "${env.name}" impossible: ${setting} is pg_dump ${found.version}, and the server is PostgreSQL ${serverMajor} (pg_dump must be at least the server's version)`, { hint: BACKUP_HINT(env) });
    }
    return found;
  }
  const seen: PgDump[] = [];
  for (const candidate of pgDumpCandidates(vars)) {
    const found = await probe(candidate, vars);
    if (found) seen.push(found);
  }
  const usable = seen.filter((x) => x.major >= serverMajor).sort((a, b) => a.major - b.major);
  // The oldest pg_dump that can dump this server: the closest to its version.
  if (usable.length > 0) return usable[0];
  const what = seen.length ? `found only ${seen.map((x) => `pg_dump ${x.version} (${x.path})`).join(', ')}` : 'found no pg_dump on PATH or in the usual places';
  throw new BackupError(`backup of "${env.name}" impossible: the server is PostgreSQL ${serverMajor} and Bulwark ${what}`, { hint: BACKUP_HINT(env) });
}

function pgDumpCandidates(vars: Readonly<Record<string, string | undefined>>): string[] {
  const exe = process.platform === 'win32' ? 'pg_dump.exe' : 'pg_dump';
  const out: string[] = [];
  for (const dir of (vars.PATH ?? process.env.PATH ?? '').split(path.delimiter)) if (dir) out.push(path.join(dir, exe));
  const globs: [string, string][] = [
    ['/usr/lib/postgresql', 'bin'], // Debian, Ubuntu
    ['/usr/local/opt', 'bin'], // Homebrew (Intel): postgresql@16
    ['/opt/homebrew/opt', 'bin'], // Homebrew (Apple silicon)
    ['/Applications/Postgres.app/Contents/Versions', 'bin'],
    ['C:\\Program Files\\PostgreSQL', 'bin'],
  ];
  for (const [root, bin] of globs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names) if (/^(postgresql(@\d+)?|\d+(\.\d+)?|latest)$/.test(n)) out.push(path.join(root, n, bin, exe));
  }
  // RHEL/Fedora: /usr/pgsql-16/bin
  try {
    for (const n of fs.readdirSync('/usr')) if (/^pgsql-\d+$/.test(n)) out.push(path.join('/usr', n, 'bin', exe));
  } catch {
    // not there
  }
  return [...new Set(out)].filter((p) => fs.existsSync(p));
}

/** The environment of a pg_dump run: this process's, with the variables the engine was given on top. */
function toolEnvironment(vars: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...vars })) if (v !== undefined) env[k] = v;
  return env;
}

async function probe(file: string, vars: Readonly<Record<string, string | undefined>>): Promise<PgDump | undefined> {
  const r = await runTool(file, ['--version'], toolEnvironment(vars)).catch(() => undefined);
  if (!r || r.code !== 0) return undefined;
  const m = /pg_dump \(PostgreSQL\) (\d+)(?:\.(\d+))?\S*/.exec(r.stdout);
  if (!m) return undefined;
  return { path: file, version: m[0].replace('pg_dump (PostgreSQL) ', ''), major: Number(m[1]) };
}

function runTool(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Which tables the migrations change

type Name = string[];

/** The relations the statements change rows of (by name, as written), schemas dropped whole, and what cannot be read. */
export async function touchedRelations(work: BackupWork[]): Promise<{ names: Name[]; schemas: string[]; opaque: OpaqueStatement[] }> {
  await loadParser();
  const names: Name[] = [];
  const schemas: string[] = [];
  const opaque: OpaqueStatement[] = [];
  for (const w of work) {
    for (const st of w.statements) {
      const parsed = parseSql(st.sql, false);
      const note = (what: string) => opaque.push({ version: w.migration.version, name: w.migration.name, line: st.line, what });
      if (!parsed.ok) {
        note('a statement Bulwark cannot parse');
        continue;
      }
      for (const p of parsed.statements) collect(p.stmt, names, schemas, note);
    }
  }
  return { names, schemas, opaque };
}

type Node = Record<string, unknown>;
const inner = (n: unknown, type: string): Node | undefined => (n && typeof n === 'object' ? ((n as Node)[type] as Node | undefined) : undefined);

function rangeVarName(rv: unknown): Name | undefined {
  const r = inner(rv, 'RangeVar') ?? (rv as Node | undefined);
  if (!r || typeof r.relname !== 'string') return undefined;
  return typeof r.schemaname === 'string' ? [r.schemaname, r.relname] : [r.relname];
}

function stringList(list: unknown): Name | undefined {
  const items = (inner(list, 'List')?.items ?? list) as unknown[];
  if (!Array.isArray(items)) return undefined;
  const out = items.map((x) => inner(x, 'String')?.sval).filter((x): x is string => typeof x === 'string');
  return out.length === items.length ? out : undefined;
}

const SAFE_FUNCTIONS = new Set(['set_config', 'current_setting', 'pg_advisory_xact_lock', 'pg_advisory_lock', 'pg_advisory_unlock', 'pg_sleep', 'now', 'version']);

function collect(stmt: Node, names: Name[], schemas: string[], note: (what: string) => void): void {
  const type = Object.keys(stmt)[0];
  const v = stmt[type] as Node;
  const add = (n: Name | undefined) => {
    if (n) names.push(n);
  };
  switch (type) {
    case 'AlterTableStmt':
      add(rangeVarName(v.relation));
      return;
    case 'DropStmt': {
      const kind = v.removeType as string;
      if (kind === 'OBJECT_TABLE') for (const o of (v.objects as unknown[]) ?? []) add(stringList(o));
      else if (kind === 'OBJECT_SCHEMA') {
        for (const o of (v.objects as unknown[]) ?? []) {
          const s = inner(o, 'String')?.sval;
          if (typeof s === 'string') schemas.push(s);
        }
      } else if (v.behavior === 'DROP_CASCADE' && ['OBJECT_TYPE', 'OBJECT_DOMAIN', 'OBJECT_EXTENSION', 'OBJECT_FUNCTION', 'OBJECT_SEQUENCE'].includes(kind)) {
        note(`DROP … CASCADE of a ${kind.replace('OBJECT_', '').toLowerCase()} (may drop columns of tables that use it)`);
      }
      return;
    }
    case 'TruncateStmt':
      for (const r of (v.relations as unknown[]) ?? []) add(rangeVarName(r));
      return;
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'InsertStmt':
    case 'MergeStmt':
      add(rangeVarName(v.relation));
      return;
    case 'CopyStmt':
      if (v.is_from) add(rangeVarName(v.relation));
      return;
    case 'RenameStmt':
      // Renaming a table, a column or a schema loses no rows, and the schema dump has the old names.
      return;
    case 'DoStmt':
      note('a DO block');
      return;
    case 'CallStmt':
      note('a CALL');
      return;
    case 'ExecuteStmt':
      note('an EXECUTE of a prepared statement');
      return;
    case 'SelectStmt': {
      const fns: string[] = [];
      findFunctions(v, fns);
      const unknown = fns.filter((f) => !SAFE_FUNCTIONS.has(f));
      if (unknown.length > 0) note(`SELECT calling ${[...new Set(unknown)].slice(0, 3).join(', ')}()`);
      return;
    }
    default:
      return;
  }
}

function findFunctions(n: unknown, out: string[]): void {
  if (Array.isArray(n)) {
    for (const x of n) findFunctions(x, out);
    return;
  }
  if (!n || typeof n !== 'object') return;
  for (const [k, v] of Object.entries(n as Node)) {
    if (k === 'FuncCall') {
      const name = stringList((v as Node).funcname);
      if (name) out.push(name[name.length - 1].toLowerCase());
    }
    findFunctions(v, out);
  }
}

interface ResolvedTable {
  schema: string;
  name: string;
  /** As PostgreSQL prints it (regclass). */
  display: string;
}

/** The existing tables (ordinary and partitioned) those names and schemas mean on this server now. */
async function resolveTables(s: Session, names: Name[], schemas: string[]): Promise<ResolvedTable[]> {
  if (names.length === 0 && schemas.length === 0) return [];
  const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
  const texts = [...new Set(names.map((n) => n.map(q).join('.')))];
  // With their partitions and inheritance children: an UPDATE of a partitioned table changes rows there.
  const r = await s.db.query<{ schema: string; name: string; display: string }>(
    `WITH RECURSIVE named AS (
       SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p')
          AND (c.oid = ANY (ARRAY(SELECT to_regclass(x) FROM unnest($1::text[]) AS x WHERE to_regclass(x) IS NOT NULL)::oid[])
               OR n.nspname = ANY ($2::text[]))
       UNION
       SELECT i.inhrelid FROM pg_inherits i JOIN named ON i.inhparent = named.oid
     )
     SELECT DISTINCT n.nspname AS schema, c.relname AS name, c.oid::regclass::text AS display
       FROM named JOIN pg_class c ON c.oid = named.oid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
      ORDER BY 1, 2`,
    [texts, schemas],
  );
  return r.rows;
}
