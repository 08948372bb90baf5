// Live lint diagnostics for migration files, their quick fixes ("fix", "ignore for this statement",
// "ignore in this file") and "fix all" (a source.fixAll.bulwark action and the bulwark.fixAll command).
// The parser is loaded once (async); after that everything here is synchronous: lint runs on keystrokes.
import * as vscode from 'vscode';
import { lint, loadParser, parserLoaded, type Finding, type LintSettings, type Severity } from '../core/lint';
import { fixAllText, ignoreForFileEdit, ignoreForStatementEdit, minimalEdit } from './lintFixes';

export interface LintHost {
  log: vscode.LogOutputChannel;
  /** Current lint settings of the project (from bulwark.json "lint"), already parsed with lintSettingsFrom. */
  settings(): Partial<LintSettings>;
  /** True for SQL documents Bulwark should lint (migration files). */
  isMigrationDocument(doc: vscode.TextDocument): boolean;
  /** Documentation of a rule, used as the Diagnostic.code target. */
  ruleDocUri(ruleId: string): vscode.Uri;
  /** Fires when settings or the set of migration files change: re-lint every open document. */
  onDidChange: vscode.Event<void>;
}

export interface LintService extends vscode.Disposable {
  /** Lint a document now (no debounce); resolves when its diagnostics are published. */
  lintNow(doc: vscode.TextDocument): Promise<void>;
  relintAll(): void;
  readonly collection: vscode.DiagnosticCollection;
}

export const SOURCE = 'bulwark';
export const FIX_ALL_KIND = vscode.CodeActionKind.SourceFixAll.append('bulwark');
export const FIX_ALL_TITLE = 'Fix all auto-fixable Bulwark problems';

/** Findings that an ignore comment cannot sensibly silence. */
const NOT_IGNORABLE = new Set(['syntax-error', 'internal-error', 'unused-ignore']);

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

function message(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

export function registerLinting(context: vscode.ExtensionContext, host: LintHost): LintService {
  const collection = vscode.languages.createDiagnosticCollection(SOURCE);
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** The last lint of each document (the code actions ask on every cursor move): by version and settings. */
  const cache = new Map<string, { version: number; settingsKey: string; findings: Finding[] }>();
  let parser: Promise<boolean> | undefined;
  let disposed = false;

  const config = () => vscode.workspace.getConfiguration('bulwark');
  const enabled = () => config().get<boolean>('lint.enable', true) !== false;
  const debounceMs = () => {
    const v = config().get<number>('lint.debounceMs', 250);
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 250;
  };

  const ensureParser = (): Promise<boolean> =>
    (parser ??= loadParser().then(
      () => true,
      (e) => {
        host.log.error(`Bulwark: could not load the SQL parser, linting is off: ${message(e)}`);
        parser = undefined; // try again next time
        return false;
      },
    ));

  const isMigration = (doc: vscode.TextDocument): boolean => {
    try {
      return host.isMigrationDocument(doc);
    } catch (e) {
      host.log.error(`Bulwark: isMigrationDocument failed for ${doc.uri.toString()}: ${message(e)}`);
      return false;
    }
  };

  const cancelTimer = (key: string) => {
    const t = timers.get(key);
    if (t !== undefined) {
      clearTimeout(t);
      timers.delete(key);
    }
  };

  /** Lint settings and a key to compare them by (throws what host.settings throws: callers log it). */
  const currentSettings = (): { settings: Partial<LintSettings>; key: string } => {
    const settings = host.settings();
    return { settings, key: JSON.stringify(settings) };
  };

  /** The findings of the document's current text (the parser must be loaded). Throws what lint throws. */
  const findingsOf = (doc: vscode.TextDocument): Finding[] => {
    const key = doc.uri.toString();
    const { settings, key: settingsKey } = currentSettings();
    const c = cache.get(key);
    if (c && c.version === doc.version && c.settingsKey === settingsKey) return c.findings;
    const findings = lint(doc.getText(), settings).findings;
    cache.set(key, { version: doc.version, settingsKey, findings });
    return findings;
  };

  const toDiagnostic = (doc: vscode.TextDocument, f: Finding): vscode.Diagnostic => {
    const range = new vscode.Range(doc.positionAt(f.start), doc.positionAt(Math.max(f.start, f.end)));
    const d = new vscode.Diagnostic(range, f.message, SEVERITY[f.severity] ?? vscode.DiagnosticSeverity.Warning);
    d.source = SOURCE;
    let target: vscode.Uri | undefined;
    try {
      target = host.ruleDocUri(f.rule);
    } catch {
      target = undefined;
    }
    d.code = target ? { value: f.rule, target } : f.rule;
    return d;
  };

  /** Lint synchronously and publish; on failure log and keep the previous diagnostics. */
  const lintSync = (doc: vscode.TextDocument, startedAt: number): void => {
    if (disposed || doc.isClosed) return;
    if (!enabled() || !isMigration(doc)) {
      collection.delete(doc.uri);
      return;
    }
    // A run that started before the document changed is stale: the change scheduled a newer run.
    if (doc.version !== startedAt) return;
    try {
      const findings = findingsOf(doc);
      collection.set(doc.uri, findings.map((f) => toDiagnostic(doc, f)));
    } catch (e) {
      host.log.error(`Bulwark: linting ${doc.uri.toString()} failed: ${message(e)}`);
    }
  };

  const lintNow = async (doc: vscode.TextDocument): Promise<void> => {
    try {
      const key = doc.uri.toString();
      cancelTimer(key);
      if (!enabled() || !isMigration(doc)) {
        collection.delete(doc.uri);
        return;
      }
      if (!parserLoaded() && !(await ensureParser())) return;
      // Everything from here is synchronous, so the text linted is the current one.
      lintSync(doc, doc.version);
    } catch (e) {
      host.log.error(`Bulwark: linting ${doc.uri.toString()} failed: ${message(e)}`);
    }
  };

  const schedule = (doc: vscode.TextDocument): void => {
    const key = doc.uri.toString();
    cancelTimer(key);
    if (!enabled()) return;
    const startedAt = doc.version;
    const run = () => {
      timers.delete(key);
      if (!parserLoaded()) {
        void ensureParser().then((ok) => ok && lintSync(doc, startedAt));
        return;
      }
      lintSync(doc, startedAt);
    };
    const ms = debounceMs();
    timers.set(key, setTimeout(run, ms));
  };

  const relintAll = (): void => {
    if (disposed) return;
    cache.clear();
    if (!enabled()) {
      for (const key of [...timers.keys()]) cancelTimer(key);
      collection.clear();
      return;
    }
    const open = new Set<string>();
    for (const doc of vscode.workspace.textDocuments) {
      open.add(doc.uri.toString());
      void lintNow(doc);
    }
    // Documents no longer open (or no longer linted: lintNow cleared those) keep nothing.
    const gone: vscode.Uri[] = [];
    collection.forEach((uri) => {
      if (!open.has(uri.toString())) gone.push(uri);
    });
    for (const uri of gone) collection.delete(uri);
  };

  // ------------------------------------------------------------------------------------------------
  // Code actions
  // ------------------------------------------------------------------------------------------------

  const ruleOf = (d: vscode.Diagnostic): string | undefined => {
    const c = d.code;
    if (typeof c === 'string' || typeof c === 'number') return String(c);
    if (c && typeof c === 'object') return String(c.value);
    return undefined;
  };

  const editOf = (doc: vscode.TextDocument, edits: readonly { start: number; end: number; text: string }[]): vscode.WorkspaceEdit => {
    const we = new vscode.WorkspaceEdit();
    for (const e of edits) we.replace(doc.uri, new vscode.Range(doc.positionAt(e.start), doc.positionAt(e.end)), e.text);
    return we;
  };

  /** The "fix all" result as one edit, or undefined when nothing is fixable. Throws what lint throws. */
  const fixAllEdit = (doc: vscode.TextDocument): vscode.WorkspaceEdit | undefined => {
    const { settings } = currentSettings();
    const text = doc.getText();
    const result = fixAllText(text, (t) => (t === text ? findingsOf(doc) : lint(t, settings).findings));
    const e = minimalEdit(text, result.text);
    return e ? editOf(doc, [e]) : undefined;
  };

  const quickFixes = (doc: vscode.TextDocument, diagnostics: readonly vscode.Diagnostic[]): vscode.CodeAction[] => {
    const ours = diagnostics.filter((d) => d.source === SOURCE && ruleOf(d));
    if (ours.length === 0) return [];
    let findings: Finding[] = [];
    try {
      findings = findingsOf(doc);
    } catch (e) {
      host.log.error(`Bulwark: linting ${doc.uri.toString()} for quick fixes failed: ${message(e)}`);
    }
    const text = doc.getText();
    const actions: vscode.CodeAction[] = [];
    const fileIgnores = new Set<string>();
    for (const d of ours) {
      const rule = ruleOf(d)!;
      const start = doc.offsetAt(d.range.start);
      // The diagnostic's finding in the current text: same rule, same range.
      const f = findings.find(
        (x) => x.rule === rule && doc.positionAt(x.start).isEqual(d.range.start) && doc.positionAt(Math.max(x.start, x.end)).isEqual(d.range.end),
      );
      (f?.fixes ?? []).forEach((fix, i) => {
        const a = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        a.edit = editOf(doc, fix.edits);
        a.diagnostics = [d];
        a.isPreferred = i === 0;
        actions.push(a);
      });
      if (NOT_IGNORABLE.has(rule)) continue;
      const stmtEdit = ignoreForStatementEdit(text, start, rule);
      if (stmtEdit) {
        const a = new vscode.CodeAction(`Ignore ${rule} for this statement`, vscode.CodeActionKind.QuickFix);
        a.edit = editOf(doc, [stmtEdit]);
        a.diagnostics = [d];
        actions.push(a);
      }
      if (!fileIgnores.has(rule)) {
        fileIgnores.add(rule);
        const fileEdit = ignoreForFileEdit(text, rule);
        if (fileEdit) {
          const a = new vscode.CodeAction(`Ignore ${rule} in this file`, vscode.CodeActionKind.QuickFix);
          a.edit = editOf(doc, [fileEdit]);
          a.diagnostics = ours.filter((x) => ruleOf(x) === rule);
          actions.push(a);
        }
      }
    }
    return actions;
  };

  const provider: vscode.CodeActionProvider = {
    async provideCodeActions(doc, _range, ctx, token) {
      try {
        if (!isMigration(doc)) return [];
        if (!parserLoaded() && !(await ensureParser())) return [];
        if (token.isCancellationRequested) return [];
        const only = ctx.only;
        const actions: vscode.CodeAction[] = [];
        if (!only || only.intersects(vscode.CodeActionKind.QuickFix)) actions.push(...quickFixes(doc, ctx.diagnostics));
        // Fix all only when asked for source actions (not on every cursor move for the light bulb).
        if (only && only.intersects(FIX_ALL_KIND) && enabled()) {
          const edit = fixAllEdit(doc);
          if (edit) {
            const a = new vscode.CodeAction(FIX_ALL_TITLE, FIX_ALL_KIND);
            a.edit = edit;
            actions.push(a);
          }
        }
        return actions;
      } catch (e) {
        host.log.error(`Bulwark: code actions for ${doc.uri.toString()} failed: ${message(e)}`);
        return [];
      }
    },
  };

  const fixAllCommand = async (): Promise<boolean> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return false;
    const doc = editor.document;
    if (!isMigration(doc)) {
      void vscode.window.showInformationMessage('Bulwark: the active file is not a migration file.');
      return false;
    }
    try {
      if (!parserLoaded() && !(await ensureParser())) return false;
      const edit = fixAllEdit(doc);
      if (!edit) return false;
      const ok = await vscode.workspace.applyEdit(edit);
      if (ok) await lintNow(doc);
      return ok;
    } catch (e) {
      host.log.error(`Bulwark: fix all failed for ${doc.uri.toString()}: ${message(e)}`);
      void vscode.window.showErrorMessage(`Bulwark: fix all failed: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  };

  // ------------------------------------------------------------------------------------------------
  // Wiring
  // ------------------------------------------------------------------------------------------------

  const subscriptions: vscode.Disposable[] = [
    collection,
    vscode.workspace.onDidOpenTextDocument((doc) => void lintNow(doc)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length === 0) return;
      if (!isMigration(e.document)) {
        collection.delete(e.document.uri);
        return;
      }
      schedule(e.document);
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      const key = doc.uri.toString();
      cancelTimer(key);
      cache.delete(key);
      collection.delete(doc.uri);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('bulwark.lint.enable') || e.affectsConfiguration('bulwark.lint.debounceMs')) relintAll();
    }),
    host.onDidChange(() => relintAll()),
    vscode.languages.registerCodeActionsProvider({ language: 'sql' }, provider, {
      providedCodeActionKinds: [vscode.CodeActionKind.QuickFix, FIX_ALL_KIND],
    }),
    vscode.commands.registerCommand('bulwark.fixAll', fixAllCommand),
    { dispose: () => [...timers.keys()].forEach(cancelTimer) },
  ];

  const service: LintService = {
    collection,
    lintNow,
    relintAll,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const s of subscriptions.splice(0)) {
        try {
          s.dispose();
        } catch {
          // already disposed with the extension context
        }
      }
      cache.clear();
    },
  };
  context.subscriptions.push(service);

  // Documents already open when the extension activates.
  relintAll();
  return service;
}
