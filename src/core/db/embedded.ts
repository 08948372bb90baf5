/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly, running inside this process) on a
 * data directory, behind the same `Db` interface as a server. The session is the `pg` driver itself,
 * talking to PGlite through PGlite's in-process connection, so rows, types, errors (SQLSTATE, position,
 * detail, hint) and the statement counting of `runScript` are exactly what a server gives.
 *
 * - PGlite is loaded on demand (`import('./pgliteModule')`): nothing that does not open an embedded
 *   database pays for it.
 * - One process at a time: PostgreSQL's own postmaster.pid cannot protect a PGlite directory (every
 *   PGlite claims the same fake pid), so Bulwark keeps `<dataDir>/.bulwark.lock` (pid, host, command).
 *   A lock whose process is gone is stale and is taken over.
 * - Fast start: initdb takes seconds, so a new data directory is a copy of a pre-initialised one (a
 *   "template"): the one the build put beside the bundle (dist/), else one made once per machine and
 *   PGlite version in the user's cache folder.
 * - Durability: PGlite writes through to the file system on every commit (no fsync: its PostgreSQL runs
 *   with fsync off), so a killed process loses nothing that committed; the next open replays the WAL.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClientConfig } from 'pg';
import { BulwarkError, ConnectionError } from '../errors';
import type { Db } from './db';
import { dbFromClient, pg } from './pg';

import { PG_MAJOR, TEMPLATE_NAME } from './embeddedTemplate';

export { PGLITE_VERSION } from './embeddedTemplate';

export const LOCK_FILE = '.bulwark.lock';
const TAKEOVER_FILE = '.bulwark.lock.takeover';
/** Present while a data directory is being created: a directory that has it was never finished. */
const INIT_MARKER = '.bulwark-initialising';

export interface EmbeddedOptions {
  /** Slow steps (creating the database, first-run template, crash recovery), for a progress line. */
  onProgress?(message: string): void;
  /** NOTICE/WARNING messages (RAISE NOTICE in migrations). */
  onNotice?(message: string): void;
  /**
   * Where a template is made when the bundle has none: default `$XDG_CACHE_HOME/bulwark`, else
   * `~/.cache/bulwark`. `false`: no cache, a new data directory runs initdb itself (slow).
   */
  cacheDir?: string | false;
  /** The folder of the template made at build time; default: the bundle's own folder (dist/). */
  bundledTemplateDir?: string;
  /** The process environment (XDG_CACHE_HOME, HOME); process.env by default. */
  env?: Record<string, string | undefined>;
}

type PgliteModule = typeof import('./pgliteModule');
type PGliteInstance = InstanceType<PgliteModule['PGlite']>;

let pgliteModule: Promise<PgliteModule> | undefined;

/** The PGlite module, loaded the first time an embedded database is opened. */
export function loadPglite(): Promise<PgliteModule> {
  // A require (not import()) so that tsx runs the TypeScript module in tests; in dist/, esbuild turns it
  // into require('./pglite.cjs') (see esbuild.mjs).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  pgliteModule ??= Promise.resolve().then(() => require('./pgliteModule') as PgliteModule);
  return pgliteModule;
}

/**
 * Open (creating it if needed) the embedded database in `dataDir`, or a throwaway in-memory one when
 * `dataDir` is undefined. The returned session holds the directory's lock until `close()`.
 */
export async function openEmbedded(dataDir: string | undefined, opts: EmbeddedOptions = {}): Promise<Db> {
  const progress = opts.onProgress ?? (() => {});
  if (dataDir === undefined) {
    const mod = await loadPglite();
    const image = await templateImage(mod, opts, progress);
    const pglite = image ? await mod.PGlite.create({ loadDataDir: image }) : await mod.PGlite.create();
    // Close the instance too: an open PGlite keeps the process alive (about 10 s) after the session ends.
    return session(mod, pglite, opts, async () => {
      await pglite.close().catch(() => {});
    });
  }

  const dir = path.resolve(dataDir);
  let lock: DataDirLock;
  try {
    fs.mkdirSync(dir, { recursive: true });
    lock = await acquireDataDirLock(dir);
  } catch (e) {
    throw e instanceof BulwarkError ? e : openError(dir, e);
  }
  let pglite: PGliteInstance | undefined;
  try {
    const mod = await loadPglite();
    if (needsInitialisation(dir)) {
      pglite = await initialise(mod, dir, opts, progress);
    } else {
      ensureDataDirFolders(dir);
      if (fs.existsSync(path.join(dir, 'postmaster.pid'))) progress(`recovering the embedded database in ${dir} (the last run did not shut down cleanly)…`);
      pglite = await mod.PGlite.create(dir);
    }
    const db = pglite;
    return await session(mod, db, opts, async () => {
      await db.close().catch(() => {});
      lock.release();
    });
  } catch (e) {
    await pglite?.close().catch(() => {});
    lock.release();
    throw e instanceof BulwarkError ? e : openError(dir, e);
  }
}

function openError(dir: string, e: unknown): ConnectionError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ConnectionError(`cannot open the embedded database in ${dir}: ${msg}`, {
    cause: e,
    hint: 'Check that the folder is writable. If it was damaged, move it away: Bulwark creates a new, empty database in its place.',
  });
}

async function session(mod: PgliteModule, pglite: PGliteInstance, opts: EmbeddedOptions, afterClose: () => Promise<void>): Promise<Db> {
  // `ssl: false`: PGSSLMODE in the environment must not make pg ask an in-process connection for TLS.
  const config = { ...mod.createPgConfig(pglite), ssl: false } as unknown as ClientConfig;
  const client = new (pg().Client)(config);
  client.on('error', () => {});
  if (opts.onNotice) client.on('notice', (n) => opts.onNotice!(n.message ?? String(n)));
  try {
    await client.connect();
    return await dbFromClient(client, { embedded: true, afterClose });
  } catch (e) {
    await client.end().catch(() => {});
    await afterClose();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Creating a data directory

function needsInitialisation(dir: string): boolean {
  if (fs.existsSync(path.join(dir, INIT_MARKER))) return true;
  const version = path.join(dir, 'PG_VERSION');
  if (fs.existsSync(version)) {
    const major = fs.readFileSync(version, 'utf8').trim();
    if (major !== PG_MAJOR) {
      throw new ConnectionError(`the embedded database in ${dir} was made by PostgreSQL ${major}; this Bulwark embeds PostgreSQL ${PG_MAJOR}, which cannot open it`, {
        hint: `Move the folder away to start a new, empty database there (re-apply the migrations), or open it with the Bulwark version that made it to export what you need.`,
      });
    }
    return false;
  }
  const foreign = fs.readdirSync(dir).filter((f) => f !== LOCK_FILE && f !== TAKEOVER_FILE);
  if (foreign.length > 0) {
    throw new ConnectionError(`${dir} is not an embedded database and is not empty (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`, {
      hint: 'Point "embedded": { "dataDir": … } in bulwark.json at an empty or new folder.',
    });
  }
  return true;
}

/**
 * The empty folders PostgreSQL expects in a data directory. Packagers that keep only files (a .vsix is a zip
 * of files) drop them from the shipped template, and PostgreSQL then fails to start: make them every time.
 */
const DATA_DIR_FOLDERS = ['base', 'global', 'pg_commit_ts', 'pg_dynshmem', 'pg_logical/mappings', 'pg_logical/snapshots', 'pg_multixact/members',
  'pg_multixact/offsets', 'pg_notify', 'pg_replslot', 'pg_serial', 'pg_snapshots', 'pg_stat', 'pg_stat_tmp', 'pg_subtrans', 'pg_tblspc',
  'pg_twophase', 'pg_wal/archive_status', 'pg_wal/summaries', 'pg_xact'];

export function ensureDataDirFolders(dir: string): void {
  for (const f of DATA_DIR_FOLDERS) fs.mkdirSync(path.join(dir, f), { recursive: true });
}

async function initialise(mod: PgliteModule, dir: string, opts: EmbeddedOptions, progress: (m: string) => void): Promise<PGliteInstance> {
  const marker = path.join(dir, INIT_MARKER);
  // A directory left half-made by a killed run: start it again from nothing.
  if (fs.existsSync(marker)) {
    for (const f of fs.readdirSync(dir)) if (f !== LOCK_FILE && f !== TAKEOVER_FILE && f !== INIT_MARKER) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  }
  fs.writeFileSync(marker, `created by pid ${process.pid} at ${new Date().toISOString()}\n`);
  const template = await ensureTemplate(mod, opts, progress);
  let pglite: PGliteInstance;
  if (template) {
    progress(`creating the embedded database in ${dir}…`);
    fs.cpSync(template, dir, { recursive: true, mode: fs.constants.COPYFILE_FICLONE });
    ensureDataDirFolders(dir);
    fs.rmSync(marker);
    pglite = await mod.PGlite.create(dir);
  } else {
    progress(`creating the embedded database in ${dir} (initdb: this takes a few seconds)…`);
    pglite = await mod.PGlite.create(dir);
    fs.rmSync(marker);
  }
  return pglite;
}

/** The cache folder: `$XDG_CACHE_HOME/bulwark`, else `~/.cache/bulwark`. */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'bulwark');
  const home = env.HOME || env.USERPROFILE || os.homedir();
  return path.join(home, '.cache', 'bulwark');
}

/** Where the template for this PGlite version is in a cache folder (whether or not it exists yet). */
export function templateDir(cacheDir: string): string {
  return path.join(cacheDir, TEMPLATE_NAME);
}

/**
 * The pre-initialised data directory: the build's, beside the bundle; else the cache's, made now if
 * missing (initdb, then a clean shutdown) in a temporary folder renamed into place, so a template that
 * exists is complete and concurrent first runs do not clash. Undefined when the cache folder is not
 * usable: the caller runs initdb itself.
 */
async function ensureTemplate(mod: PgliteModule, opts: EmbeddedOptions, progress: (m: string) => void): Promise<string | undefined> {
  const bundled = path.join(opts.bundledTemplateDir ?? __dirname, TEMPLATE_NAME);
  if (fs.existsSync(path.join(bundled, 'PG_VERSION'))) return bundled;
  if (opts.cacheDir === false) return undefined;
  const cache = opts.cacheDir ?? defaultCacheDir(opts.env ?? process.env);
  const target = templateDir(cache);
  if (fs.existsSync(path.join(target, 'PG_VERSION'))) return target;
  const parent = path.dirname(target);
  const tmp = path.join(parent, `${TEMPLATE_NAME}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(parent, { recursive: true });
    progress(`preparing the embedded PostgreSQL template in ${target} (once per machine: initdb takes a few seconds)…`);
    await mod.makeTemplate(tmp);
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      // Another run made it first (ENOTEMPTY/EEXIST): use theirs.
      if (!fs.existsSync(path.join(target, 'PG_VERSION'))) throw e;
    }
    return target;
  } catch {
    return undefined;
  } finally {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      // Nothing was made there (the cache folder is unusable).
    }
  }
}

/**
 * The template as PGlite's data-directory image, kept in memory while it is used: a throwaway in-memory
 * database (a replay's shadow) starts from it in about 0.4 s instead of running initdb (about 2 s). Made
 * once per process from a copy of the template; dropped after a few idle minutes (it holds ~40 MB).
 */
let image: { template: string; blob: Promise<Blob | undefined>; timer?: NodeJS.Timeout } | undefined;
const IMAGE_IDLE_MS = 5 * 60_000;

async function templateImage(mod: PgliteModule, opts: EmbeddedOptions, progress: (m: string) => void): Promise<Blob | undefined> {
  const template = await ensureTemplate(mod, opts, progress);
  if (!template) return undefined;
  if (image?.template !== template) {
    const blob = (async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-image-'));
      try {
        fs.cpSync(template, tmp, { recursive: true });
        ensureDataDirFolders(tmp);
        const pglite = await mod.PGlite.create(tmp);
        try {
          return (await pglite.dumpDataDir('none')) as Blob;
        } finally {
          await pglite.close().catch(() => {});
        }
      } catch {
        return undefined; // initdb then, as without a template
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    })();
    image = { template, blob };
  }
  const current = image;
  if (current.timer) clearTimeout(current.timer);
  current.timer = setTimeout(() => {
    if (image === current) image = undefined;
  }, IMAGE_IDLE_MS);
  current.timer.unref();
  return current.blob;
}

/** Git-ignore a folder Bulwark made (`.bulwark/`), so local data never ends up in a commit. */
export function ensureGitignored(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const f = path.join(dir, '.gitignore');
    if (!fs.existsSync(f)) fs.writeFileSync(f, '# Local data of Bulwark (the embedded database): never commit it.\n*\n');
  } catch {
    // Only a convenience: opening the database reports a folder that cannot be written.
  }
}

// ---------------------------------------------------------------------------------------------------
// One process per data directory

export interface LockInfo {
  pid: number;
  hostname: string;
  /** What runs there, e.g. `bulwark apply`. */
  command: string;
  since: string;
  /** Linux: the process start time (/proc/<pid>/stat), to tell a reused pid from the holder. */
  processStart?: string;
  token: string;
}

export interface DataDirLock {
  readonly info: LockInfo;
  release(): void;
}

export class EmbeddedLockedError extends BulwarkError {
  constructor(readonly dataDir: string, readonly holder: LockInfo) {
    const self = holder.pid === process.pid && holder.hostname === os.hostname();
    super(
      'LOCK_HELD',
      self
        ? `the embedded database in ${dataDir} is already open in this process (${holder.command}, since ${holder.since})`
        : `the embedded database in ${dataDir} is in use by another process: pid ${holder.pid} on ${holder.hostname} (${holder.command}), since ${holder.since}`,
      {
        hint:
          holder.hostname === os.hostname()
            ? 'Only one process at a time can open an embedded database: wait for that one to finish and retry.'
            : `Only one process at a time can open an embedded database. That process runs on another machine, so Bulwark cannot tell whether it is still alive: if it is not, delete ${path.join(dataDir, LOCK_FILE)}.`,
      },
    );
  }
}

/** Take the data directory's lock file, taking over a stale one; throws EmbeddedLockedError when it is held. */
export async function acquireDataDirLock(dir: string): Promise<DataDirLock> {
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    command: describeCommand(),
    since: new Date().toISOString(),
    ...(processStartTime(process.pid) ? { processStart: processStartTime(process.pid) } : {}),
    token: randomBytes(8).toString('hex'),
  };
  const text = JSON.stringify(info) + '\n';
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, text);
      } finally {
        fs.closeSync(fd);
      }
      return makeLock(file, info);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = readLock(file);
    if (held === 'gone') continue;
    if (held !== 'unreadable') {
      if (holderAlive(held.info)) throw new EmbeddedLockedError(dir, held.info);
      await takeOver(dir, held.raw);
      continue;
    }
    // Empty or partial: its writer is between open and write, or died there. Give it a moment.
    if (Date.now() - mtimeMs(file) > 2000) await takeOver(dir, undefined);
    else if (Date.now() > deadline) throw new ConnectionError(`cannot read the lock file ${file}`, { hint: 'Delete it if no other Bulwark process is running.' });
    else await sleep(50);
  }
}

/** Tokens of the locks this process holds: a lock file naming our pid but another token is stale. */
const heldTokens = new Set<string>();

function makeLock(file: string, info: LockInfo): DataDirLock {
  let released = false;
  heldTokens.add(info.token);
  const release = () => {
    if (released) return;
    released = true;
    heldTokens.delete(info.token);
    process.off('exit', release);
    const held = readLock(file);
    // Only our own lock: never remove one that another process took over.
    if (typeof held === 'object' && held.info.token === info.token) fs.rmSync(file, { force: true });
  };
  // A process.exit() (second Ctrl-C) skips close(): the lock must not outlive the process anyway.
  process.on('exit', release);
  return { info, release };
}

/** Remove a stale lock (content `raw`, or unreadable when undefined), under a short-lived takeover lock. */
async function takeOver(dir: string, raw: string | undefined): Promise<void> {
  const file = path.join(dir, LOCK_FILE);
  const guard = path.join(dir, TAKEOVER_FILE);
  for (let i = 0; ; i++) {
    try {
      fs.closeSync(fs.openSync(guard, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A takeover takes microseconds; an old guard was left by a process killed during one.
      if (Date.now() - mtimeMs(guard) > 10_000) fs.rmSync(guard, { force: true });
      else if (i > 100) throw new ConnectionError(`another process is taking over the lock ${file}; retry`);
      else await sleep(20);
    }
  }
  try {
    const now = readLock(file);
    const same = raw === undefined ? now === 'unreadable' : typeof now === 'object' && now.raw === raw;
    if (same) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function readLock(file: string): { info: LockInfo; raw: string } | 'gone' | 'unreadable' {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const info = JSON.parse(raw) as LockInfo;
    if (typeof info.pid !== 'number' || typeof info.hostname !== 'string') return 'unreadable';
    return { info, raw };
  } catch {
    return 'unreadable';
  }
}

/** Whether the lock's holder still runs. On another host we cannot know: it is taken as alive. */
export function holderAlive(h: LockInfo): boolean {
  if (h.hostname !== os.hostname()) return true;
  // Our own pid: ours if we hold it, else left by an earlier process that had the same pid (containers).
  if (h.pid === process.pid) return heldTokens.has(h.token);
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The pid exists; on Linux, check it is the same process and not a new one that reuses the number.
  if (h.processStart) {
    const now = processStartTime(h.pid);
    if (now !== undefined && now !== h.processStart) return false;
  }
  return true;
}

function processStartTime(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function describeCommand(): string {
  const script = process.argv[1] ? path.basename(process.argv[1]) : 'node';
  const name = script === 'cli.js' || script === 'bulwark' ? 'bulwark' : script;
  return [name, ...process.argv.slice(2)].join(' ').slice(0, 200);
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
