// Bulwark's VS Code extension: thin adapters over src/core (the engine the CLI runs on).
import * as vscode from 'vscode';
import { LintSettings, lintSettingsFrom } from '../core/lint';
import { CONFIG_FILE_NAME, Logger, Redactor } from '../core';
import { Actions } from './actions';
import { AppliedEdits } from './appliedEdits';
import type { Prompter } from './api';
import { MigrationLenses } from './codeLens';
import { SecretCredentials, windowPrompter } from './credentials';
import { LintService, registerLinting } from './lintDiagnostics';
import { Project, projectRoot } from './project';
import { Replayer } from './replay';
import { Reports } from './reports';
import { EnvironmentStatusBar } from './statusBar';
import { EnvironmentsTree, MigrationsTree } from './trees';

/** What activate() returns: the extension's own tests in a real VS Code use it. */
export interface BulwarkApi {
  project?: Project;
  migrationsTree?: MigrationsTree;
  environmentsTree?: EnvironmentsTree;
  codeLenses?: MigrationLenses;
  lint: LintService;
  replayer?: Replayer;
  actions?: Actions;
  credentials?: SecretCredentials;
  statusBar?: EnvironmentStatusBar;
  appliedEdits?: AppliedEdits;
  runDiagnostics: vscode.DiagnosticCollection;
  reports: Reports;
  /** Answer prompts programmatically (tests); undefined restores the real prompts. */
  setPrompter(p: Prompter | undefined): void;
  activeEnvironment(): string | undefined;
  /** The extension host's log folder for this extension (the "Bulwark" output channel's file is near it). */
  logUri: vscode.Uri;
}

const ACTIVE_ENV_KEY = 'bulwark.activeEnvironment';

export async function activate(context: vscode.ExtensionContext): Promise<BulwarkApi> {
  const channel = vscode.window.createOutputChannel('Bulwark', { log: true });
  context.subscriptions.push(channel);
  const redactor = new Redactor();
  // Every line anything writes goes through the redactor: passwords the engine learned never reach the log.
  const log = new Proxy(channel, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v === 'function' && ['trace', 'debug', 'info', 'warn', 'error', 'appendLine', 'append'].includes(String(prop))) {
        return (first: unknown, ...rest: unknown[]) => (v as (...a: unknown[]) => unknown).call(target, typeof first === 'string' ? redactor.redact(first) : first, ...rest);
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const logger: Logger = {
    debug: (m) => log.debug(redactor.redact(m)),
    info: (m) => log.info(redactor.redact(m)),
    warn: (m) => log.warn(redactor.redact(m)),
    error: (m) => log.error(redactor.redact(m)),
  };
  let prompter: Prompter = windowPrompter;
  const getPrompter = () => prompter;
  const configFile = () => vscode.workspace.getConfiguration('bulwark').get<string>('configFile', CONFIG_FILE_NAME) || CONFIG_FILE_NAME;

  const reports = new Reports();
  const runDiagnostics = vscode.languages.createDiagnosticCollection('bulwark-run');
  context.subscriptions.push(reports, runDiagnostics);
  // A failure's position goes stale as soon as the file is edited.
  context.subscriptions.push(vscode.workspace.onDidChangeTextDocument((e) => (e.contentChanges.length ? runDiagnostics.delete(e.document.uri) : undefined)));

  const root = await projectRoot(configFile());
  const media = vscode.Uri.joinPath(context.extensionUri, 'media');
  const lintChanged = new vscode.EventEmitter<void>();
  context.subscriptions.push(lintChanged);

  let project: Project | undefined;
  let credentials: SecretCredentials | undefined;
  if (root) {
    credentials = new SecretCredentials(context.secrets, root, getPrompter, log);
    project = new Project(root, { logger, redactor, credentials, configFile });
    context.subscriptions.push(project);
  }

  // Asked on every keystroke: parsed once per loaded configuration.
  let lintSettings: { config?: object; settings: Partial<LintSettings> } = { settings: {} };
  const lint = registerLinting(context, {
    log,
    settings: () => {
      const cfg = project?.config;
      if (cfg && cfg !== lintSettings.config) lintSettings = { config: cfg, settings: lintSettingsFrom(cfg.lint, {}, cfg.file ?? CONFIG_FILE_NAME) };
      return lintSettings.settings;
    },
    isMigrationDocument: (doc) =>
      doc.languageId === 'sql' && (project?.isMigrationFile(doc.uri.fsPath) === true || /^--[ \t]*migrate:up\b/m.test(doc.getText(new vscode.Range(0, 0, 200, 0)))),
    ruleDocUri: (id) => vscode.Uri.joinPath(context.extensionUri, 'docs', 'rules', `${id}.md`),
    onDidChange: lintChanged.event,
  });

  const api: BulwarkApi = {
    lint,
    runDiagnostics,
    reports,
    setPrompter: (p) => {
      prompter = p ?? windowPrompter;
    },
    activeEnvironment: () => undefined,
    logUri: context.logUri,
  };
  if (!project) {
    log.info('no workspace folder: only linting is active');
    return api;
  }
  const p = project;

  const activeEnvironment = () => {
    const saved = context.workspaceState.get<string>(ACTIVE_ENV_KEY);
    const envs = p.environments;
    return envs.find((e) => e.name === saved)?.name ?? envs.find((e) => !e.protected)?.name ?? envs[0]?.name;
  };
  const statusBar = new EnvironmentStatusBar(p, activeEnvironment);
  const migrationsTree = new MigrationsTree(p, media);
  const environmentsTree = new EnvironmentsTree(p, media);
  const codeLenses = new MigrationLenses(p);
  const replayer = new Replayer(p, log, reports);
  const appliedEdits = new AppliedEdits(p);
  const actions = new Actions({
    project: p,
    log,
    reports,
    prompter: getPrompter,
    runDiagnostics,
    activeEnvironment,
    setActiveEnvironment: async (name) => {
      await context.workspaceState.update(ACTIVE_ENV_KEY, name);
      log.info(`active environment: ${name}`);
      statusBar.update();
    },
    forgetPassword: (env) => credentials!.forgetIfSaved(env),
    verifyAll: () => replayer.verifyAll(),
    redact: (t) => redactor.redact(t),
  });
  actions.register(context);
  const migrationsView = vscode.window.createTreeView('bulwark.migrations', { treeDataProvider: migrationsTree, showCollapseAll: true });
  const environmentsView = vscode.window.createTreeView('bulwark.environments', { treeDataProvider: environmentsTree });
  context.subscriptions.push(
    appliedEdits,
    statusBar,
    migrationsTree,
    environmentsTree,
    codeLenses,
    replayer,
    migrationsView,
    environmentsView,
    vscode.languages.registerCodeLensProvider({ language: 'sql', scheme: 'file' }, codeLenses),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('bulwark.configFile')) void p.refresh();
    }),
  );

  // Configuration problems as diagnostics on bulwark.json, at the setting.
  const configDiagnostics = vscode.languages.createDiagnosticCollection('bulwark-config');
  context.subscriptions.push(configDiagnostics);
  let lastConfigJson = '';
  context.subscriptions.push(
    p.onDidChange(() => {
      configDiagnostics.clear();
      const problems = p.configProblems;
      if (problems) {
        configDiagnostics.set(
          vscode.Uri.file(problems.problems[0]?.location.file ?? p.configPath),
          problems.problems.map((x) => {
            const start = new vscode.Position(x.location.line - 1, x.location.column - 1);
            const d = new vscode.Diagnostic(new vscode.Range(start, start.translate(0, Math.max(1, x.length))), (x.path ? `${x.path}: ` : '') + x.message + (x.hint ? ` (${x.hint})` : ''), vscode.DiagnosticSeverity.Error);
            d.source = 'bulwark';
            return d;
          }),
        );
      }
      const json = JSON.stringify([p.config?.lint, p.config?.migrationsDir]);
      if (json !== lastConfigJson) {
        lastConfigJson = json;
        lintChanged.fire();
      }
    }),
  );

  p.watch();
  log.info(`Bulwark ${context.extension.packageJSON.version} in ${p.root}`);
  void p.refresh({ connect: false }).then(() => {
    const c = p.config;
    if (c) log.info(`configuration: ${c.source === 'file' ? c.file : c.source}; environments: ${c.environments.map((e) => e.name).join(', ') || 'none'}; ${p.migrations.length} migration(s)`);
    if (migrationEditor(vscode.window.activeTextEditor)) goLive('a migration file is open');
  });
  // The databases are asked once something shows their state: a Bulwark view, or a migration file (its lenses).
  const goLive = (why: string) => {
    if (p.live) return;
    log.info(`reading the environments' status (${why})`);
    void p.refresh();
  };
  const migrationEditor = (ed: vscode.TextEditor | undefined) => ed !== undefined && p.isMigrationFile(ed.document.uri.fsPath);
  for (const view of [migrationsView, environmentsView]) {
    if (view.visible) goLive('the Bulwark view is open');
    context.subscriptions.push(view.onDidChangeVisibility((e) => (e.visible ? goLive('the Bulwark view is open') : undefined)));
  }
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor((ed) => (migrationEditor(ed) ? goLive('a migration file is open') : undefined)));

  Object.assign(api, { project: p, migrationsTree, environmentsTree, codeLenses, replayer, actions, credentials, statusBar, activeEnvironment, appliedEdits });
  return api;
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
