// The extension inside a real VS Code extension host, against the real PostgreSQL server: tree items and
// their states after apply/rollback, code lenses and their commands, protected environments, promotion
// order, failures as diagnostics, dry-run reports, SecretStorage, the status bar, new migration, replay.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Prompter } from '../../../src/extension/api';
import type { BulwarkApi } from '../../../src/extension/extension';
import type { Node } from '../../../src/extension/trees';
import { startPasswordServer } from '../../helpers/passwordServer';
import {
  closeAllEditors,
  dbQuery,
  getApi,
  migrationsDir,
  migrationSql,
  openFile,
  resetDatabases,
  resetWorkspace,
  tableExists,
  waitFor,
  workspaceRoot,
  writeMigration,
} from './helpers';

const V1 = '20250101090000';
const V2 = '20250102090000';

/** Prompts answered by the test; every question is recorded. */
/** `confirm: '*'` accepts every confirmation. */
function answering(answers: { input?: (string | undefined)[]; confirm?: string | undefined; pick?: string }): Prompter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async input(opts) {
      asked.push(`input: ${opts.title ?? ''} ${opts.prompt ?? ''}`);
      return answers.input?.shift();
    },
    async pick(items, opts) {
      asked.push(`pick: ${opts.placeHolder ?? ''}`);
      return items.find((i) => i.label === answers.pick) ?? undefined;
    },
    async confirm(message, _detail, ...buttons) {
      asked.push(`confirm: ${message}`);
      if (answers.confirm === '*') return buttons[0];
      return answers.confirm === undefined ? undefined : buttons.find((b) => b === answers.confirm);
    },
  };
}

describe('Bulwark in VS Code: tree, lenses, actions on a real PostgreSQL', function () {
  this.timeout(120_000);
  let api: BulwarkApi;

  const tree = () => api.migrationsTree!;
  const migrationRow = (version: string) => tree().getChildren().find((n) => n.kind === 'migration' && n.version === version);
  const envRow = (version: string, env: string) => {
    const m = migrationRow(version);
    assert.ok(m, `no tree row for ${version}: ${JSON.stringify(tree().getChildren())}`);
    return tree().getChildren(m).find((n) => n.kind === 'migration-env' && n.env === env)!;
  };
  const description = (n: Node) => String(tree().getTreeItem(n).description ?? '');
  const stateOn = (version: string, env: string) => api.project!.stateOf(version, env)?.status;
  const refresh = () => api.project!.refresh();
  const lensesOf = async (file: string) => {
    const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', vscode.Uri.file(file), 100)) ?? [];
    return lenses.filter((l) => l.command);
  };

  before(async () => {
    api = await getApi<BulwarkApi>();
    assert.ok(api.project, 'the extension found the workspace project');
  });
  beforeEach(async () => {
    api.setPrompter(undefined);
    await closeAllEditors();
    await resetWorkspace();
    await resetDatabases();
    api.runDiagnostics.clear();
    await refresh();
  });
  after(async () => {
    api.setPrompter(undefined);
    await closeAllEditors();
    await resetWorkspace();
    await resetDatabases();
  });

  it('shows every migration in apply order, with one child per environment and its state', async () => {
    const roots = tree().getChildren().filter((n) => n.kind === 'migration');
    assert.deepEqual(roots.map((n) => (n.kind === 'migration' ? n.version : '')), [V1, V2]);
    const item = tree().getTreeItem(roots[0]);
    assert.equal(item.label, 'create_accounts');
    assert.match(String(item.description), new RegExp(`^${V1}`));
    const kids = tree().getChildren(roots[0]);
    assert.deepEqual(kids.map((k) => (k.kind === 'migration-env' ? k.env : '')), ['dev', 'prod']);
    assert.equal(description(kids[0]), 'pending');
    assert.match(String(tree().getTreeItem(kids[0]).contextValue), /:apply:dryrun:/);
    assert.doesNotMatch(String(tree().getTreeItem(kids[0]).contextValue), /:rollback:/);
    const envs = api.environmentsTree!.getChildren();
    assert.deepEqual(envs.map((e) => (e.kind === 'environment' ? e.env : '')), ['dev', 'prod']);
    const prodItem = api.environmentsTree!.getTreeItem(envs[1]);
    assert.match(String(prodItem.description), /0 applied · 2 pending.*protected/);
  });

  it('apply from a tree row turns it applied (who, when, how long) and creates the table; roll back returns it to pending', async () => {
    api.setPrompter(answering({ confirm: 'Apply All of Them' }));
    await vscode.commands.executeCommand('bulwark.apply', envRow(V1, 'dev'));
    assert.equal(stateOn(V1, 'dev'), 'applied');
    assert.ok(await tableExists('dev', 'accounts'));
    assert.equal(await tableExists('prod', 'accounts'), false, 'prod untouched');
    assert.match(description(envRow(V1, 'dev')), /^applied (just now|\d+ min ago) by \S+ · \d+ ms$/);
    assert.equal(description(envRow(V2, 'dev')), 'pending', 'only up to the chosen version');
    const ctx = String(tree().getTreeItem(envRow(V1, 'dev')).contextValue);
    assert.match(ctx, /:rollback:/);
    assert.doesNotMatch(ctx, /:apply:/);

    api.setPrompter(answering({ confirm: 'Roll Back' }));
    await vscode.commands.executeCommand('bulwark.rollback', envRow(V1, 'dev'));
    assert.equal(stateOn(V1, 'dev'), 'pending');
    assert.equal(await tableExists('dev', 'accounts'), false);
    const audit = await dbQuery<{ action: string; version: string }>('dev', 'SELECT action, version FROM bulwark.audit ORDER BY id');
    assert.deepEqual(audit.map((a) => `${a.action}:${a.version}`), [`apply:${V1}`, `rollback:${V1}`]);
  });

  it('applying a later migration asks before applying the earlier pending ones; declining changes nothing', async () => {
    const declined = answering({ confirm: undefined });
    api.setPrompter(declined);
    await vscode.commands.executeCommand('bulwark.apply', envRow(V2, 'dev'));
    assert.match(declined.asked.join('\n'), /confirm: Apply 20250102090000 to dev/);
    assert.equal(await tableExists('dev', 'accounts'), false);
    api.setPrompter(answering({ confirm: 'Apply All of Them' }));
    await vscode.commands.executeCommand('bulwark.apply', envRow(V2, 'dev'));
    assert.equal(stateOn(V1, 'dev'), 'applied');
    assert.equal(stateOn(V2, 'dev'), 'applied');
  });

  it('code lenses reflect the file state per environment and run their command', async () => {
    const file = path.join(migrationsDir(), `${V1}_create_accounts.sql`);
    await openFile(file);
    let lenses = await lensesOf(file);
    const titles = () => lenses.map((l) => l.command!.title);
    for (const t of ['Dry run ▸ dev', 'Apply ▸ dev', 'Apply ▸ prod (needs dev first)']) assert.ok(titles().includes(t), `${t} in ${titles().join(' | ')}`);
    assert.ok(!titles().some((t) => t.startsWith('Roll back')), 'nothing to roll back yet');
    assert.ok(titles().includes('○ dev: pending'), titles().join(' | '));
    const upLine = lenses.filter((l) => l.range.start.line > 0).map((l) => l.range.start.line);
    assert.ok(upLine.length > 0, 'lenses on the -- migrate:up marker too');

    const applyDev = lenses.find((l) => l.command!.title === 'Apply ▸ dev')!;
    await vscode.commands.executeCommand(applyDev.command!.command, ...(applyDev.command!.arguments ?? []));
    assert.ok(await tableExists('dev', 'accounts'));
    lenses = await waitFor(async () => {
      const l = await lensesOf(file);
      return l.some((x) => x.command!.title === 'Roll back ▸ dev') ? l : undefined;
    }, { what: 'the Roll back ▸ dev lens' });
    assert.ok(!titles().includes('Apply ▸ dev'), 'no Apply where already applied');
    assert.ok(titles().includes('Apply ▸ prod'), 'the promotion order is satisfied now');
    const down = lenses.filter((l) => l.command!.title === 'Roll back ▸ dev').map((l) => l.range.start.line);
    const doc = vscode.window.activeTextEditor!.document;
    assert.ok(down.some((line) => /^-- migrate:down/.test(doc.lineAt(line).text)), 'Roll back on the down marker');
  });

  it('applying from a lens runs what the editor shows: unsaved changes are saved first', async () => {
    const file = path.join(migrationsDir(), `${V1}_create_accounts.sql`);
    const editor = await openFile(file);
    const line = editor.document.getText().split('\n').findIndex((l) => l.includes('email text NOT NULL'));
    await editor.edit((e) => e.insert(new vscode.Position(line, 0), '  nickname text,\n'));
    assert.ok(editor.document.isDirty);
    const lens = await waitFor(async () => (await lensesOf(file)).find((l) => l.command!.title === 'Apply ▸ dev'), { what: 'the Apply ▸ dev lens' });
    await vscode.commands.executeCommand(lens.command!.command, ...(lens.command!.arguments ?? []));
    assert.equal(editor.document.isDirty, false, 'saved');
    const cols = await dbQuery<{ attname: string }>('dev', "SELECT attname FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attnum > 0 ORDER BY attnum");
    assert.deepEqual(cols.map((c) => c.attname), ['id', 'nickname', 'email']);
    assert.equal(stateOn(V1, 'dev'), 'applied', 'the history matches the saved file');
  });

  it('editing an applied migration warns at once, before saving: semantic on the environments where it is applied, cosmetic as information', async () => {
    api.setPrompter(answering({ confirm: '*' }));
    await api.actions!.apply({ version: V1, env: 'dev' });
    const file = path.join(migrationsDir(), `${V1}_create_accounts.sql`);
    const editor = await openFile(file);
    const applied = () => vscode.languages.getDiagnostics(editor.document.uri).filter((d) => d.code === 'edited-after-apply');
    // Unchanged (the editor may still be reloading it from disk after the previous test): nothing to say.
    await waitFor(() => applied().length === 0 && !editor.document.isDirty, { what: 'no edited-after-apply note on the unchanged file' });
    const line = editor.document.getText().split('\n').findIndex((l) => l.includes('email text NOT NULL'));
    await editor.edit((e) => e.insert(new vscode.Position(line, 0), '  -- a note\n'));
    const cosmetic = await waitFor(() => applied()[0], { what: 'the cosmetic-edit note' });
    assert.equal(cosmetic.severity, vscode.DiagnosticSeverity.Information);
    assert.match(cosmetic.message, /^Applied on dev: this edit only touches comments/);
    await editor.edit((e) => e.insert(new vscode.Position(line, 0), '  nickname text,\n'));
    const semantic = await waitFor(() => applied().find((d) => d.severity === vscode.DiagnosticSeverity.Warning), { what: 'the semantic-edit warning' });
    assert.match(semantic.message, /already applied on dev: changing its SQL does not change that database/);
    assert.match(editor.document.lineAt(semantic.range.start.line).text, /^-- migrate:up/);
    assert.equal(editor.document.isDirty, true, 'before any save');
    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
    await waitFor(() => applied().length === 0, { what: 'the warning to go once the file matches again' });
  });

  it('a transaction:false section gets a lens saying what that means', async () => {
    const file = writeMigration('20250103090000', 'concurrent_index', '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_email ON accounts (email);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS accounts_email;\n');
    await refresh();
    await openFile(file);
    const lenses = await waitFor(async () => {
      const l = (await lensesOf(file)).filter((x) => x.command!.title.startsWith('⚠ runs outside a transaction'));
      return l.length === 2 ? l : undefined;
    }, { what: 'a transaction:false lens on each marker' });
    assert.deepEqual(lenses.map((l) => l.range.start.line).sort(), [0, 2]);
  });

  it('a protected environment needs its name typed: cancel or a wrong name change nothing; promotion order names what is missing', async () => {
    // The real input box, dismissed like a person pressing Escape.
    const pending = vscode.commands.executeCommand('bulwark.apply', envRow(V1, 'prod'));
    await waitFor(async () => {
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      const settled = await Promise.race([pending.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);
      return settled;
    }, { what: 'the confirmation input to be dismissed' });
    assert.equal(await tableExists('prod', 'accounts'), false);
    assert.equal((await dbQuery('prod', "SELECT to_regclass('bulwark.migrations') AS t"))[0].t, null, 'a refused run creates nothing');

    const wrong = answering({ input: ['production'] });
    api.setPrompter(wrong);
    await vscode.commands.executeCommand('bulwark.apply', envRow(V1, 'prod'));
    assert.match(wrong.asked.join('\n'), /protected environment "prod"/);
    assert.equal(await tableExists('prod', 'accounts'), false);

    api.setPrompter(answering({ input: ['prod'] }));
    await assert.rejects(api.actions!.apply({ version: V1, env: 'prod' }), /promotion order: "prod" requires each migration to be applied on "dev" first[\s\S]*20250101090000/);
    assert.equal(await tableExists('prod', 'accounts'), false);

    api.setPrompter(answering({ input: ['prod'] }));
    await api.actions!.apply({ version: V1, env: 'dev' });
    // A protected environment is backed up first (pg_dump): if that fails, nothing runs unless the person
    // chooses to go on without a backup.
    process.env.BULWARK_PG_DUMP = '/nonexistent/pg_dump';
    try {
      const declined = answering({ input: ['prod'], confirm: undefined });
      api.setPrompter(declined);
      assert.equal(await api.actions!.apply({ version: V1, env: 'prod' }), undefined);
      assert.match(declined.asked.join('\n'), /confirm: Bulwark: the backup of "prod" could not be taken; nothing was changed\./);
      assert.equal(await tableExists('prod', 'accounts'), false);
    } finally {
      delete process.env.BULWARK_PG_DUMP;
    }
    api.setPrompter(answering({ input: ['prod'] }));
    const r = await api.actions!.apply({ version: V1, env: 'prod' });
    assert.ok(r?.backup, 'backed up before applying');
    assert.ok(r.backup.dir.startsWith(path.join(api.project!.root, '.bulwark', 'backups', 'prod')), r.backup.dir);
    assert.ok(fs.existsSync(path.join(r.backup.dir, 'schema.dump')));
    assert.ok(await tableExists('prod', 'accounts'));
    assert.equal(stateOn(V1, 'prod'), 'applied');
    const audit = await dbQuery('prod', "SELECT action FROM bulwark.audit WHERE action LIKE 'backup%' ORDER BY id");
    assert.deepEqual(audit.map((x) => x.action), ['backup']);
  });

  it('after a failed backup, "Roll Back Without Backup" goes on without one (audited)', async () => {
    api.setPrompter(answering({ input: ['prod'] }));
    await api.actions!.apply({ version: V1, env: 'dev' });
    await api.actions!.apply({ version: V1, env: 'prod' });
    assert.ok(await tableExists('prod', 'accounts'));
    process.env.BULWARK_PG_DUMP = '/nonexistent/pg_dump';
    try {
      api.setPrompter(answering({ input: ['prod'], confirm: 'Roll Back Without Backup' }));
      const r = await api.actions!.rollback({ version: V1, env: 'prod' });
      assert.equal(r?.ok, true);
      assert.equal(r?.backupSkipped, true);
    } finally {
      delete process.env.BULWARK_PG_DUMP;
    }
    assert.equal(await tableExists('prod', 'accounts'), false);
    const audit = await dbQuery('prod', "SELECT action, details->>'ok' AS ok FROM bulwark.audit WHERE action LIKE 'backup%' ORDER BY id");
    assert.deepEqual(audit.map((x) => [x.action, x.ok]), [['backup', 'true'], ['backup', 'false'], ['backup-skipped', null]]);
  });

  it('a failing migration is a diagnostic at the PostgreSQL error position, and nothing of it persists', async () => {
    const file = writeMigration('20250103090000', 'broken', migrationSql('CREATE TABLE IF NOT EXISTS half (id int);\nINSERT INTO half SELECT * FROM no_such_table;', 'DROP TABLE IF EXISTS half;'));
    await refresh();
    api.setPrompter(answering({ confirm: 'Apply All of Them' }));
    await vscode.commands.executeCommand('bulwark.apply', { version: '20250103090000', env: 'dev' });
    assert.equal(stateOn('20250103090000', 'dev'), 'failed');
    assert.equal(await tableExists('dev', 'half'), false, 'rolled back as a whole');
    assert.ok(await tableExists('dev', 'accounts'), 'earlier migrations stay applied');
    const diags = await waitFor(() => {
      const d = vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((x) => x.source === 'bulwark (PostgreSQL)');
      return d.length ? d : undefined;
    }, { what: 'the failure diagnostic' });
    assert.equal(diags[0].range.start.line, 3, 'line of the failing statement (0-based)');
    assert.equal(diags[0].range.start.character, 31, 'column of no_such_table');
    assert.match(diags[0].message, /relation "no_such_table" does not exist/);
    assert.equal(diags[0].code, '42P01');
    assert.match(description(envRow('20250103090000', 'dev')), /^failed: relation "no_such_table" does not exist/);
  });

  it('dry run opens a per-statement report (locks, rewrites, rows) and keeps nothing', async () => {
    api.setPrompter(answering({ confirm: 'Apply All of Them' }));
    await api.actions!.apply({ version: V1, env: 'dev' });
    await dbQuery('dev', "INSERT INTO accounts (email) VALUES ('a@example.com'), ('b@example.com')");
    writeMigration('20250103090000', 'add_token', migrationSql("ALTER TABLE accounts ADD COLUMN IF NOT EXISTS token text DEFAULT md5(random()::text);\nUPDATE accounts SET email = lower(email);", 'ALTER TABLE accounts DROP COLUMN IF EXISTS token;'));
    await refresh();
    const r = await api.actions!.dryRun({ version: '20250103090000', env: 'dev' });
    assert.ok(r?.ok);
    const report = await waitFor(() => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'bulwark-report' && d.uri.path.includes('dry-run-dev')), { what: 'the report document' });
    const text = report.getText();
    assert.match(text, /# Dry run on dev/);
    assert.match(text, /### line 3 [^\n]*\n\n```sql\nALTER TABLE accounts ADD COLUMN IF NOT EXISTS token[\s\S]*?- locks taken: [^\n]*\*\*AccessExclusive\*\* on accounts[,\n][^]*?- rewritten: [^\n]*\*\*accounts\*\*/, text);
    assert.match(text, /### line 4 [^\n]*\n\n```sql\nUPDATE accounts[\s\S]*?- rows: 2\n/, text);
    assert.equal(stateOn('20250103090000', 'dev'), 'pending');
    const cols = await dbQuery('dev', "SELECT 1 FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'token'");
    assert.equal(cols.length, 0, 'rolled back');
  });

  it('Copy SQL puts the up section on the clipboard', async () => {
    await vscode.env.clipboard.writeText('');
    await vscode.commands.executeCommand('bulwark.copySql', migrationRow(V1));
    const text = await vscode.env.clipboard.readText();
    assert.match(text, /CREATE TABLE IF NOT EXISTS accounts/);
    assert.doesNotMatch(text, /migrate:down|DROP TABLE/, 'only the up section');
  });

  it('history opens the audit trail of a migration on an environment', async () => {
    api.setPrompter(answering({ confirm: 'Roll Back' }));
    await api.actions!.apply({ version: V1, env: 'dev' });
    await api.actions!.rollback({ version: V1, env: 'dev' });
    await vscode.commands.executeCommand('bulwark.showHistory', envRow(V1, 'dev'));
    const doc = await waitFor(() => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'bulwark-report' && d.uri.path.includes(`history-dev-${V1}`)), { what: 'the history report' });
    assert.match(doc.getText(), /2 audit entries/);
    assert.match(doc.getText(), /\| apply \|[\s\S]*\| rollback \|/);
  });

  it('New migration creates a correctly named file from migrations-template/ and opens it', async () => {
    const templateDir = path.join(workspaceRoot(), 'migrations-template');
    fs.mkdirSync(templateDir, { recursive: true });
    fs.writeFileSync(
      path.join(templateDir, 'migration.sql'),
      "-- description: {{description}}\n-- author: {{author}}\n-- from the workspace template\n-- migrate:up\nSET LOCAL lock_timeout = '5s';\n\n-- your change here\n\n-- migrate:down\n",
    );
    try {
      api.setPrompter(answering({ input: ['Add widgets table'] }));
      const uri = await vscode.commands.executeCommand<vscode.Uri>('bulwark.newMigration');
      assert.ok(uri);
      assert.match(path.basename(uri.fsPath), /^\d{14}_add_widgets_table\.sql$/);
      assert.equal(path.dirname(uri.fsPath), migrationsDir());
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath);
      const text = fs.readFileSync(uri.fsPath, 'utf8');
      assert.match(text, /^-- description: Add widgets table\n-- author: \S+\n-- from the workspace template\n-- migrate:up\n/);
      assert.equal(vscode.window.activeTextEditor!.document.lineAt(vscode.window.activeTextEditor!.selection.start.line).text, '-- your change here');
      await waitFor(() => api.project!.migrations.some((m) => m.file === uri.fsPath), { what: 'the new file in the project' });
    } finally {
      fs.rmSync(templateDir, { recursive: true, force: true });
    }
  });

  it('the status bar shows the active environment; protected ones stand out', async () => {
    const item = api.statusBar!.item;
    assert.match(item.text, /dev/);
    assert.equal(item.backgroundColor, undefined);
    api.setPrompter(answering({ pick: 'prod' }));
    await vscode.commands.executeCommand('bulwark.selectEnvironment');
    assert.match(item.text, /\$\(shield\) prod \(protected\)/);
    assert.ok((item.backgroundColor as unknown) instanceof vscode.ThemeColor);
    api.setPrompter(answering({ pick: 'dev' }));
    await vscode.commands.executeCommand('bulwark.selectEnvironment');
    assert.match(item.text, /dev/);
  });

  it('verify all replays every migration on an empty embedded PostgreSQL and shows a lossy down as a problem', async () => {
    const file = writeMigration('20250103090000', 'lossy_down', migrationSql('CREATE TABLE IF NOT EXISTS gadgets (id int);\nCREATE INDEX IF NOT EXISTS gadgets_id ON gadgets (id);', 'DROP INDEX IF EXISTS gadgets_id;'));
    await refresh();
    const r = await vscode.commands.executeCommand<import('../../../src/core').ReplayResult>('bulwark.verifyAll');
    assert.ok(r, 'a replay result');
    assert.equal(r.ok, false);
    const m = r.migrations.find((x) => x.version === '20250103090000')!;
    assert.equal(m.status, 'down-mismatch');
    const diags = vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((d) => d.source === 'bulwark replay');
    assert.equal(diags.length, 1, JSON.stringify(diags));
    assert.match(diags[0].message, /gadgets/);
    assert.equal(r.migrations.filter((x) => x.status === 'replayed').length, 2, 'the fixture migrations replay');
    const report = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'bulwark-report' && d.uri.path.includes('replay'));
    assert.match(report!.getText(), /down-mismatch/);
  });

  it('replays in the background after a save (setting bulwark.replayOnSave) and clears the problem once fixed', async () => {
    const cfg = vscode.workspace.getConfiguration('bulwark');
    await cfg.update('replayOnSave', true, vscode.ConfigurationTarget.Workspace);
    try {
      const file = writeMigration('20250103090000', 'bad_up', migrationSql('CREATE TABLE IF NOT EXISTS t1 (id int);\nALTER TABLE t1 ADD COLUMN IF NOT EXISTS x no_such_type;', 'DROP TABLE IF EXISTS t1;'));
      await refresh();
      const editor = await openFile(file);
      const replayed = new Promise<import('../../../src/core').ReplayResult>((resolve) => {
        const sub = api.replayer!.onDidReplay((r) => {
          sub.dispose();
          resolve(r);
        });
      });
      await editor.edit((e) => e.insert(new vscode.Position(0, 0), '-- author: test\n'));
      await editor.document.save();
      const r = await replayed;
      assert.equal(r.ok, false);
      const diag = vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.source === 'bulwark replay');
      assert.ok(diag, 'a replay diagnostic on the saved file');
      assert.equal(diag.range.start.line, 4);
      assert.match(diag.message, /type "no_such_type" does not exist/);

      const fixed = new Promise<void>((resolve) => {
        const sub = api.replayer!.onDidReplay(() => {
          sub.dispose();
          resolve();
        });
      });
      const line = editor.document.lineAt(4);
      await editor.edit((e) => e.replace(line.range, 'ALTER TABLE t1 ADD COLUMN IF NOT EXISTS x int;'));
      await editor.document.save();
      await fixed;
      assert.equal(vscode.languages.getDiagnostics(editor.document.uri).filter((d) => d.source === 'bulwark replay').length, 0);
    } finally {
      await cfg.update('replayOnSave', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('"Apply all pending to…" on an environment row applies every pending migration there, whatever editor is open', async () => {
    await openFile(path.join(migrationsDir(), `${V1}_create_accounts.sql`));
    api.setPrompter(answering({ confirm: '*' }));
    const env = api.environmentsTree!.getChildren().find((n) => n.kind === 'environment' && n.env === 'dev')!;
    await vscode.commands.executeCommand('bulwark.applyAll', env);
    assert.equal(stateOn(V1, 'dev'), 'applied');
    assert.equal(stateOn(V2, 'dev'), 'applied');
    assert.match(String(api.environmentsTree!.getTreeItem(env).description), /^2 applied · 0 pending/);
  });

  it('an environment row shows who holds the migration lock', async () => {
    const { Client } = await import('pg');
    const { lockKey } = await import('../../../src/core/db/lock');
    const holder = new Client({ connectionString: process.env.BULWARK_VSC_DEV_URL, application_name: 'someone-else-migrating' });
    await holder.connect();
    try {
      const [k1, k2] = lockKey('bulwark.migrations');
      await holder.query('SELECT pg_advisory_lock($1, $2)', [k1, k2]);
      await refresh();
      const env = api.environmentsTree!.getChildren().find((n) => n.kind === 'environment' && n.env === 'dev')!;
      const item = api.environmentsTree!.getTreeItem(env);
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      assert.match(String(item.description), new RegExp(`locked by pid ${pid}`));
      assert.match((item.tooltip as vscode.MarkdownString).value, /someone-else-migrating/);
      assert.match(String((item.iconPath as { light: vscode.Uri }).light.path), /env-locked\.svg$/);
      assert.match(api.statusBar!.item.text, new RegExp(`dev \\$\\(lock\\) pid ${pid}$`), 'the status bar shows the active environment is locked');
    } finally {
      await holder.end();
    }
    await refresh();
    const env = api.environmentsTree!.getChildren().find((n) => n.kind === 'environment' && n.env === 'dev')!;
    assert.doesNotMatch(String(api.environmentsTree!.getTreeItem(env).description), /locked/);
  });

  it('"End Stale Lock Holder…" on a locked environment ends that session after confirmation, and audits it', async () => {
    const { Client } = await import('pg');
    const { lockKey } = await import('../../../src/core/db/lock');
    const holder = new Client({ connectionString: process.env.BULWARK_VSC_DEV_URL, application_name: 'bulwark/0.0.0 gone@laptop' });
    holder.on('error', () => {});
    await holder.connect();
    try {
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await holder.query('SELECT pg_advisory_lock($1, $2)', lockKey('bulwark.migrations'));
      await refresh();
      const env = () => api.environmentsTree!.getChildren().find((n) => n.kind === 'environment' && n.env === 'dev')!;
      assert.match(String(api.environmentsTree!.getTreeItem(env()).contextValue), /:locked:/);
      const declined = answering({ confirm: undefined });
      api.setPrompter(declined);
      await vscode.commands.executeCommand('bulwark.unlock', env());
      assert.match(declined.asked.join('\n'), /confirm: End the session holding the migration lock on dev/);
      assert.equal((await dbQuery('dev', 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length, 1, 'declined: still there');
      api.setPrompter(answering({ confirm: '*' }));
      await vscode.commands.executeCommand('bulwark.unlock', env());
      assert.equal((await dbQuery('dev', 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length, 0, 'ended');
      assert.doesNotMatch(String(api.environmentsTree!.getTreeItem(env()).contextValue), /:locked:/);
      const audit = await dbQuery<{ details: { terminatedPid: number } }>('dev', "SELECT details FROM bulwark.audit WHERE action = 'unlock'");
      assert.equal(audit[0]?.details.terminatedPid, pid);
    } finally {
      await holder.end().catch(() => {});
    }
  });

  it('without bulwark.json the zero-config "local" embedded environment is offered; Create bulwark.json writes a valid one', async () => {
    const configFile = path.join(workspaceRoot(), 'bulwark.json');
    fs.rmSync(configFile);
    try {
      await refresh();
      assert.equal(api.project!.config?.source, 'embedded');
      assert.deepEqual(api.project!.environments.map((e) => e.name), ['local']);
      assert.equal(api.project!.statuses.get('local')?.reachable, true, api.project!.statuses.get('local')?.error);
      const uri = await vscode.commands.executeCommand<vscode.Uri>('bulwark.createConfig');
      assert.equal(uri?.fsPath, configFile);
      await waitFor(() => api.project!.config?.source === 'file', { what: 'the new configuration to load' });
      assert.equal(api.project!.configError, undefined);
      assert.deepEqual(api.project!.environments.map((e) => e.name), ['local', 'dev', 'prod']);
      assert.equal(api.project!.environments.find((e) => e.name === 'prod')?.protected, true);
    } finally {
      fs.rmSync(path.join(workspaceRoot(), '.bulwark'), { recursive: true, force: true });
    }
  });

  it('shows edited (cosmetic / semantic), missing, out of order and unreachable states', async () => {
    api.setPrompter(answering({ confirm: '*' }));
    await api.actions!.apply({ version: V2, env: 'dev' });
    const f1 = path.join(migrationsDir(), `${V1}_create_accounts.sql`);
    const f2 = path.join(migrationsDir(), `${V2}_add_accounts_name.sql`);
    fs.writeFileSync(f1, fs.readFileSync(f1, 'utf8').replace('CREATE TABLE', '-- a comment\ncreate table'));
    fs.rmSync(f2);
    writeMigration('20250101100000', 'late_branch', migrationSql('SELECT 1;'));
    await refresh();
    assert.match(description(envRow(V1, 'dev')), /^edited after apply \(cosmetic\)/);
    assert.match(description(envRow(V2, 'dev')), /^missing: recorded just now/);
    assert.match(description(envRow('20250101100000', 'dev')), /^out of order/);
    assert.equal(tree().getTreeItem(migrationRow(V2)!).contextValue, ':migration:', 'no file actions on a missing file');
    assert.match(String(tree().getTreeItem(envRow(V2, 'dev')).contextValue), /:rollback:/, 'its stored down section can roll it back');
    await vscode.commands.executeCommand('bulwark.rollback', envRow(V2, 'dev'));
    assert.equal(stateOn(V2, 'dev'), undefined, 'rolled back: no row, no file');
    assert.equal((await dbQuery('dev', "SELECT 1 FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'name'")).length, 0);
    fs.writeFileSync(f1, fs.readFileSync(f1, 'utf8').replace('email text NOT NULL', 'email text'));
    await refresh();
    assert.match(description(envRow(V1, 'dev')), /^edited after apply \(semantic change: drift\)/);
    assert.match(String((tree().getTreeItem(envRow(V1, 'dev')).iconPath as { dark: vscode.Uri }).dark.path), /edited-semantic\.svg$/);

    const config = JSON.parse(fs.readFileSync(path.join(workspaceRoot(), 'bulwark.json'), 'utf8'));
    config.environments.push({ name: 'gone', url: 'postgres://postgres@127.0.0.1:1/nowhere' });
    fs.writeFileSync(path.join(workspaceRoot(), 'bulwark.json'), JSON.stringify(config, null, 2));
    await refresh();
    const gone = api.environmentsTree!.getChildren().find((n) => n.kind === 'environment' && n.env === 'gone')!;
    assert.match(String(api.environmentsTree!.getTreeItem(gone).description), /^unreachable: .*127\.0\.0\.1:1/);
    assert.equal(description(envRow(V1, 'gone')), 'unreachable');
    assert.doesNotMatch(String(tree().getTreeItem(envRow(V1, 'gone')).contextValue), /:apply:/);
  });

  it('a broken bulwark.json shows as a problem at the setting and as a row in the tree; fixing it recovers', async () => {
    const file = path.join(workspaceRoot(), 'bulwark.json');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace('"protected": true', '"protected": "yes"'));
    try {
      await refresh();
      assert.ok(api.project!.configError, 'the configuration error is kept');
      const diags = await waitFor(() => {
        const d = vscode.languages.getDiagnostics(vscode.Uri.file(file));
        return d.length ? d : undefined;
      }, { what: 'a diagnostic on bulwark.json' });
      const line = good.split('\n').findIndex((l) => l.includes('"protected": true'));
      assert.equal(diags[0].range.start.line, line, 'at the setting');
      assert.match(diags[0].message, /protected/);
      const row = tree().getChildren()[0];
      assert.equal(row.kind, 'file-error');
      assert.match(String(tree().getTreeItem(row).label), /^bulwark\.json: /);
    } finally {
      fs.writeFileSync(file, good);
    }
    await refresh();
    assert.equal(api.project!.configError, undefined);
    assert.equal(vscode.languages.getDiagnostics(vscode.Uri.file(file)).length, 0);
    assert.equal(tree().getChildren()[0].kind, 'migration');
  });

  it('reads files without connecting until something shows the status (opening a SQL file never connects to production)', async () => {
    const { Project } = await import('../../../src/extension/project');
    const { Redactor } = await import('../../../src/core');
    const asked: string[] = [];
    const p = new Project(workspaceRoot(), {
      logger: { info() {}, warn() {}, error() {} },
      redactor: new Redactor(),
      credentials: {
        async saved(env) {
          asked.push(env.name);
          return undefined;
        },
        async ask() {
          return undefined;
        },
        async save() {},
        async forget() {},
      },
      configFile: () => 'bulwark.json',
    });
    try {
      await p.refresh({ connect: false });
      assert.equal(p.live, false);
      assert.deepEqual(p.migrations.map((m) => m.version), [V1, V2]);
      assert.equal(p.statuses.size, 0, 'no environment was asked');
      await p.refresh();
      assert.equal(p.live, true);
      assert.deepEqual([...p.statuses.keys()].sort(), ['dev', 'prod']);
      assert.deepEqual(asked.sort(), ['dev', 'prod'], 'the credential source is consulted only once live');
    } finally {
      p.dispose();
    }
  });

  it('works the same on the embedded "local" environment (status, apply, roll back)', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(workspaceRoot(), 'bulwark.json'), 'utf8'));
    config.environments.unshift({ name: 'local', embedded: true });
    fs.writeFileSync(path.join(workspaceRoot(), 'bulwark.json'), JSON.stringify(config, null, 2));
    await refresh();
    try {
      assert.equal(api.project!.statuses.get('local')?.reachable, true, api.project!.statuses.get('local')?.error);
      assert.equal(description(envRow(V1, 'local')), 'pending');
      api.setPrompter(answering({ confirm: '*' }));
      await api.actions!.apply({ version: V2, env: 'local' });
      assert.equal(stateOn(V1, 'local'), 'applied');
      assert.equal(stateOn(V2, 'local'), 'applied');
      assert.match(description(envRow(V2, 'local')), /^applied/);
      await api.actions!.rollback({ version: V2, env: 'local' });
      assert.equal(stateOn(V2, 'local'), 'pending');
      assert.equal(stateOn(V1, 'local'), 'applied');
      assert.ok(fs.existsSync(path.join(workspaceRoot(), '.bulwark', 'local', 'PG_VERSION')));
    } finally {
      fs.rmSync(path.join(workspaceRoot(), '.bulwark'), { recursive: true, force: true });
    }
  });
});

describe('Bulwark in VS Code: passwords in SecretStorage', function () {
  this.timeout(120_000);
  let api: BulwarkApi;
  let server: Awaited<ReturnType<typeof startPasswordServer>>;

  before(async function () {
    api = await getApi<BulwarkApi>();
    server = await startPasswordServer();
    if (!server) this.skip();
  });
  after(async () => {
    api?.setPrompter(undefined);
    server?.stop();
    await resetWorkspace();
    await api?.project?.refresh();
  });

  it('asks once when the server wants a password, keeps it in SecretStorage, reuses it, and forgets it on command', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(workspaceRoot(), 'bulwark.json'), 'utf8'));
    config.environments.push({ name: 'secure', url: server!.url });
    fs.writeFileSync(path.join(workspaceRoot(), 'bulwark.json'), JSON.stringify(config, null, 2));
    const prompts = answering({ input: [server!.password] });
    api.setPrompter(prompts);
    await api.project!.refresh();
    assert.equal(api.project!.statuses.get('secure')?.reachable, true, api.project!.statuses.get('secure')?.error);
    assert.equal(prompts.asked.filter((a) => a.startsWith('input: Password for "secure"')).length, 1);
    const env = api.project!.requireEngine().environment('secure');
    assert.equal(await api.credentials!.saved(env), server!.password, 'kept in SecretStorage');
    const settings = fs.readFileSync(path.join(workspaceRoot(), 'bulwark.json'), 'utf8');
    assert.ok(!settings.includes(server!.password), 'never written to the configuration');

    await api.project!.refresh();
    assert.equal(api.project!.statuses.get('secure')?.reachable, true);
    assert.equal(prompts.asked.length, 1, 'no second prompt');

    // The "Bulwark" output channel's log file: it tells what happened, never the password.
    const logText = await waitFor(() => {
      const found: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(d, e.name));
          else if (/Bulwark\.log$/.test(e.name)) found.push(fs.readFileSync(path.join(d, e.name), 'utf8'));
        }
      };
      walk(path.dirname(api.logUri.fsPath));
      const text = found.join('\n');
      return /\[secure\] password saved/.test(text) ? text : undefined;
    }, { what: 'the Bulwark log file' });
    assert.ok(!logText.includes(server!.password), 'the password is not in the log');

    const forgot = await vscode.commands.executeCommand<boolean>('bulwark.forgetPassword', { kind: 'environment', env: 'secure' });
    assert.equal(forgot, true);
    assert.equal(await api.credentials!.saved(env), undefined);
    api.setPrompter(answering({ input: [undefined] }));
    await api.project!.refresh();
    assert.equal(api.project!.statuses.get('secure')?.reachable, false);
    assert.match(api.project!.statuses.get('secure')?.error ?? '', /"secure" needs a password and none was given/);
  });
});
