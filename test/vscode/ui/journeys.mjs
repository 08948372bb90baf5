// Journeys through the real workbench, the way a person uses Bulwark. test/vscode/run.mjs runs every
// exported function (in the order of `order`) on one page, on a fresh copy of test/vscode/fixture and
// fresh databases, takes a screenshot after each (test/.artifacts/vscode/<kebab-case name>.png) and
// tidies the workbench between them (lib.resetUi). Each gets { page, workspace, dbUrls, shotsDir, log }:
// dbUrls = { dev, prod, admin }. A journey fails by throwing; say what was expected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SEL, editorText, expandTreeItem, expectVisible, findChildRow, goToLine, hoverUntil, keyboardHover, openBulwarkView, poll, quickOpen, rowAt, tableExists, treeRows,
} from './lib.mjs';

export const order = ['applyFromSidebar', 'dryRunFromLens', 'lintSquiggle', 'snippet'];

/** Bulwark side bar → Migrations → create_accounts → dev → inline "Apply"; the table appears in dev. */
export async function applyFromSidebar({ page, dbUrls, log }) {
  await openBulwarkView(page);
  log('Bulwark side bar open');
  await expandTreeItem(page, 'Migrations', 'create_accounts');
  const dev = await poll(() => findChildRow(page, 'Migrations', 'create_accounts', 'dev'), { what: 'the "dev" row under create_accounts' });
  log(`dev row: ${JSON.stringify(dev.text)}`);
  if (!/^pending\b/.test(dev.description)) throw new Error(`the dev row of create_accounts should say "pending" on a fresh database, it says ${JSON.stringify(dev.description)}`);
  const row = rowAt(page, 'Migrations', dev.index);
  await row.hover();
  const apply = row.getByRole('button', { name: 'Apply', exact: true });
  await expectVisible(apply, 'the inline "Apply" action on the dev row (shown on hover)');
  await apply.click();
  log('clicked Apply');
  const after = await poll(
    async () => {
      const r = await findChildRow(page, 'Migrations', 'create_accounts', 'dev');
      return r && /^applied\b/.test(r.description) ? r : undefined;
    },
    { timeoutMs: 60_000, what: 'the dev row of create_accounts to say "applied"' },
  );
  log(`dev row now: ${JSON.stringify(after.text)}`);
  const applied = rowAt(page, 'Migrations', after.index);
  await applied.hover();
  await expectVisible(applied.getByRole('button', { name: 'Roll Back', exact: true }), 'the inline "Roll Back" action on the applied dev row');
  if (!(await tableExists(dbUrls.dev, 'accounts'))) throw new Error('the tree says applied, but table accounts does not exist in the dev database');
  if (await tableExists(dbUrls.prod, 'accounts')) throw new Error('applying to dev created table accounts in the prod database too');
  const prod = await findChildRow(page, 'Migrations', 'create_accounts', 'prod');
  log(`prod row: ${JSON.stringify(prod?.text)}; all rows: ${JSON.stringify((await treeRows(page, 'Migrations')).map((r) => r.text))}`);
}

/** The code lens "Dry run ▸ dev" on a pending migration opens the per-statement report beside it; nothing is applied. */
export async function dryRunFromLens({ page, dbUrls, log }) {
  const name = '20250102090000_add_accounts_name.sql';
  if (!(await tableExists(dbUrls.dev, 'accounts'))) throw new Error('this journey expects create_accounts applied on dev (by apply-from-sidebar)');
  await quickOpen(page, `migrations/${name}`);
  log(`${name} open`);
  const lens = page.locator('.contentWidgets .codelens-decoration a', { hasText: 'Dry run ▸ dev' }).first();
  await expectVisible(lens, 'the "Dry run ▸ dev" code lens', 30_000);
  log(`lenses: ${JSON.stringify((await page.locator('.contentWidgets .codelens-decoration').first().innerText()).replace(/\s+/g, ' '))}`);
  await lens.click();
  const report = page.locator('.monaco-editor .view-lines', { hasText: 'Dry run on dev' });
  await expectVisible(report, 'the dry-run report beside the file', 60_000);
  const text = (await report.first().innerText()).replace(/\u00a0/g, ' ').replace(/\s+/g, ' ');
  log(`report: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
  if (!/AccessExclusive\*\* on accounts/.test(text)) throw new Error(`the report should show the ACCESS EXCLUSIVE lock on accounts:\n${text}`);
  const cols = await (async () => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: dbUrls.dev });
    await c.connect();
    try {
      return (await c.query("SELECT attname FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'name'")).rows;
    } finally {
      await c.end();
    }
  })();
  if (cols.length !== 0) throw new Error('a dry run must not keep anything, but column accounts.name exists on dev');
}

/** Typing a blocking CREATE INDEX gives a squiggle, a hover with the rule's message and a Problems row. */
export async function lintSquiggle({ page, workspace, log }) {
  const name = '20250103090000_index_accounts_email.sql';
  fs.writeFileSync(
    path.join(workspace, 'migrations', name),
    '-- description: index on accounts.email\n-- migrate:up\n\n-- migrate:down\nDROP INDEX IF EXISTS idx_accounts_email;\n',
  );
  await quickOpen(page, `migrations/${name}`);
  log(`${name} open`);
  await goToLine(page, 3);
  await page.keyboard.type('CREATE INDEX idx_accounts_email ON accounts (email);');
  await page.keyboard.press('Escape'); // a suggestion list may have opened while typing
  const squiggles = page.locator(`${SEL.activeEditor} :is(${SEL.squiggle})`);
  await expectVisible(squiggles, 'a warning/error squiggle in the editor', 30_000);
  log(`${await squiggles.count()} squiggle(s) shown`);
  // Several rules may mark the statement (each its own squiggle): hover them until the locking one shows.
  const re = /CONCURRENTLY|SHARE lock/i;
  const what = 'a hover whose text mentions CONCURRENTLY or the SHARE lock';
  // With the mouse first; the keyboard (cursor on the statement, Ctrl+K Ctrl+I) if the mouse hover does not come.
  const hoverText = await hoverUntil(page, squiggles, re, { what, timeoutMs: 10_000 }).catch(async (e) => {
    log(`mouse hover: ${e.message}; trying the keyboard`);
    return keyboardHover(page, 3, [8, 36], re, { what });
  });
  log(`hover: ${hoverText.slice(0, 300)}`);
  if (!/bulwark/i.test(hoverText)) log('note: the hover does not name the source "bulwark"');
  await page.mouse.move(1, 1);
  await page.keyboard.press('Control+S');
  await expectVisible(page.locator(`${SEL.tabs}.active:not(.dirty)`), `${name} saved (Ctrl+S)`, 15_000);
  await page.keyboard.press('Control+Shift+M');
  const problem = page.locator(SEL.problemsRow, { hasText: /CONCURRENTLY|SHARE lock/i });
  await expectVisible(problem, 'a Problems panel row about CONCURRENTLY / the SHARE lock', 20_000);
  log(`problems row: ${(await problem.first().innerText()).replace(/\s+/g, ' ').trim().slice(0, 300)}`);
}

/** `migration` + Ctrl+Space in an empty .sql file inserts the migration snippet. */
export async function snippet({ page, workspace, log }) {
  const name = '20250104090000_from_snippet.sql';
  const file = path.join(workspace, 'migrations', name);
  fs.writeFileSync(file, '');
  await quickOpen(page, `migrations/${name}`);
  log(`${name} open`);
  await page.keyboard.type('migration');
  await page.keyboard.press('Control+Space');
  const item = page.locator(SEL.suggestRow, { has: page.locator('.label-name', { hasText: /^migration$/ }) });
  await expectVisible(item, 'the "migration" snippet in the suggestions (Ctrl+Space)', 20_000);
  log(`suggestions: ${JSON.stringify(await page.locator(SEL.suggestRow).allInnerTexts())}`);
  await item.first().click();
  await poll(async () => /migrate:up/.test(await editorText(page)), { timeoutMs: 10_000, what: 'the snippet text in the editor' });
  await page.keyboard.press('Escape'); // leave snippet mode (placeholders)
  await page.keyboard.press('Control+S');
  const text = await poll(
    () => {
      const t = fs.readFileSync(file, 'utf8');
      return t.includes('-- migrate:up') ? t : undefined;
    },
    { timeoutMs: 15_000, what: `${name} to be saved with the snippet` },
  );
  log(`saved:\n${text}`);
  for (const want of ['-- migrate:up', 'lock_timeout', '-- migrate:down']) {
    if (!text.includes(want)) throw new Error(`the inserted snippet lacks ${JSON.stringify(want)}:\n${text}`);
  }
  if (!/^-- description:/.test(text)) throw new Error(`the snippet should start with "-- description:", the file starts with ${JSON.stringify(text.slice(0, 40))}`);
}
