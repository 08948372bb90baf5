// Live lint diagnostics and their quick fixes, inside a real VS Code (see src/extension/lintDiagnostics.ts).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const SOURCE = 'bulwark';
/** Versions reserved for this file (2099010100xxxx), one per probe migration. */
const VERSIONS = { probe: '20990101000201', concurrently: '20990101000202', ignore: '20990101000203', fixAll: '20990101000204', toggle: '20990101000205' };

function ruleOf(d: vscode.Diagnostic): string | undefined {
  const c = d.code;
  if (c && typeof c === 'object') return String(c.value);
  return c === undefined ? undefined : String(c);
}

function ours(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === SOURCE);
}

function describeDiagnostics(uri: vscode.Uri): string {
  return JSON.stringify(
    ours(uri).map((d) => ({ rule: ruleOf(d), line: d.range.start.line, ch: d.range.start.character, severity: d.severity })),
  );
}

/** Resolve when the document's Bulwark diagnostics satisfy `pred` (checked now and on every change), or fail at the deadline. */
function waitForDiagnostics(uri: vscode.Uri, pred: (ds: vscode.Diagnostic[]) => boolean, what: string, timeoutMs = 20000): Promise<vscode.Diagnostic[]> {
  const now = ours(uri);
  if (pred(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const sub = vscode.languages.onDidChangeDiagnostics((e) => {
      if (!e.uris.some((u) => u.toString() === uri.toString())) return;
      const ds = ours(uri);
      if (!pred(ds)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(ds);
    });
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; diagnostics now: ${describeDiagnostics(uri)}`));
    }, timeoutMs);
  });
}

const withRule = (rule: string, count?: number) => (ds: vscode.Diagnostic[]) => {
  const n = ds.filter((d) => ruleOf(d) === rule).length;
  return count === undefined ? n > 0 : n === count;
};

async function codeActions(uri: vscode.Uri, range: vscode.Range, kind: string): Promise<vscode.CodeAction[]> {
  const all = (await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>('vscode.executeCodeActionProvider', uri, range, kind)) ?? [];
  // Commands have a string `command`; code actions have an optional Command object there.
  return all.filter((a): a is vscode.CodeAction => typeof (a as vscode.Command).command !== 'string');
}

async function applyAction(actions: vscode.CodeAction[], title: string | RegExp): Promise<vscode.CodeAction> {
  const a = actions.find((x) => (typeof title === 'string' ? x.title === title : title.test(x.title)));
  assert.ok(a, `no code action ${title}; got: ${JSON.stringify(actions.map((x) => x.title))}`);
  assert.ok(a.edit, `code action "${a.title}" has no edit`);
  assert.ok(await vscode.workspace.applyEdit(a.edit), `applying "${a.title}" failed`);
  return a;
}

/** The fixture's configured setting of a rule (bulwark.json "lint.rules"), if any. */
function configuredSetting(folder: string, rule: string): string | undefined {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(folder, 'bulwark.json'), 'utf8')) as { lint?: { rules?: Record<string, string> } };
    return cfg.lint?.rules?.[rule];
  } catch {
    return undefined;
  }
}

describe('lint diagnostics and quick fixes', function () {
  this.timeout(60000);
  let folder: string;
  const created: string[] = [];

  async function openProbe(version: keyof typeof VERSIONS, content: string): Promise<{ doc: vscode.TextDocument; editor: vscode.TextEditor; uri: vscode.Uri }> {
    const file = path.join(folder, 'migrations', `${VERSIONS[version]}_lint_${version}.sql`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    created.push(file);
    const uri = vscode.Uri.file(file);
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    return { doc, editor, uri };
  }

  before(async function () {
    this.timeout(120000);
    const ext = vscode.extensions.getExtension('bulwark.bulwark');
    assert.ok(ext, 'extension bulwark.bulwark not found');
    await ext.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
  });

  after(async function () {
    this.timeout(60000);
    await vscode.workspace.getConfiguration('bulwark').update('lint.enable', undefined, vscode.ConfigurationTarget.Global);
    // Close the probes without saving (a save would start the background replay), then delete them.
    for (const file of created) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
      if (doc) {
        await vscode.window.showTextDocument(doc);
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      }
      fs.rmSync(file, { force: true });
    }
  });

  it('reports require-if-not-exists with range, source, severity and a documentation link; new problems appear as you type', async () => {
    const { doc, editor, uri } = await openProbe('probe', '-- migrate:up\nCREATE TABLE t (id int);\n');
    const ds = await waitForDiagnostics(uri, withRule('require-if-not-exists'), 'require-if-not-exists');
    const d = ds.find((x) => ruleOf(x) === 'require-if-not-exists')!;
    // The TABLE keyword of line 2.
    assert.deepEqual([d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character], [1, 7, 1, 12]);
    assert.equal(doc.getText(d.range), 'TABLE');
    assert.equal(d.source, 'bulwark');
    // Idempotency warnings are lowered to info inside a transaction (the section's default).
    const setting = configuredSetting(folder, 'require-if-not-exists') ?? 'warning';
    const expected = { warning: vscode.DiagnosticSeverity.Information, info: vscode.DiagnosticSeverity.Information, error: vscode.DiagnosticSeverity.Error }[setting];
    assert.equal(d.severity, expected);
    assert.ok(d.code && typeof d.code === 'object', 'code is { value, target }');
    assert.equal(d.code.value, 'require-if-not-exists');
    assert.ok(d.code.target instanceof vscode.Uri, 'code.target is a Uri');

    // Type a dangerous statement: its diagnostic appears (after the debounce).
    const last = doc.lineCount - 1;
    assert.ok(await editor.edit((eb) => eb.insert(new vscode.Position(last, 0), 'DROP TABLE users;\n')));
    const after = await waitForDiagnostics(uri, withRule('ban-drop-table'), 'ban-drop-table after typing');
    const drop = after.find((x) => ruleOf(x) === 'ban-drop-table')!;
    assert.equal(drop.range.start.line, 2);
    assert.equal(drop.severity, vscode.DiagnosticSeverity.Error);
  });

  it('applies the IF NOT EXISTS quick fix and the diagnostic disappears', async () => {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath.endsWith(`${VERSIONS.probe}_lint_probe.sql`));
    assert.ok(doc, 'the probe from the previous test is open');
    const uri = doc.uri;
    const [d] = (await waitForDiagnostics(uri, withRule('require-if-not-exists'), 'require-if-not-exists')).filter((x) => ruleOf(x) === 'require-if-not-exists');
    const actions = await codeActions(uri, d.range, vscode.CodeActionKind.QuickFix.value);
    const fix = await applyAction(actions, 'Add IF NOT EXISTS');
    assert.equal(fix.isPreferred, true, 'the first fix is preferred');
    assert.ok(doc.getText().includes('CREATE TABLE IF NOT EXISTS t (id int);'), doc.getText());
    await waitForDiagnostics(uri, withRule('require-if-not-exists', 0), 'require-if-not-exists to disappear');
    // The other problem is still there.
    assert.ok(ours(uri).some((x) => ruleOf(x) === 'ban-drop-table'));
  });

  it('ignore actions: for this statement (above its line, then appended) and in this file', async () => {
    const { doc, uri } = await openProbe('ignore', '-- Probe for ignore comments\n-- migrate:up\nDROP TABLE old_things;\n  DROP TABLE other_things;\n');
    const onLine = (ds: vscode.Diagnostic[], rule: string, line: number) => ds.find((x) => ruleOf(x) === rule && x.range.start.line === line);
    let ds = await waitForDiagnostics(uri, (x) => withRule('ban-drop-table', 2)(x) && withRule('require-if-exists', 2)(x), 'ban-drop-table and require-if-exists on both DROPs');

    // 1. A new comment line above the second DROP, with its indentation.
    let actions = await codeActions(uri, onLine(ds, 'ban-drop-table', 3)!.range, vscode.CodeActionKind.QuickFix.value);
    await applyAction(actions, 'Ignore ban-drop-table for this statement');
    assert.equal(doc.getText(), '-- Probe for ignore comments\n-- migrate:up\nDROP TABLE old_things;\n  -- bulwark-ignore ban-drop-table\n  DROP TABLE other_things;\n');
    ds = await waitForDiagnostics(uri, withRule('ban-drop-table', 1), 'one ban-drop-table left');
    assert.ok(onLine(ds, 'ban-drop-table', 2), describeDiagnostics(uri));

    // 2. A second rule for the same statement is appended to that comment.
    ds = await waitForDiagnostics(uri, (x) => onLine(x, 'require-if-exists', 4) !== undefined, 'require-if-exists on the second DROP');
    actions = await codeActions(uri, onLine(ds, 'require-if-exists', 4)!.range, vscode.CodeActionKind.QuickFix.value);
    await applyAction(actions, 'Ignore require-if-exists for this statement');
    assert.equal(doc.getText(), '-- Probe for ignore comments\n-- migrate:up\nDROP TABLE old_things;\n  -- bulwark-ignore ban-drop-table, require-if-exists\n  DROP TABLE other_things;\n');
    ds = await waitForDiagnostics(uri, withRule('require-if-exists', 1), 'one require-if-exists left');

    // 3. Ignore ban-drop-table in the whole file: a line after the header comment, and the statement-level
    //    ignore of that rule (now redundant, it would be reported unused) goes away.
    actions = await codeActions(uri, onLine(ds, 'ban-drop-table', 2)!.range, vscode.CodeActionKind.QuickFix.value);
    await applyAction(actions, 'Ignore ban-drop-table in this file');
    assert.equal(
      doc.getText(),
      '-- Probe for ignore comments\n-- bulwark-ignore-file ban-drop-table\n-- migrate:up\nDROP TABLE old_things;\n  -- bulwark-ignore require-if-exists\n  DROP TABLE other_things;\n',
    );
    ds = await waitForDiagnostics(uri, withRule('ban-drop-table', 0), 'ban-drop-table to disappear');
    assert.ok(!ds.some((x) => ruleOf(x) === 'unused-ignore'), `no unused ignore: ${describeDiagnostics(uri)}`);
    assert.equal(ds.filter((x) => ruleOf(x) === 'require-if-exists').length, 1, describeDiagnostics(uri));
  });

  it('the CONCURRENTLY fix also marks the section transaction:false', async () => {
    const { doc, uri } = await openProbe('concurrently', '-- migrate:up\nCREATE INDEX IF NOT EXISTS users_email_idx ON users (email);\n');
    const ds = await waitForDiagnostics(uri, withRule('require-concurrent-index-creation'), 'require-concurrent-index-creation');
    const d = ds.find((x) => ruleOf(x) === 'require-concurrent-index-creation')!;
    assert.equal(doc.getText(d.range), 'INDEX');
    const actions = await codeActions(uri, d.range, vscode.CodeActionKind.QuickFix.value);
    await applyAction(actions, /^Use CREATE INDEX CONCURRENTLY/);
    assert.equal(doc.lineAt(0).text, '-- migrate:up transaction:false');
    assert.equal(doc.lineAt(1).text, 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);');
    await waitForDiagnostics(uri, (x) => withRule('require-concurrent-index-creation', 0)(x) && withRule('concurrently-in-transaction', 0)(x), 'the index problems to disappear');
  });

  it('fix all: the source.fixAll.bulwark action and the bulwark.fixAll command', async () => {
    const content = '-- migrate:up\nCREATE TABLE t2 (id int);\nCREATE INDEX users_name_idx ON users (name);\n';
    const { doc, uri } = await openProbe('fixAll', content);
    await waitForDiagnostics(uri, (ds) => withRule('require-if-not-exists', 2)(ds) && withRule('require-concurrent-index-creation', 1)(ds), 'the fixable problems');

    // The source action computes the same edit without applying it.
    const whole = new vscode.Range(0, 0, doc.lineCount, 0);
    const source = await codeActions(uri, whole, 'source.fixAll.bulwark');
    const action = source.find((a) => a.title === 'Fix all auto-fixable Bulwark problems');
    assert.ok(action?.edit, `no fix-all source action: ${JSON.stringify(source.map((a) => a.title))}`);
    assert.equal(action.kind?.value, 'source.fixAll.bulwark');
    assert.equal(action.edit.entries().length, 1, 'one document');
    assert.equal(action.edit.entries()[0][1].length, 1, 'one edit');
    assert.equal(doc.getText(), content, 'computing the action does not change the document');

    const changed = await vscode.commands.executeCommand<boolean>('bulwark.fixAll');
    assert.equal(changed, true);
    const text = doc.getText();
    assert.match(text, /^-- migrate:up transaction:false\n/);
    assert.match(text, /CREATE TABLE IF NOT EXISTS t2 \(id int\);/);
    assert.match(text, /CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users \(name\);/);
    await waitForDiagnostics(
      uri,
      (ds) => ['require-if-not-exists', 'require-concurrent-index-creation', 'concurrently-in-transaction', 'syntax-error'].every((r) => withRule(r, 0)(ds)),
      'the fixed problems to disappear',
    );
    // Nothing is left to fix: a second run changes nothing.
    assert.equal(await vscode.commands.executeCommand<boolean>('bulwark.fixAll'), false);
    assert.equal(doc.getText(), text);
  });

  it('bulwark.lint.enable: false clears the diagnostics, true brings them back', async () => {
    const { uri } = await openProbe('toggle', '-- migrate:up\nCREATE TABLE t3 (id int);\n');
    await waitForDiagnostics(uri, withRule('require-if-not-exists'), 'require-if-not-exists');
    const cfg = () => vscode.workspace.getConfiguration('bulwark');
    try {
      await cfg().update('lint.enable', false, vscode.ConfigurationTarget.Global);
      await waitForDiagnostics(uri, (ds) => ds.length === 0, 'diagnostics to be cleared');
    } finally {
      await cfg().update('lint.enable', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitForDiagnostics(uri, withRule('require-if-not-exists'), 'require-if-not-exists again');
  });
});
