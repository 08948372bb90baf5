import * as os from 'node:os';
import * as path from 'node:path';
import type { BulwarkConfig, EnvironmentConfig } from '../config/config';
import { findEnvironment, resolveConnection } from '../config/config';
import type { ResolvedConnection } from '../config/config';
import { Db, isConnectionLost, pgErrorFields } from '../db/db';
import { ensureGitignored, openEmbedded } from '../db/embedded';
import { History, HistoryRow, Identity } from '../db/history';
import { acquireMigrationLock, AcquiredLock, LockHolder, lockHolder, lockKey } from '../db/lock';
import { connectPg } from '../db/pg';
import { BulwarkError, ConnectionError, RefusedError } from '../errors';
import { Logger, silentLogger } from '../logger';
import { loadMigrations, MigrationFs, MigrationSet, nodeFs } from '../migrations/load';
import type { Migration } from '../migrations/parse';
import { Redactor } from '../redact';
import { TOOL_VERSION } from '../version';
import { computeStates, MigrationState } from './state';

export type ProgressEvent =
  | { kind: 'lock-wait'; environment: string; holder?: LockHolder }
  /** A slow step around a database: opening the embedded one (creating it, first-run template, recovery), a backup. */
  | { kind: 'database'; environment: string; message: string }
  | { kind: 'migration-start'; environment: string; version: string; name: string; index: number; total: number; direction: 'up' | 'down' }
  | { kind: 'migration-done'; environment: string; version: string; name: string; ok: boolean; durationMs: number };

export interface EngineOptions {
  config: BulwarkConfig;
  /** Environment variables (`${env:…}` references, PGPASSWORD…); process.env in the CLI. */
  processEnv: Record<string, string | undefined>;
  logger?: Logger;
  redactor?: Redactor;
  /** How to open a session on an environment; defaults to `pg`. The embedded database plugs in here. */
  connect?: (env: EnvironmentConfig, applicationName: string) => Promise<Db>;
  io?: MigrationFs;
  onProgress?: (e: ProgressEvent) => void;
  /** Where passwords come from when the configuration names none (the editor: its secret storage and a prompt). */
  credentials?: CredentialSource;
}

/**
 * A source of passwords for servers whose configuration gives none (no passwordEnv, no password in the URL).
 * `saved` is tried first; when the server rejects the connection for a missing or wrong password, `ask` is
 * called once (undefined = the person declined) and, if the retry succeeds, `save` keeps it; a saved password
 * the server rejects is `forget`-ed. libpq's own sources (PGPASSWORD, ~/.pgpass) still apply when this gives none.
 */
export interface CredentialSource {
  saved(env: EnvironmentConfig, display: string): Promise<string | undefined>;
  ask(env: EnvironmentConfig, display: string, reason: string): Promise<string | undefined>;
  save(env: EnvironmentConfig, password: string): Promise<void>;
  forget(env: EnvironmentConfig): Promise<void>;
}

/** The connection with a password from outside the configuration (a URL's own parameters win over pg's fields). */
function withPassword(resolved: ResolvedConnection, password: string): ResolvedConnection {
  const secrets = [...resolved.secrets, password];
  if (resolved.pg.connectionString !== undefined) {
    const u = new URL(resolved.pg.connectionString);
    u.password = encodeURIComponent(password);
    return { ...resolved, pg: { ...resolved.pg, connectionString: u.toString() }, secrets };
  }
  return { ...resolved, pg: { ...resolved.pg, password }, secrets };
}

/** The server wants a password it did not get, or rejected the one it got. */
export function isPasswordProblem(e: unknown): boolean {
  const f = pgErrorFields(e);
  if (f?.code === '28P01') return true; // invalid_password
  const msg = e instanceof Error ? e.message : String(e);
  // pg's own errors when the server asks for a password and none is known.
  return /client password must be a string|password authentication failed|no password (was )?(supplied|provided)/i.test(msg);
}

/** An open session on one environment, with its history and (for writers) the migration lock. */
export interface Session {
  env: EnvironmentConfig;
  db: Db;
  history: History;
  historyExists: boolean;
  lock?: AcquiredLock;
  rows: HistoryRow[];
  /** Create Bulwark's tables if needed; call before the first write (writers only). */
  ensureHistory(): Promise<void>;
}

export interface EnvironmentStatus {
  environment: string;
  /** The connection, without any password. */
  connection: string;
  protected: boolean;
  requires?: string;
  /** False when the environment could not be reached; `error` says why. */
  reachable: boolean;
  error?: string;
  /** False when Bulwark has never written to this database. */
  historyExists?: boolean;
  lockHolder?: LockHolder;
  migrations: MigrationState[];
}

export class Engine {
  readonly config: BulwarkConfig;
  readonly logger: Logger;
  readonly redactor: Redactor;
  private readonly processEnv: Record<string, string | undefined>;
  private readonly io: MigrationFs;
  private readonly connectFn?: EngineOptions['connect'];
  private readonly credentials?: CredentialSource;
  /** The connection (with the password that worked) of each environment's last session. */
  private readonly connections = new Map<string, ResolvedConnection>();
  readonly onProgress: (e: ProgressEvent) => void;

  constructor(opts: EngineOptions) {
    this.config = opts.config;
    this.processEnv = opts.processEnv;
    this.logger = opts.logger ?? silentLogger;
    this.redactor = opts.redactor ?? new Redactor();
    this.io = opts.io ?? nodeFs;
    this.connectFn = opts.connect;
    this.credentials = opts.credentials;
    this.onProgress = opts.onProgress ?? (() => {});
  }

  /** Read the migration files (every call re-reads: files change under an editor). */
  migrations(): MigrationSet {
    return loadMigrations(this.config.migrationsDir, this.io);
  }

  /** The files, refusing when any is broken: a command that changes a database must not guess. */
  validMigrations(): Migration[] {
    const set = this.migrations();
    if (set.errors.length > 0) throw fileErrors(set.errors);
    return set.migrations;
  }

  environment(name?: string): EnvironmentConfig {
    return findEnvironment(this.config, name);
  }

  identity(env: EnvironmentConfig): Identity {
    return { environment: env.name, osUser: osUser(), hostname: os.hostname(), toolVersion: TOOL_VERSION };
  }

  applicationName(): string {
    return `bulwark/${TOOL_VERSION} ${osUser()}@${os.hostname()}`.slice(0, 63);
  }

  /** The connection that opened the last session on a server environment, password included (for pg_dump). */
  connectionOf(env: EnvironmentConfig): ResolvedConnection | undefined {
    return this.connections.get(env.name);
  }

  /** The process environment the engine was given (child processes such as pg_dump start from it). */
  get environmentVariables(): Readonly<Record<string, string | undefined>> {
    return this.processEnv;
  }

  /** The connection of an environment as it can be shown (no password). */
  display(env: EnvironmentConfig): string {
    if (env.embedded) {
      const rel = path.relative(this.config.root, env.embedded.dataDir);
      return `embedded PostgreSQL at ${rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : env.embedded.dataDir}`;
    }
    try {
      return resolveConnection(env, this.processEnv).display;
    } catch (e) {
      return `(unresolved: ${e instanceof Error ? e.message : String(e)})`;
    }
  }

  async connect(env: EnvironmentConfig): Promise<Db> {
    if (this.connectFn) return this.connectFn(env, this.applicationName());
    if (env.embedded) {
      const dataDir = env.embedded.dataDir;
      // The default place, `.bulwark/<name>` in the project: keep it out of git.
      if (path.basename(path.dirname(dataDir)) === '.bulwark') ensureGitignored(path.dirname(dataDir));
      return openEmbedded(dataDir, {
        env: this.processEnv,
        onProgress: (message) => this.onProgress({ kind: 'database', environment: env.name, message }),
        onNotice: (m) => this.logger.info(`[${env.name}] ${this.redactor.redact(m)}`),
      });
    }
    const resolved = resolveConnection(env, this.processEnv);
    this.redactor.add(...resolved.secrets);
    const open = async (password?: string) => {
      if (password !== undefined) this.redactor.add(password);
      const r = password === undefined ? resolved : withPassword(resolved, password);
      const db = await connectPg(r, {
        applicationName: this.applicationName(),
        onNotice: (m) => this.logger.info(`[${env.name}] ${this.redactor.redact(m)}`),
      });
      this.connections.set(env.name, r);
      return db;
    };
    const creds = this.credentials;
    if (!creds || resolved.secrets.length > 0) return open();
    const saved = await creds.saved(env, resolved.display);
    try {
      return await open(saved);
    } catch (e) {
      if (!isPasswordProblem(e)) throw e;
      if (saved !== undefined) await creds.forget(env);
      const reason = this.redactor.redact(e instanceof Error ? e.message : String(e));
      const typed = await creds.ask(env, resolved.display, saved !== undefined ? `the saved password was rejected: ${reason}` : reason);
      if (typed === undefined) throw new ConnectionError(`"${env.name}" needs a password and none was given (${reason})`, { cause: e });
      const db = await open(typed);
      await creds.save(env, typed);
      return db;
    }
  }

  /**
   * Open a session. Writers (`lock: true`) take the migration lock first and create the history tables if
   * needed; readers never write anything. The history is read after the lock is held, so two runners
   * never act on a stale view.
   */
  async withSession<T>(env: EnvironmentConfig, opts: { lock: boolean }, fn: (s: Session) => Promise<T>): Promise<T> {
    const db = await this.connect(env);
    const history = new History(db, this.config.history, this.identity(env));
    let lock: AcquiredLock | undefined;
    try {
      if (opts.lock) {
        lock = await acquireMigrationLock(db, lockKey(this.historyKey()), {
          timeoutMs: env.lockWaitTimeoutMs,
          envName: env.name,
          onWait: (holder) => {
            this.logger.warn(`[${env.name}] waiting up to ${env.lockWaitTimeoutMs} ms for the migration lock${holder ? ` (held by pid ${holder.pid}, ${holder.application ?? holder.user ?? ''})` : ''}`);
            this.onProgress({ kind: 'lock-wait', environment: env.name, holder });
          },
        });
        if (lock.waitedMs > 0) {
          await history.ensure();
          await history.appendAudit({
            action: 'lock-wait',
            durationMs: lock.waitedMs,
            details: lock.waitedFor ? { holderPid: lock.waitedFor.pid, holderApplication: lock.waitedFor.application, holderUser: lock.waitedFor.user } : {},
          });
        }
      }
      // Writers create the tables only right before their first write (Session.ensureHistory), so a run
      // refused by a safety gate leaves the database exactly as it was.
      const historyExists = await history.exists();
      const rows = historyExists ? await history.rows() : [];
      const ensureHistory = async () => {
        if (!lock) throw new Error('internal: writing without the migration lock');
        await history.ensure();
      };
      return await fn({ env, db, history, historyExists, lock, rows, ensureHistory });
    } catch (e) {
      throw this.wrapDbError(e, env);
    } finally {
      if (lock) await lock.release();
      await db.close();
    }
  }

  historyKey(): string {
    return `${this.config.history.schema}.${this.config.history.table}`;
  }

  /** Turn driver errors into messages that name the environment, with secrets removed. */
  wrapDbError(e: unknown, env: EnvironmentConfig): unknown {
    if (e instanceof BulwarkError) return e;
    const f = pgErrorFields(e);
    const msg = this.redactor.redact(e instanceof Error ? e.message : String(e));
    if (isConnectionLost(e)) return new ConnectionError(`lost the connection to "${env.name}": ${msg}`, { cause: e });
    if (f) return new BulwarkError('INTERNAL', `on "${env.name}": ${msg}${f.code ? ` (SQLSTATE ${f.code})` : ''}`, { cause: e });
    return e;
  }

  /** Status of every migration on one environment (read-only). */
  async status(envName?: string): Promise<EnvironmentStatus> {
    const env = this.environment(envName);
    const set = this.migrations();
    return this.statusOf(env, set.migrations);
  }

  async statusOf(env: EnvironmentConfig, migrations: readonly Migration[]): Promise<EnvironmentStatus> {
    const base = {
      environment: env.name,
      connection: this.display(env),
      protected: env.protected,
      ...(env.requires ? { requires: env.requires } : {}),
    };
    try {
      return await this.withSession(env, { lock: false }, async (s) => {
        const holder = await lockHolder(s.db, lockKey(this.historyKey()));
        return {
          ...base,
          reachable: true,
          historyExists: s.historyExists,
          ...(holder ? { lockHolder: holder } : {}),
          migrations: computeStates(migrations, s.rows),
        };
      });
    } catch (e) {
      const err = e instanceof BulwarkError ? e.describe() : this.redactor.redact(e instanceof Error ? e.message : String(e));
      return { ...base, reachable: false, error: err, migrations: computeStates(migrations, []).map((m) => ({ ...m, status: 'pending' as const })) };
    }
  }

  /** Status on every environment, in promotion order (connections in parallel). */
  async statusAll(): Promise<EnvironmentStatus[]> {
    const set = this.migrations();
    if (this.config.environments.length === 0) this.environment(undefined); // throws the "what to configure" error
    return Promise.all(this.config.environments.map((env) => this.statusOf(env, set.migrations)));
  }

  /** Cancel the statement a session is running, from a second session. */
  async cancelBackend(env: EnvironmentConfig, pid: number): Promise<boolean> {
    // The embedded database runs in this process, one session only: nothing can reach it from outside.
    if (env.embedded) return false;
    const db = await this.connect(env);
    try {
      const r = await db.query<{ ok: boolean }>('SELECT pg_cancel_backend($1) AS ok', [pid]);
      return r.rows[0].ok;
    } finally {
      await db.close();
    }
  }

  /** Refuse a change to a protected environment unless its name was typed/passed. */
  checkConfirmation(env: EnvironmentConfig, confirm: string | undefined, action: string): void {
    if (!env.protected) return;
    if (confirm === env.name) return;
    throw new RefusedError(
      confirm === undefined
        ? `"${env.name}" is a protected environment: ${action} needs confirmation`
        : `"${env.name}" is a protected environment and the confirmation "${confirm}" does not match its name`,
      { hint: `Pass --confirm ${env.name} (or type the name when asked).` },
    );
  }
}

export function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

export function fileErrors(errors: BulwarkError[]): BulwarkError {
  if (errors.length === 1) return errors[0];
  return new BulwarkError(errors[0].code, `${errors.length} migration files have problems:\n${errors.map((e) => '  ' + e.describe().replace(/\n/g, '\n  ')).join('\n')}`);
}
