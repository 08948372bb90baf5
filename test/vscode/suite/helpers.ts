// Shared helpers for the tests that run INSIDE a real VS Code extension host (test/vscode/run.mjs).
// The runner passes everything through environment variables of code-server, which reach the host:
//   BULWARK_VSC_DEV_URL / BULWARK_VSC_PROD_URL  the fixture's two throwaway databases (bulwark.json uses them)
//   BULWARK_VSC_ADMIN_URL                      the server's admin connection (for assertions / cleanup)
//   BULWARK_VSC_FIXTURE                        the pristine fixture folder (to restore the workspace)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import * as vscode from 'vscode';
import { poll, type PollOptions } from '../poll.mjs';

export const EXTENSION_ID = 'bulwark.bulwark';
export type EnvName = 'dev' | 'prod';

/** The fixture's migrations (what resetWorkspace restores). */
export const FIXTURE_MIGRATIONS = ['20250101090000_create_accounts.sql', '20250102090000_add_accounts_name.sql'] as const;
/** Tables the fixture's migrations create (what resetDatabases drops besides Bulwark's schema). */
export const FIXTURE_TABLES = ['accounts'] as const;

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests through test/vscode/run.mjs`);
  return v;
}

/** The workspace folder the runner opened (a throwaway copy of test/vscode/fixture). */
export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('no workspace folder is open (the runner opens a copy of test/vscode/fixture)');
  return folder.uri.fsPath;
}

export function migrationsDir(): string {
  return path.join(workspaceRoot(), 'migrations');
}

/** Activates the extension (if it is not yet) and returns what its activate() returned. */
export async function getApi<T = Record<string, unknown>>(): Promise<T> {
  const ext = vscode.extensions.getExtension<T>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded (is extensionDevelopmentPath the repository root?)`);
  return ext.isActive ? ext.exports : await ext.activate();
}

export type { PollOptions as WaitOptions } from '../poll.mjs';

/**
 * Polls `probe` until it returns a truthy value (which is returned) or the deadline passes (default 15 s).
 * A probe that throws counts as "not yet"; on timeout the last error (or value) is part of the message.
 */
export function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: PollOptions = {}): Promise<T> {
  return poll(probe, { timeoutMs: 15_000, ...opts });
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** A query on the server's admin database (BULWARK_VSC_ADMIN_URL). */
export async function adminQuery<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
  return withClient(requiredEnv('BULWARK_VSC_ADMIN_URL'), async (c) => (await c.query(sql, params)).rows as T[]);
}

export function dbUrl(env: EnvName): string {
  return requiredEnv(env === 'dev' ? 'BULWARK_VSC_DEV_URL' : 'BULWARK_VSC_PROD_URL');
}

/** A query on the fixture environment's database (`dev` or `prod`). */
export async function dbQuery<T = Record<string, unknown>>(env: EnvName, sql: string, params?: unknown[]): Promise<T[]> {
  return withClient(dbUrl(env), async (c) => (await c.query(sql, params)).rows as T[]);
}

/** Whether `public.<table>` exists in the environment's database. */
export async function tableExists(env: EnvName, table: string): Promise<boolean> {
  const rows = await dbQuery<{ t: string | null }>(env, 'SELECT to_regclass($1)::text AS t', [`public.${table}`]);
  return rows[0]?.t != null;
}

/**
 * Both databases as new: Bulwark's schema (history, audit) and every table, view, sequence and type in
 * `public` (the fixture's `accounts` and whatever a test created) are dropped. Sessions the extension
 * holds stay open (its pool reconnects), so this does not need the extension's cooperation.
 */
export async function resetDatabases(): Promise<void> {
  for (const env of ['dev', 'prod'] as const) {
    await dbQuery(
      env,
      `DO $$
       DECLARE r record;
       BEGIN
         EXECUTE 'DROP SCHEMA IF EXISTS bulwark CASCADE';
         FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
           EXECUTE format('DROP %s IF EXISTS public.%I CASCADE',
             CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.relname);
         END LOOP;
         FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind = 'S' LOOP
           EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', r.relname);
         END LOOP;
         FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = 'public' AND t.typtype IN ('e', 'c', 'd') AND NOT EXISTS
                    (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid) LOOP
           EXECUTE format('DROP TYPE IF EXISTS public.%I CASCADE', r.typname);
         END LOOP;
       END $$`,
    );
  }
}

/**
 * The workspace's migrations folder as in the fixture: files a test added are removed and the fixture's
 * files are restored byte for byte. Documents open in editors are not touched (close them first:
 * closeAllEditors()).
 */
export async function resetWorkspace(): Promise<void> {
  const fixture = requiredEnv('BULWARK_VSC_FIXTURE');
  const dir = migrationsDir();
  fs.mkdirSync(dir, { recursive: true });
  const keep = new Set<string>(FIXTURE_MIGRATIONS);
  for (const f of fs.readdirSync(dir)) if (!keep.has(f)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  for (const f of FIXTURE_MIGRATIONS) {
    const want = fs.readFileSync(path.join(fixture, 'migrations', f));
    const file = path.join(dir, f);
    if (!fs.existsSync(file) || !fs.readFileSync(file).equals(want)) fs.writeFileSync(file, want);
  }
  for (const f of fs.readdirSync(fixture)) {
    if (f === 'migrations') continue;
    const want = fs.readFileSync(path.join(fixture, f));
    const file = path.join(workspaceRoot(), f);
    if (!fs.existsSync(file) || !fs.readFileSync(file).equals(want)) fs.writeFileSync(file, want);
  }
}

/** Writes `migrations/<version>_<name>.sql` in the workspace and returns its absolute path. */
export function writeMigration(version: string, name: string, body: string): string {
  const file = path.join(migrationsDir(), `${version}_${name}.sql`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, body);
  return file;
}

/** Removes a file (absolute, or relative to the workspace folder); no error when it is not there. */
export function removeFile(file: string): void {
  fs.rmSync(path.isAbsolute(file) ? file : path.join(workspaceRoot(), file), { force: true });
}

/** A migration body in the project's format (`-- migrate:up` / `-- migrate:down`). */
export function migrationSql(up: string, down?: string, description = 'test migration'): string {
  return `-- description: ${description}\n-- migrate:up\n${up.trim()}\n` + (down === undefined ? '' : `\n-- migrate:down\n${down.trim()}\n`);
}

/** Closes every editor without saving (reverts dirty ones first, so no "save?" dialog blocks the host). */
export async function closeAllEditors(): Promise<void> {
  for (const doc of vscode.workspace.textDocuments.filter((d) => d.isDirty)) {
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Opens a file (absolute, or relative to the workspace folder) in an editor. */
export async function openFile(file: string): Promise<vscode.TextEditor> {
  const uri = vscode.Uri.file(path.isAbsolute(file) ? file : path.join(workspaceRoot(), file));
  const doc = await vscode.workspace.openTextDocument(uri);
  return vscode.window.showTextDocument(doc);
}

/** The diagnostics the extension (source `bulwark`) reports on a file. */
export function bulwarkDiagnostics(file: string | vscode.Uri): vscode.Diagnostic[] {
  const uri = typeof file === 'string' ? vscode.Uri.file(path.isAbsolute(file) ? file : path.join(workspaceRoot(), file)) : file;
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'bulwark');
}
