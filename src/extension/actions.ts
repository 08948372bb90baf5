// The commands: each resolves its target (tree node, code lens argument or the active editor), asks what
// must be asked (environment, protected-name confirmation), runs the core with a cancellable progress
// notification, and reports where people look: notifications, the log, diagnostics, reports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  apply,
  BulwarkError,
  CONFIG_FILE_NAME,
  createMigration,
  dryRun,
  DryRunResult,
  EnvironmentConfig,
  describeHolder,
  history,
  MigrationFailure,
  osUser,
  parseFileName,
  ProgressEvent,
  RefusedError,
  BackupError,
  rollback,
  RunResult,
  unlock,
  UnlockResult,
} from '../core';
import type { Prompter } from './api';
import type { Target } from './codeLens';
import { duration } from './present';
import type { Project } from './project';
import { dryRunMarkdown, dryRunSummary, historyMarkdown, Reports } from './reports';
import type { Node } from './trees';

export interface ActionDeps {
  project: Project;
  log: vscode.LogOutputChannel;
  reports: Reports;
  prompter: () => Prompter;
  /** Problems from apply / dry run, at the PostgreSQL error position. */
  runDiagnostics: vscode.DiagnosticCollection;
  activeEnvironment: () => string | undefined;
  setActiveEnvironment: (name: string) => Promise<void>;
  forgetPassword: (env: EnvironmentConfig) => Promise<boolean>;
  verifyAll: () => Promise<unknown>;
  /** Removes every secret the engine has seen (typed passwords, URL passwords) from a text. */
  redact: (text: string) => string;
}

type Arg = Node | Target | vscode.Uri | undefined;

/** Errors as notifications with the way to more detail; the full text goes to the log. */
export async function showError(deps: Pick<ActionDeps, 'log' | 'redact'>, what: string, e: unknown): Promise<void> {
  const text = deps.redact(e instanceof BulwarkError ? e.describe() : e instanceof Error ? e.message : String(e));
  deps.log.error(`${what}: ${text}`);
  const first = text.split('\n')[0];
  const loc = e instanceof BulwarkError ? e.location : undefined;
  const buttons = ['Show Log', ...(loc ? ['Open File'] : [])];
  // Not awaited: the command is over; the buttons act whenever (if ever) they are clicked.
  void vscode.window.showErrorMessage(`Bulwark: ${what}: ${first}`, ...buttons).then((choice) => {
    if (choice === 'Show Log') deps.log.show(true);
    if (choice === 'Open File' && loc) {
      const pos = new vscode.Position(Math.max(0, (loc.line ?? 1) - 1), Math.max(0, (loc.column ?? 1) - 1));
      void vscode.window.showTextDocument(vscode.Uri.file(loc.file), { selection: new vscode.Range(pos, pos) });
    }
  });
}

export class Actions {
  constructor(private readonly d: ActionDeps) {}

  register(context: vscode.ExtensionContext): void {
    const reg = (id: string, fn: (arg?: Arg, ...rest: unknown[]) => Promise<unknown>) =>
      context.subscriptions.push(
        vscode.commands.registerCommand(id, async (arg?: Arg, ...rest: unknown[]) => {
          try {
            return await fn(arg, ...rest);
          } catch (e) {
            await showError(this.d, id.replace('bulwark.', ''), e);
            return undefined;
          }
        }),
      );
    reg('bulwark.refresh', () => this.refresh());
    reg('bulwark.apply', (a) => this.apply(a));
    reg('bulwark.applyAll', (a) => this.applyAll(a));
    reg('bulwark.rollback', (a) => this.rollback(a));
    reg('bulwark.dryRun', (a) => this.dryRun(a));
    reg('bulwark.open', (a) => this.open(a));
    reg('bulwark.showHistory', (a) => this.showHistory(a));
    reg('bulwark.copySql', (a) => this.copySql(a));
    reg('bulwark.newMigration', () => this.newMigration());
    reg('bulwark.createConfig', () => this.createConfig());
    reg('bulwark.selectEnvironment', () => this.selectEnvironment());
    reg('bulwark.forgetPassword', (a) => this.forgetPassword(a));
    reg('bulwark.unlock', (a) => this.unlock(a));
    reg('bulwark.verifyAll', () => this.d.verifyAll());
    reg('bulwark.showLog', async () => this.d.log.show());
  }

  private get p(): Project {
    return this.d.project;
  }

  async refresh(): Promise<void> {
    this.d.log.info('refresh');
    await this.p.refresh();
  }

  // ---------------------------------------------------------------------------------------------
  // Targets

  /** The migration version an argument points at, else the active editor's migration file. */
  private versionOf(arg: Arg): string | undefined {
    if (arg instanceof vscode.Uri) return parseFileName(path.basename(arg.fsPath))?.version;
    if (arg && 'version' in arg) return arg.version;
    const doc = vscode.window.activeTextEditor?.document;
    if (doc && this.p.isMigrationFile(doc.uri.fsPath)) return parseFileName(path.basename(doc.uri.fsPath))?.version;
    return undefined;
  }

  private envOf(arg: Arg): string | undefined {
    if (arg && !(arg instanceof vscode.Uri) && 'env' in arg) return arg.env;
    return undefined;
  }

  private async pickEnvironment(placeHolder: string, filter: (e: EnvironmentConfig) => boolean = () => true): Promise<EnvironmentConfig | undefined> {
    const envs = this.p.environments.filter(filter);
    if (envs.length === 0) throw new RefusedError('no environment fits: check bulwark.json');
    if (envs.length === 1) return envs[0];
    const active = this.d.activeEnvironment();
    const items = envs
      .map((e) => ({ label: e.name, description: [e.protected ? 'protected' : '', this.p.engine?.display(e) ?? ''].filter(Boolean).join(' · '), env: e }))
      .sort((a, b) => (a.label === active ? -1 : b.label === active ? 1 : 0));
    return (await this.d.prompter().pick(items, { placeHolder }))?.env;
  }

  private environment(name: string): EnvironmentConfig {
    return this.p.requireEngine().environment(name);
  }

  /** For a protected environment: the typed name, or undefined when the person cancelled or typed another. */
  private async confirmProtected(env: EnvironmentConfig, action: string): Promise<{ ok: boolean; confirm?: string }> {
    if (!env.protected) return { ok: true };
    const typed = await this.d.prompter().input({
      title: `${action} on the protected environment "${env.name}"`,
      prompt: `Type "${env.name}" to confirm.`,
      placeHolder: env.name,
      ignoreFocusOut: true,
      validateInput: (v) => (v === '' || v === env.name ? undefined : `Type exactly "${env.name}"`),
    });
    if (typed !== env.name) {
      const why = typed === undefined || typed === '' ? 'not confirmed' : `the confirmation "${typed}" does not match`;
      this.d.log.warn(`[${env.name}] ${action} refused: ${why}`);
      void vscode.window.showWarningMessage(`Bulwark: nothing was done on "${env.name}": ${action} on a protected environment needs its name typed (${why}).`);
      return { ok: false };
    }
    return { ok: true, confirm: typed };
  }

  /**
   * The engine runs the files on disk: save the open migration files with unsaved changes first, so what
   * runs is what the editor shows (and the history's checksum matches it).
   */
  private async saveMigrationEditors(): Promise<void> {
    let saved = false;
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.isDirty && doc.uri.scheme === 'file' && this.p.isMigrationFile(doc.uri.fsPath)) {
        this.d.log.info(`saving ${path.relative(this.p.root, doc.uri.fsPath)} before running it`);
        if (!(await doc.save())) throw new RefusedError(`could not save ${path.basename(doc.uri.fsPath)}: nothing was run`);
        saved = true;
      }
    }
    // Re-read only when a file changed (or nothing was read from the databases yet): the checks before a
    // run (earlier pending migrations, out of order) need current states, not a second round of queries.
    if (saved || !this.p.live) await this.p.refresh();
  }

  // ---------------------------------------------------------------------------------------------
  // Running

  private progressText(e: ProgressEvent): string {
    switch (e.kind) {
      case 'lock-wait':
        return `waiting for the migration lock${e.holder ? ` (held by pid ${e.holder.pid} ${e.holder.application ?? ''})` : ''}`;
      case 'database':
        return e.message;
      case 'migration-start':
        return `${e.direction === 'up' ? 'applying' : 'rolling back'} ${e.version}_${e.name} (${e.index + 1}/${e.total})`;
      case 'migration-done':
        return `${e.version}_${e.name} ${e.ok ? 'done' : 'FAILED'} in ${duration(e.durationMs)}`;
    }
  }

  /** Run an engine action on one environment under a cancellable progress notification. */
  private run<T>(env: string, what: 'apply' | 'rollback' | 'dry-run', title: string, version: string | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: what !== 'dry-run' }, async (progress, token) => {
        const ac = new AbortController();
        const sub = token.onCancellationRequested(() => {
          this.d.log.warn(`[${env}] ${what} cancelled by the user`);
          ac.abort();
        });
        try {
          return await this.p.act(
            { env, what, version },
            (e) => {
              const msg = this.progressText(e);
              this.d.log.info(`[${env}] ${msg}`);
              progress.report({ message: msg });
            },
            () => fn(ac.signal),
          );
        } finally {
          sub.dispose();
        }
      }),
    );
  }

  /**
   * Run with the environment's backup; when the backup cannot be taken (nothing ran), say why and offer to
   * go on without one (recorded in the audit trail). undefined: the person declined.
   */
  private async withoutBackupIfAsked(envName: string, verb: string, fn: (backup: { backup?: false }) => Promise<RunResult>): Promise<RunResult | undefined> {
    try {
      return await fn({});
    } catch (e) {
      if (!(e instanceof BackupError)) throw e;
      this.d.log.error(`[${envName}] ${e.message}`);
      const choice = await this.d.prompter().confirm(`Bulwark: the backup of "${envName}" could not be taken; nothing was changed.`, `${e.message}\n\n${e.hint ?? ''}`, `${verb} Without Backup`);
      if (choice !== `${verb} Without Backup`) return undefined;
      this.d.log.warn(`[${envName}] ${verb.toLowerCase()} without a backup (chosen after the backup failed)`);
      return fn({ backup: false });
    }
  }

  /** Report a run: log every result, failures as diagnostics and an error notification, then refresh. */
  private async report(r: RunResult, verb: string): Promise<void> {
    for (const w of r.warnings) this.d.log.warn(`[${r.environment}] ${w}`);
    if (r.backup) {
      const b = r.backup;
      this.d.log.info(`[${r.environment}] backup: ${b.dir} (${b.data === 'all' ? 'whole database' : `schema + ${b.tables.length} table(s): ${b.tables.join(', ')}`}; pg_dump ${b.pgDump.version}; ${duration(b.durationMs)})`);
      for (const x of b.opaque) this.d.log.warn(`[${r.environment}] the backup may miss rows changed by ${x.what} (${x.version}_${x.name}, line ${x.line})`);
    }
    for (const x of r.results) {
      if (x.status === 'failed') this.d.log.error(`[${r.environment}] ${x.version}_${x.name} failed: ${x.error.message} (${x.error.file}:${x.error.line}:${x.error.column}) — ${x.error.outcome}`);
      else if (x.status === 'not-executed') this.d.log.info(`[${r.environment}] ${x.version}_${x.name} not executed`);
      else this.d.log.info(`[${r.environment}] ${x.version}_${x.name} ${x.status} in ${duration(x.durationMs)}`);
    }
    for (const x of r.results) if (x.status !== 'not-executed' && x.status !== 'failed') this.clearRunDiagnostics(this.p.migration(x.version)?.file);
    const failed = r.results.find((x) => x.status === 'failed');
    // The tree and the lenses show the new state by the time the command resolves.
    await this.p.refresh();
    if (failed && failed.status === 'failed') {
      const err = failed.error;
      this.setFailureDiagnostic(err, r.environment, verb);
      void vscode.window
        .showErrorMessage(`Bulwark: ${verb} ${failed.version}_${failed.name} on ${r.environment} failed: ${err.message.split('\n')[0]} — ${err.outcome}`, 'Open File', 'Show Log')
        .then((choice) => {
          if (choice === 'Show Log') this.d.log.show(true);
          if (choice === 'Open File') {
            const pos = new vscode.Position(err.line - 1, err.column - 1);
            void vscode.window.showTextDocument(vscode.Uri.file(err.file), { selection: new vscode.Range(pos, pos) });
          }
        });
      return;
    }
    if (r.cancelled) {
      void vscode.window.showWarningMessage(`Bulwark: ${verb} on ${r.environment} was cancelled; the running migration was rolled back.`);
      return;
    }
    const done = r.results.filter((x) => x.status === 'applied' || x.status === 'rolled-back');
    const total = done.reduce((a, x) => a + ('durationMs' in x ? x.durationMs : 0), 0);
    void vscode.window.showInformationMessage(
      done.length === 0
        ? `Bulwark: nothing to ${verb} on ${r.environment}.`
        : `Bulwark: ${verb === 'apply' ? 'applied' : 'rolled back'} ${done.length === 1 ? `${done[0].version}_${done[0].name}` : `${done.length} migrations`} on ${r.environment} in ${duration(total)}.` +
            (r.backup ? ` Backup in ${path.relative(this.p.root, r.backup.dir) || r.backup.dir}.` : r.backupSkipped ? ' No backup was taken.' : ''),
    );
  }

  private setFailureDiagnostic(f: MigrationFailure | { message: string; file: string; line: number; column: number; code?: string; detail?: string; hint?: string }, env: string, verb: string): void {
    const uri = vscode.Uri.file(f.file);
    const pos = new vscode.Position(Math.max(0, f.line - 1), Math.max(0, f.column - 1));
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === uri.fsPath);
    const range = doc ? (doc.getWordRangeAtPosition(pos) ?? new vscode.Range(pos, doc.lineAt(pos.line).range.end)) : new vscode.Range(pos, pos.translate(0, 1));
    const msg = `${verb} on ${env} failed: ${f.message}${f.detail ? `\nDETAIL: ${f.detail}` : ''}${f.hint ? `\nHINT: ${f.hint}` : ''}${'outcome' in f ? `\n${f.outcome}` : ''}`;
    const diag = new vscode.Diagnostic(range, msg, vscode.DiagnosticSeverity.Error);
    diag.source = 'bulwark (PostgreSQL)';
    if (f.code) diag.code = f.code;
    const others = (this.d.runDiagnostics.get(uri) ?? []).filter((x) => !x.message.startsWith(`${verb} on ${env} failed`));
    this.d.runDiagnostics.set(uri, [...others, diag]);
  }

  private clearRunDiagnostics(file: string | undefined): void {
    if (file) this.d.runDiagnostics.delete(vscode.Uri.file(file));
  }

  async apply(arg?: Arg): Promise<RunResult | undefined> {
    // An environment row (or "Apply all pending to…") means every pending migration; otherwise the migration of the argument or the active editor.
    const version = arg && !(arg instanceof vscode.Uri) && 'kind' in arg && arg.kind === 'environment' ? undefined : this.versionOf(arg);
    let envName = this.envOf(arg);
    if (!envName) envName = (await this.pickEnvironment(version ? `Apply ${version} to…` : 'Apply all pending migrations to…'))?.name;
    if (!envName) return undefined;
    const env = this.environment(envName);
    await this.saveMigrationEditors();
    const state = version ? this.p.stateOf(version, envName) : undefined;
    const earlier = version
      ? (this.p.statuses.get(envName)?.migrations ?? []).filter((m) => m.version < version && (m.status === 'pending' || (m.status === 'failed' && !m.statementsDone)))
      : [];
    if (earlier.length > 0) {
      const ok = await this.d.prompter().confirm(
        `Apply ${version} to ${envName}?`,
        `Migrations apply in order: this also applies ${earlier.length} earlier pending migration(s) first: ${earlier.map((m) => `${m.version}_${m.name}`).join(', ')}.`,
        'Apply All of Them',
      );
      if (ok !== 'Apply All of Them') return undefined;
    }
    let allowOutOfOrder = false;
    if (state?.status === 'out-of-order') {
      const ok = await this.d.prompter().confirm(
        `Apply ${version} out of order on ${envName}?`,
        'A later migration is already applied there. Apply this one anyway (it runs after the later one)?',
        'Apply Out of Order',
      );
      if (ok !== 'Apply Out of Order') return undefined;
      allowOutOfOrder = true;
    }
    const c = await this.confirmProtected(env, 'apply');
    if (!c.ok) return undefined;
    this.d.log.info(`[${envName}] apply ${version ?? 'all pending'}${c.confirm ? ' (protected: confirmed by typing its name)' : ''}`);
    const r = await this.withoutBackupIfAsked(envName, 'Apply', (backup) =>
      this.run(envName, 'apply', `Bulwark: applying ${version ?? 'pending migrations'} to ${envName}`, version, (signal) =>
        apply(this.p.requireEngine(), envName, { ...(version ? { to: version } : {}), allowOutOfOrder, confirm: c.confirm, signal, ...backup }),
      ),
    );
    if (!r) return undefined;
    await this.report(r, 'apply');
    return r;
  }

  async applyAll(arg?: Arg): Promise<RunResult | undefined> {
    let envName = arg && !(arg instanceof vscode.Uri) && 'env' in arg ? arg.env : undefined;
    if (!envName) envName = (await this.pickEnvironment('Apply all pending migrations to…'))?.name;
    if (!envName) return undefined;
    return this.apply({ kind: 'environment', env: envName } as unknown as Arg);
  }

  async rollback(arg?: Arg): Promise<RunResult | undefined> {
    const version = this.versionOf(arg);
    if (!version) throw new RefusedError('choose the migration to roll back (from the tree, a code lens, or an open migration file)');
    let envName = this.envOf(arg);
    if (!envName) envName = (await this.pickEnvironment(`Roll back ${version} on…`, (e) => ['applied', 'edited'].includes(this.p.stateOf(version, e.name)?.status ?? '')))?.name;
    if (!envName) return undefined;
    const env = this.environment(envName);
    const m = this.p.migration(version);
    if (m && !m.down) throw new RefusedError(`${version}_${m.name} has no down section: it cannot be rolled back`, { hint: 'Write a `-- migrate:down` section, or a new migration that undoes it.' });
    const s = this.p.stateOf(version, envName);
    const later = (this.p.statuses.get(envName)?.migrations ?? []).filter((x) => x.version > version && (x.status === 'applied' || x.status === 'edited'));
    const detail = `${later.length ? `${later.length} later migration(s) stay applied: ${later.map((x) => x.version).join(', ')}. ` : ''}The down section runs in ${m?.down?.transaction === false ? 'NO transaction' : 'one transaction'}; data it drops is gone.`;
    const ok = env.protected ? 'Roll Back' : await this.d.prompter().confirm(`Roll back ${version}_${s?.name ?? m?.name ?? ''} on ${envName}?`, detail, 'Roll Back');
    if (ok !== 'Roll Back') return undefined;
    const c = await this.confirmProtected(env, 'rollback');
    if (!c.ok) return undefined;
    this.d.log.info(`[${envName}] rollback ${version}`);
    const r = await this.withoutBackupIfAsked(envName, 'Roll Back', (backup) =>
      this.run(envName, 'rollback', `Bulwark: rolling back ${version} on ${envName}`, version, (signal) =>
        rollback(this.p.requireEngine(), envName, { version, confirm: c.confirm, signal, ...backup }),
      ),
    );
    if (!r) return undefined;
    await this.report(r, 'rollback');
    return r;
  }

  async dryRun(arg?: Arg): Promise<DryRunResult | undefined> {
    const version = this.versionOf(arg);
    let envName = this.envOf(arg);
    if (!envName) envName = (await this.pickEnvironment(version ? `Dry run ${version} on…` : 'Dry run the pending migrations on…'))?.name;
    if (!envName) return undefined;
    await this.saveMigrationEditors();
    this.d.log.info(`[${envName}] dry run ${version ?? 'all pending'}`);
    const r = await this.run(envName, 'dry-run', `Bulwark: dry run on ${envName}`, version, () => dryRun(this.p.requireEngine(), envName, version ? { version } : {}));
    for (const w of r.warnings) this.d.log.warn(`[${envName}] ${w}`);
    for (const m of r.migrations) {
      this.clearRunDiagnostics(m.file);
      for (const s of m.statements) {
        this.d.log.info(`[${envName}] dry run ${m.version}:${s.line} ${duration(s.durationMs)} rows=${s.rowCount ?? ''} locks=${s.locks.map((l) => `${l.mode}@${l.relation}`).join(',')} rewritten=${s.rewritten.join(',')}`);
        if (s.error) this.setFailureDiagnostic({ ...s.error, file: m.file }, envName, 'dry run');
      }
    }
    await this.d.reports.show(`dry-run-${envName}${version ? '-' + version : ''}`, dryRunMarkdown(r, (f) => path.relative(this.p.root, f)));
    const summary = dryRunSummary(r);
    if (r.ok) void vscode.window.showInformationMessage(`Bulwark: ${summary}`);
    else void vscode.window.showErrorMessage(`Bulwark: ${summary}`);
    return r;
  }

  async open(arg?: Arg): Promise<void> {
    const file = arg && !(arg instanceof vscode.Uri) && 'file' in arg && arg.file ? arg.file : this.p.migration(this.versionOf(arg) ?? '')?.file;
    if (!file) throw new RefusedError('this migration has no file in the migrations folder (it is recorded in a database only)');
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  }

  async showHistory(arg?: Arg): Promise<void> {
    let envName = this.envOf(arg);
    const version = arg && !(arg instanceof vscode.Uri) && 'kind' in arg && arg.kind === 'environment' ? undefined : this.versionOf(arg);
    if (!envName) envName = (await this.pickEnvironment('Show the history on…'))?.name;
    if (!envName) return;
    const env = envName;
    const rows = await this.p.exclusive(env, () => history(this.p.requireEngine(), env, version));
    this.d.log.info(`[${env}] history ${version ?? ''}: ${rows.length} entries`);
    await this.d.reports.show(`history-${env}${version ? '-' + version : ''}`, historyMarkdown(env, version, rows));
  }

  async copySql(arg?: Arg): Promise<void> {
    const m = this.p.migration(this.versionOf(arg) ?? '');
    if (!m) throw new RefusedError('no migration file to copy');
    await vscode.env.clipboard.writeText(m.up.sql.trim() + '\n');
    void vscode.window.setStatusBarMessage(`Bulwark: copied the up section of ${m.version}_${m.name}`, 3000);
  }

  async newMigration(): Promise<vscode.Uri | undefined> {
    const name = await this.d.prompter().input({
      title: 'New migration',
      prompt: 'What does it change? (becomes the file name, e.g. "add users email index")',
      validateInput: (v) => (/[a-z0-9]/i.test(v) ? undefined : 'Use letters or digits'),
    });
    if (!name) return undefined;
    const config = this.p.config;
    const dir = config?.migrationsDir ?? path.join(this.p.root, 'migrations');
    const templateDir = config?.templateDir ?? path.join(this.p.root, 'migrations-template');
    const created = createMigration({ dir, templateDir, name, author: osUser() });
    this.d.log.info(`new migration ${path.relative(this.p.root, created.file)}`);
    const uri = vscode.Uri.file(created.file);
    const editor = await vscode.window.showTextDocument(uri);
    // Put the cursor where the change goes: the first empty line after `-- migrate:up`'s prologue.
    const lines = created.content.split('\n');
    const up = lines.findIndex((l) => /^--\s*migrate:up/.test(l));
    let line = up;
    for (let i = up + 1; i < lines.length && !/^--\s*migrate:down/.test(lines[i]); i++) if (/^--/.test(lines[i]) && /change|here/i.test(lines[i])) line = i;
    if (line >= 0) editor.selection = new vscode.Selection(line, 0, line, lines[line]?.length ?? 0);
    void this.p.refresh();
    return uri;
  }

  async createConfig(): Promise<vscode.Uri> {
    const file = this.p.configPath;
    if (!fs.existsSync(file)) {
      const body = [
        '// Bulwark configuration. Passwords never go here: use ${env:VAR} references, connection.passwordEnv,',
        "// PGPASSWORD or ~/.pgpass, or let the editor ask once and keep the password in VS Code's secret storage.",
        '{',
        '  "migrationsDir": "migrations",',
        '  "environments": [',
        '    // A PostgreSQL inside Bulwark (data in .bulwark/local, git-ignored): nothing to install.',
        '    { "name": "local", "embedded": true },',
        '    { "name": "dev", "url": "${env:DEV_DATABASE_URL}", "lockTimeout": "5s" },',
        '    // protected: changes ask you to type its name; requires: each migration must be applied on dev first.',
        '    { "name": "prod", "url": "${env:PROD_DATABASE_URL}", "protected": true, "requires": "dev", "lockTimeout": "3s" }',
        '  ]',
        '}',
        '',
      ].join('\n');
      fs.writeFileSync(file, body, { flag: 'wx' });
      this.d.log.info(`created ${path.relative(this.p.root, file) || CONFIG_FILE_NAME}`);
    }
    const uri = vscode.Uri.file(file);
    await vscode.window.showTextDocument(uri);
    void this.p.refresh();
    return uri;
  }

  async selectEnvironment(): Promise<string | undefined> {
    const env = await this.pickEnvironment('Active environment (the default for commands and the status bar)');
    if (env) await this.d.setActiveEnvironment(env.name);
    return env?.name;
  }

  /** End the session that holds an environment's migration lock (a run that died with its connection open). */
  async unlock(arg?: Arg): Promise<UnlockResult | undefined> {
    let name = this.envOf(arg);
    if (!name) name = (await this.pickEnvironment('End the stale lock holder on…', (e) => this.p.statuses.get(e.name)?.lockHolder !== undefined))?.name;
    if (!name) return undefined;
    const envName = name;
    await this.p.refresh();
    const holder = this.p.statuses.get(envName)?.lockHolder;
    if (!holder) {
      void vscode.window.showInformationMessage(`Bulwark: nobody holds the migration lock on "${envName}" now.`);
      return undefined;
    }
    const env = this.environment(envName);
    const ok = await this.d.prompter().confirm(
      `End the session holding the migration lock on ${envName}?`,
      `${describeHolder(holder)}. Do this only if that run is gone (its process died with the connection open): its open transaction rolls back. Audited as "unlock".`,
      'End It',
    );
    if (ok !== 'End It') return undefined;
    const c = await this.confirmProtected(env, 'unlock');
    if (!c.ok) return undefined;
    const r = await this.p.exclusive(envName, () => unlock(this.p.requireEngine(), envName, { pid: holder.pid, confirm: c.confirm }));
    this.d.log.warn(`[${envName}] ${r.message}`);
    await this.p.refresh();
    void vscode.window.showInformationMessage(`Bulwark: ${r.message}.`);
    return r;
  }

  async forgetPassword(arg?: Arg): Promise<boolean> {
    let name = this.envOf(arg);
    if (!name) name = (await this.pickEnvironment('Forget the saved password of…', (e) => !e.embedded))?.name;
    if (!name) return false;
    const forgot = await this.d.forgetPassword(this.environment(name));
    void vscode.window.showInformationMessage(forgot ? `Bulwark: forgot the saved password of "${name}".` : `Bulwark: no password was saved for "${name}".`);
    return forgot;
  }
}
