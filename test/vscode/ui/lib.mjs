// Helpers for the Playwright journeys (journeys.mjs): how to find things in VS Code's workbench DOM and
// how a person does things (keyboard, mouse). Every wait has a deadline; nothing sleeps a fixed time.
import pg from 'pg';
import { poll } from '../poll.mjs';

export { poll };

export const SEL = {
  workbench: '.monaco-workbench .part.activitybar',
  sidebar: '.part.sidebar',
  editor: '.part.editor .editor-instance .monaco-editor',
  activeEditor: '.part.editor .editor-group-container.active .monaco-editor',
  tabs: '.part.editor .tabs-container .tab',
  quickInput: '.quick-input-widget',
  quickInputRow: '.quick-input-widget .monaco-list-row',
  suggestRow: '.editor-widget.suggest-widget .monaco-list-row',
  hover: '.monaco-hover',
  problemsRow: '.markers-panel .monaco-list-row',
  squiggle: '.squiggly-warning, .squiggly-error',
  dialog: '.monaco-dialog-box',
  codeLens: '.contentWidgets .codelens-decoration a',
  notification: '.notifications-toasts .notification-toast',
};

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');


/** locator.waitFor with a message that says what was expected. */
export async function expectVisible(locator, what, timeoutMs = 20_000) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (e) {
    throw new Error(`${what} did not appear within ${timeoutMs / 1000} s (${e.message.split('\n')[0]})`);
  }
  return locator.first();
}

/** One query on a database, closing the connection after. */
export async function dbQuery(url, sql, params) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function tableExists(url, table) {
  const rows = await dbQuery(url, 'SELECT to_regclass($1)::text AS t', [`public.${table}`]);
  return rows[0]?.t != null;
}

// ---------------------------------------------------------------------------------------------------
// workbench

/** Runs a command from the Command Palette by its title (e.g. "View: Close All Editors"). */
export async function runCommand(page, title, timeoutMs = 20_000) {
  await page.keyboard.press('F1');
  const input = page.locator(`${SEL.quickInput} input`);
  await expectVisible(input, 'the Command Palette', timeoutMs);
  await input.fill(`>${title}`);
  // The exact title: "View: Close All Editors" must not pick "View: Close All Editors in Group".
  const row = page.locator(SEL.quickInputRow, { has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(title)}\\s*$`) }) });
  await expectVisible(row, `command "${title}" in the Command Palette`, timeoutMs);
  await row.first().click();
  await page.locator(SEL.quickInput).waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => {});
}

/**
 * Opens a workspace file with Quick Open (Ctrl+P), typing its path relative to the workspace folder
 * (e.g. `migrations/x.sql`); resolves when its editor has focus.
 *
 * Type the relative path, not only the file's name: Quick Open's file search keeps the file list of its
 * first search for a while, so a file created after it is not found by name ("No matching results"),
 * but a path that exists on disk is always offered.
 */
export async function quickOpen(page, relPath, timeoutMs = 30_000) {
  const fileName = relPath.split('/').pop();
  await page.keyboard.press('Control+P');
  const input = page.locator(`${SEL.quickInput} input`);
  await expectVisible(input, 'Quick Open (Ctrl+P)', timeoutMs);
  await input.fill(relPath);
  const row = page.locator(SEL.quickInputRow, { hasText: fileName });
  await expectVisible(row, `"${fileName}" in Quick Open's results`, timeoutMs);
  await row.first().click();
  await expectVisible(page.locator(`${SEL.tabs}.active`, { hasText: fileName }), `an editor tab for ${fileName}`, timeoutMs);
  await expectVisible(page.locator(`${SEL.activeEditor}.focused`), `the focused editor of ${fileName}`, timeoutMs);
}

/** Puts the cursor at the start of a 1-based line with Go to Line (Ctrl+G). */
export async function goToLine(page, line, timeoutMs = 20_000, column = undefined) {
  await page.keyboard.press('Control+G');
  const input = page.locator(`${SEL.quickInput} input`);
  await expectVisible(input, 'Go to Line (Ctrl+G)', timeoutMs);
  await input.fill(column === undefined ? `:${line}` : `:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.locator(SEL.quickInput).waitFor({ state: 'hidden', timeout: timeoutMs });
}

/** The text the active editor shows (only its rendered lines: fine for short files). */
export async function editorText(page) {
  const text = await page.locator(`${SEL.activeEditor} .view-lines`).first().innerText();
  return text.replace(/\u00a0/g, ' ');
}

/**
 * Moves the mouse over each element of `targets` in turn (its position read just before, since code
 * lenses and other late decorations move the text) until the editor's hover shows text matching `re`;
 * returns that text. Squiggles are drawn under the text layer, so this moves the mouse to the place
 * instead of "hovering the element". On timeout the error lists every hover text seen.
 */
export async function hoverUntil(page, targets, re, { timeoutMs = 30_000, what = `a hover matching ${re}` } = {}) {
  const deadline = Date.now() + timeoutMs;
  const hover = page.locator(SEL.hover).filter({ visible: true });
  const seen = new Set();
  for (;;) {
    for (const target of await targets.all()) {
      const box = await target.boundingBox().catch(() => null);
      if (!box) continue;
      // Away first, so that a hover still showing from the previous target is not read as this one's.
      await page.mouse.move(1, 1);
      await hover.first().waitFor({ state: 'hidden', timeout: 2_000 }).catch(() => {});
      const x = box.x + Math.min(box.width / 2, 30);
      const y = box.y + box.height / 2;
      await page.mouse.move(x, y, { steps: 2 });
      const shown = await hover.first().waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false);
      if (!shown) continue;
      const text = (await hover.first().innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
      if (re.test(text)) return text;
      if (text) seen.add(text.slice(0, 200));
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: none within ${timeoutMs / 1000} s; ${(await targets.count())} target(s); hovers seen: ${JSON.stringify([...seen])}`);
    }
  }
}

/**
 * The keyboard way to a hover: the cursor to line:column (Ctrl+G), then Show or Focus Hover (Ctrl+K Ctrl+I).
 * Tries each column until a hover matches `re`; returns its text. Does not depend on where things are drawn
 * (code lenses appearing above a line move the text under a mouse position).
 */
export async function keyboardHover(page, line, columns, re, { timeoutMs = 30_000, what = `a hover matching ${re}` } = {}) {
  const deadline = Date.now() + timeoutMs;
  const hover = page.locator(SEL.hover).filter({ visible: true });
  const seen = new Set();
  for (;;) {
    for (const column of columns) {
      await page.keyboard.press('Escape');
      await goToLine(page, line, 10_000, column);
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      const shown = await hover.first().waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false);
      if (!shown) continue;
      const text = (await hover.first().innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
      if (re.test(text)) return text;
      if (text) seen.add(text.slice(0, 200));
    }
    if (Date.now() >= deadline) throw new Error(`${what}: none within ${timeoutMs / 1000} s at ${line}:${columns.join('/')}; hovers seen: ${JSON.stringify([...seen])}`);
  }
}

/**
 * Tidies the workbench between journeys: closes widgets, hovers, Quick Input, and every editor (without
 * saving: a dirty editor's "save?" dialog is answered "Don't Save").
 */
export async function resetUi(page) {
  await page.mouse.move(1, 1);
  for (let i = 0; i < 3; i++) await page.keyboard.press('Escape');
  await runCommand(page, 'View: Close All Editors');
  const dialog = page.locator(SEL.dialog);
  const noTabs = page.locator(SEL.tabs).first().waitFor({ state: 'detached', timeout: 15_000 }).then(() => 'closed');
  const asked = dialog.first().waitFor({ state: 'visible', timeout: 15_000 }).then(() => 'dialog');
  const first = await Promise.race([noTabs, asked]).catch(() => 'timeout');
  if (first === 'dialog') {
    await dialog.getByRole('button', { name: /Don't Save/ }).click();
    await page.locator(SEL.tabs).first().waitFor({ state: 'detached', timeout: 15_000 });
  }
  noTabs.catch(() => {});
  asked.catch(() => {});
}

// ---------------------------------------------------------------------------------------------------
// Bulwark's views

/** Clicks the "Bulwark" activity-bar entry (unless its view container is already showing). */
export async function openBulwarkView(page, timeoutMs = 30_000) {
  const entry = page.locator('.part.activitybar .action-item', { has: page.locator('[aria-label^="Bulwark"]') })
    .or(page.locator('.part.activitybar .action-item[aria-label^="Bulwark"]'));
  await expectVisible(entry, 'the "Bulwark" entry in the activity bar', timeoutMs);
  const sidebarTitle = page.locator(`${SEL.sidebar} .composite.title`, { hasText: /bulwark/i });
  if (!(await sidebarTitle.isVisible().catch(() => false))) await entry.first().click();
  await expectVisible(viewPane(page, 'Migrations'), 'the "Migrations" view of the Bulwark side bar', timeoutMs);
}

/** The side-bar pane of one view (its header and body), by the view's name. */
export function viewPane(page, name) {
  return page.locator(`${SEL.sidebar} .pane`, { has: page.locator('.pane-header', { hasText: new RegExp(`^\\s*${name}`, 'i') }) });
}

/** Expands the view's pane when it is collapsed. */
export async function expandPane(page, name) {
  const header = viewPane(page, name).locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
}

/**
 * The rows of a tree view as the DOM shows them, in tree order: { index, level, label, description,
 * text, expanded }. Rows are positioned absolutely, so DOM order is not tree order: data-index is.
 */
export async function treeRows(page, view) {
  const rows = await viewPane(page, view).locator('.monaco-list-row').evaluateAll((els) =>
    els.map((el) => ({
      index: Number(el.getAttribute('data-index')),
      level: Number(el.getAttribute('aria-level') || 1),
      label: (el.querySelector('.label-name')?.textContent ?? '').trim(),
      description: (el.querySelector('.label-description')?.textContent ?? '').trim(),
      text: [el.querySelector('.label-name')?.textContent, el.querySelector('.label-description')?.textContent]
        .filter(Boolean).join(' ').replace(/\s+/g, ' ').trim(),
      expanded: el.getAttribute('aria-expanded'),
    })),
  );
  return rows.sort((a, b) => a.index - b.index);
}

/** The row locator of a tree item by data-index (see treeRows). */
export function rowAt(page, view, index) {
  return viewPane(page, view).locator(`.monaco-list-row[data-index="${index}"]`);
}

/** Finds a root row whose label is `label` (waiting for it), expands it, and returns its info. */
export async function expandTreeItem(page, view, label, timeoutMs = 60_000) {
  const parent = await poll(async () => (await treeRows(page, view)).find((r) => r.label === label), {
    timeoutMs,
    what: `a row "${label}" in the ${view} view (rows: see the screenshot)`,
  }).catch(async (e) => {
    const rows = await treeRows(page, view).catch(() => []);
    throw new Error(`${e.message}; rows now: ${JSON.stringify(rows.map((r) => r.text))}`);
  });
  if (parent.expanded === 'false') {
    const row = rowAt(page, view, parent.index);
    await row.locator('.monaco-tl-twistie').click();
  }
  await poll(async () => (await treeRows(page, view)).find((r) => r.index === parent.index)?.expanded === 'true', {
    timeoutMs: 15_000,
    what: `row "${label}" to expand`,
  });
  return parent;
}

/** The child row `childLabel` under the root row `parentLabel` (both by label), or undefined. */
export async function findChildRow(page, view, parentLabel, childLabel) {
  const rows = await treeRows(page, view);
  const p = rows.findIndex((r) => r.label === parentLabel);
  if (p < 0) return undefined;
  for (let i = p + 1; i < rows.length && rows[i].level > rows[p].level; i++) {
    if (rows[i].level === rows[p].level + 1 && rows[i].label === childLabel) return rows[i];
  }
  return undefined;
}
