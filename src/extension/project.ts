// The workspace's Bulwark project as the editor sees it: configuration, migration files and each
// environment's status, refreshed when files or the configuration change and after every action.
// Everything database-related goes through the core Engine; this file only caches and serialises.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  BulwarkConfig,
  BulwarkError,
  CONFIG_FILE_NAME,
  ConfigValidationError,
  CredentialSource,
  Engine,
  EnvironmentConfig,
  EnvironmentStatus,
  loadConfig,
  Logger,
  Migration,
  MigrationState,
  ProgressEvent,
  Redactor,
} from '../core';

export interface RunningAction {
  env: string;
  /** e.g. "applying", "rolling back" */
  what: string;
  version?: string;
}

export class Project implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fires after every refresh and when an action starts or ends. */
  readonly onDidChange = this.emitter.event;

  config?: BulwarkConfig;
  configError?: Error;
  engine?: Engine;
  migrations: Migration[] = [];
  fileErrors: BulwarkError[] = [];
  statuses = new Map<string, EnvironmentStatus>();
  /** environment → version → state, and version → file: the tree and the lenses look these up per row. */
  private stateIndex = new Map<string, Map<string, MigrationState>>();
  private byVersion = new Map<string, Migration>();
  /** True once the first refresh finished. */
  loaded = false;
  /**
   * Whether the databases are asked: not before something shows their state (the Bulwark views, a
   * migration file's lenses) or a command runs. Opening some SQL file must not connect to production,
   * let alone ask for its password.
   */
  live = false;
  readonly running = new Map<string, RunningAction>();

  private readonly envQueues = new Map<string, Promise<unknown>>();
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private readonly progressSinks = new Map<string, (e: ProgressEvent) => void>();
  private readonly disposables: vscode.Disposable[] = [];
  private fileTimer?: NodeJS.Timeout;

  constructor(
    readonly root: string,
    private readonly deps: {
      logger: Logger;
      redactor: Redactor;
      credentials: CredentialSource;
      configFile: () => string;
    },
  ) {
    this.disposables.push(this.emitter);
  }

  get configPath(): string {
    return path.resolve(this.root, this.deps.configFile());
  }

  get migrationsDir(): string {
    return this.config?.migrationsDir ?? path.join(this.root, 'migrations');
  }

  get environments(): EnvironmentConfig[] {
    return this.config?.environments ?? [];
  }

  /** Watch the migration files and the configuration; changes refresh (debounced). */
  watch(): void {
    const schedule = () => {
      if (this.fileTimer) clearTimeout(this.fileTimer);
      this.fileTimer = setTimeout(() => void this.refresh({ connect: this.live }), 300);
    };
    const sql = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(this.root, '**/*.sql'));
    const cfg = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(this.root, `{${CONFIG_FILE_NAME},${this.deps.configFile()}}`));
    for (const w of [sql, cfg]) {
      w.onDidCreate(schedule, undefined, this.disposables);
      w.onDidDelete(schedule, undefined, this.disposables);
      w.onDidChange((u) => (u.fsPath.endsWith('.sql') && !this.isMigrationFile(u.fsPath) ? undefined : schedule()), undefined, this.disposables);
      this.disposables.push(w);
    }
  }

  /**
   * Re-read the configuration and the files, then every environment's status (in parallel); `connect: false`
   * reads only the files (and does not make the project live). Calls coalesce.
   */
  refresh(opts: { connect?: boolean } = {}): Promise<void> {
    if (opts.connect !== false) this.live = true;
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false;
          await this.load();
        } while (this.refreshAgain);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async load(): Promise<void> {
    this.loadConfig();
    const engine = this.engine;
    if (!engine) {
      this.migrations = [];
      this.fileErrors = [];
      this.statuses.clear();
      this.stateIndex.clear();
      this.byVersion.clear();
      this.finishLoad();
      return;
    }
    const set = engine.migrations();
    this.migrations = set.migrations;
    this.byVersion = new Map(set.migrations.map((m) => [m.version, m]));
    this.fileErrors = set.errors;
    this.finishLoad(); // files first: the tree can show them while the databases answer
    if (!this.live) return;
    const statuses = await Promise.all(
      engine.config.environments.map((env) => this.exclusive(env.name, () => engine.statusOf(env, set.migrations))),
    );
    if (engine !== this.engine) return; // the configuration changed meanwhile: a newer load follows
    this.statuses = new Map(statuses.map((s) => [s.environment, s]));
    this.stateIndex = new Map(statuses.map((s) => [s.environment, new Map(s.migrations.map((m) => [m.version, m]))]));
    for (const s of statuses) if (!s.reachable) this.deps.logger.warn(`[${s.environment}] unreachable: ${s.error}`);
    this.finishLoad();
  }

  private finishLoad(): void {
    this.loaded = true;
    void vscode.commands.executeCommand('setContext', 'bulwark.loaded', true);
    void vscode.commands.executeCommand('setContext', 'bulwark.hasConfig', this.config?.source === 'file');
    void vscode.commands.executeCommand('setContext', 'bulwark.hasMigrations', this.migrations.length > 0 || this.fileErrors.length > 0);
    void vscode.commands.executeCommand('setContext', 'bulwark.hasEnvironments', this.environments.length > 0);
    this.emitter.fire();
  }

  private loadConfig(): void {
    try {
      const configPath = this.configPath;
      const explicit = this.deps.configFile() !== CONFIG_FILE_NAME;
      const config = loadConfig({ cwd: this.root, env: process.env, ...(explicit ? { configPath } : {}) });
      const same = this.config && JSON.stringify(this.config) === JSON.stringify(config);
      this.config = config;
      this.configError = undefined;
      if (!same || !this.engine) {
        this.engine = new Engine({
          config,
          processEnv: process.env,
          logger: this.deps.logger,
          redactor: this.deps.redactor,
          credentials: this.deps.credentials,
          onProgress: (e) => this.progressSinks.get(e.environment)?.(e),
        });
      }
    } catch (e) {
      this.config = undefined;
      this.engine = undefined;
      this.configError = e instanceof Error ? e : new Error(String(e));
      this.deps.logger.error(`configuration: ${e instanceof BulwarkError ? e.describe() : this.configError.message}`);
    }
  }

  get configProblems(): ConfigValidationError | undefined {
    return this.configError instanceof ConfigValidationError ? this.configError : undefined;
  }

  /**
   * Run `fn` alone on one environment: the embedded database allows one session per process, and a status
   * read in the middle of an apply would show a half-finished picture anyway.
   */
  exclusive<T>(envName: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.envQueues.get(envName) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(() => undefined, () => undefined);
    this.envQueues.set(envName, settled);
    void settled.then(() => {
      if (this.envQueues.get(envName) === settled) this.envQueues.delete(envName);
    });
    return next;
  }

  /** Mark an environment busy (the tree shows it), route the engine's progress events to `onProgress`. */
  async act<T>(action: RunningAction, onProgress: (e: ProgressEvent) => void, fn: (engine: Engine) => Promise<T>): Promise<T> {
    const engine = this.requireEngine();
    return this.exclusive(action.env, async () => {
      this.running.set(action.env, action);
      this.progressSinks.set(action.env, onProgress);
      this.emitter.fire();
      try {
        return await fn(engine);
      } finally {
        this.running.delete(action.env);
        this.progressSinks.delete(action.env);
        this.emitter.fire();
      }
    });
  }

  requireEngine(): Engine {
    if (this.engine) return this.engine;
    throw this.configError ?? new BulwarkError('CONFIG', 'the Bulwark configuration is not loaded');
  }

  isMigrationFile(fsPath: string): boolean {
    if (!fsPath.endsWith('.sql')) return false;
    const rel = path.relative(this.migrationsDir, fsPath);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.includes(path.sep);
  }

  migrationForFile(fsPath: string): Migration | undefined {
    const p = path.resolve(fsPath);
    return this.migrations.find((m) => path.resolve(m.file) === p);
  }

  migration(version: string): Migration | undefined {
    return this.byVersion.get(version);
  }

  stateOf(version: string, env: string): MigrationState | undefined {
    return this.stateIndex.get(env)?.get(version);
  }

  /** Versions in apply order: every file, then versions recorded somewhere whose file is gone. */
  versions(): { version: string; name: string; file?: string }[] {
    const out = new Map<string, { version: string; name: string; file?: string }>();
    for (const m of this.migrations) out.set(m.version, { version: m.version, name: m.name, file: m.file });
    for (const s of this.statuses.values()) for (const m of s.migrations) if (!out.has(m.version)) out.set(m.version, { version: m.version, name: m.name });
    return [...out.values()].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  }

  dispose(): void {
    if (this.fileTimer) clearTimeout(this.fileTimer);
    for (const d of this.disposables) d.dispose();
  }
}

/** The folder whose project the window shows: the first with a configuration or a migrations folder. */
export async function projectRoot(configFile: string): Promise<string | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  for (const f of folders) {
    for (const probe of [configFile, 'migrations']) {
      try {
        await vscode.workspace.fs.stat(vscode.Uri.joinPath(f.uri, probe));
        return f.uri.fsPath;
      } catch {
        // not here
      }
    }
  }
  return folders[0]?.uri.fsPath;
}
