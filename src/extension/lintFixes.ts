// Pure text logic behind the editor's lint quick fixes (no `vscode` import, so it is unit-tested in plain
// Node): applying fixes, the "fix all" loop, and the edits of the "ignore this rule" actions.
// Every offset is a UTF-16 index into the whole text, as in the linter's findings.
import { sectionsOf } from '../core/lint/lint';
import type { Finding, Fix, TextEdit } from '../core/lint/types';
import { splitStatements } from '../core/sql/split';

/** Two edits that cannot both be applied unambiguously: overlapping ranges, or the same start (two insertions at one point). */
export function editsConflict(a: TextEdit, b: TextEdit): boolean {
  if (a.start === b.start) return true;
  return a.start < b.end && b.start < a.end;
}

/** Apply edits that do not conflict with each other (a fix's edits, or a non-overlapping selection). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  // From the end backwards, so earlier offsets stay valid; ties keep their given order in the result.
  const order = edits.map((e, i) => ({ e, i })).sort((x, y) => y.e.start - x.e.start || y.i - x.i);
  let out = text;
  for (const { e } of order) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * The fixes (whole: all of a fix's edits or none) that can be applied together: greedily, in the given
 * order, each fix whose edits are valid and conflict with no edit already chosen.
 */
export function selectNonOverlapping(fixes: readonly Fix[], textLength = Infinity): { fixes: Fix[]; edits: TextEdit[] } {
  const chosen: Fix[] = [];
  const edits: TextEdit[] = [];
  for (const fix of fixes) {
    if (fix.edits.length === 0) continue;
    const valid = fix.edits.every((e) => Number.isInteger(e.start) && Number.isInteger(e.end) && e.start >= 0 && e.start <= e.end && e.end <= textLength);
    if (!valid) continue;
    // A fix's own edits must not conflict with each other either (applyEdits could not order them).
    const self = fix.edits.some((e, i) => fix.edits.some((f, j) => j > i && editsConflict(e, f)));
    if (self) continue;
    if (fix.edits.some((e) => edits.some((c) => editsConflict(e, c)))) continue;
    chosen.push(fix);
    edits.push(...fix.edits);
  }
  return { fixes: chosen, edits };
}

export interface FixAllResult {
  /** The text with the fixes applied (=== the input when nothing was fixable). */
  text: string;
  /** Fixes applied, over all rounds. */
  applied: number;
  /** Rounds that applied something. */
  rounds: number;
}

/**
 * Apply the first fix of every finding: a non-overlapping subset per round, then lint the result again
 * (fixes shift offsets and may make or clear other findings) and repeat, up to `maxRounds`, until no
 * finding has a fix.
 */
export function fixAllText(text: string, lintText: (text: string) => readonly Finding[], maxRounds = 10): FixAllResult {
  let current = text;
  let applied = 0;
  let rounds = 0;
  const seen = new Set<string>([current]);
  for (let round = 0; round < maxRounds; round++) {
    const firstFixes = lintText(current).flatMap((f) => (f.fixes?.length ? [f.fixes[0]] : []));
    if (firstFixes.length === 0) break;
    const sel = selectNonOverlapping(firstFixes, current.length);
    if (sel.fixes.length === 0) break;
    const next = applyEdits(current, sel.edits);
    if (next === current) break;
    current = next;
    applied += sel.fixes.length;
    rounds++;
    // Fixes that undo each other would cycle until maxRounds: stop at the first repeated text.
    if (seen.has(current)) break;
    seen.add(current);
  }
  return { text: current, applied, rounds };
}

/**
 * The smallest single edit turning `before` into `after` (common prefix and suffix left alone), never
 * splitting a surrogate pair or a CRLF. undefined when the texts are equal.
 */
export function minimalEdit(before: string, after: string): TextEdit | undefined {
  if (before === after) return undefined;
  const max = Math.min(before.length, after.length);
  let p = 0;
  while (p < max && before.charCodeAt(p) === after.charCodeAt(p)) p++;
  let s = 0;
  while (s < max - p && before.charCodeAt(before.length - 1 - s) === after.charCodeAt(after.length - 1 - s)) s++;
  // Do not cut between the halves of a surrogate pair or of a \r\n (editors treat each as one unit).
  const splits = (t: string, i: number) => i > 0 && i < t.length && ((isHigh(t.charCodeAt(i - 1)) && isLow(t.charCodeAt(i))) || (t[i - 1] === '\r' && t[i] === '\n'));
  while (p > 0 && (splits(before, p) || splits(after, p))) p--;
  while (s > 0 && (splits(before, before.length - s) || splits(after, after.length - s))) s--;
  return { start: p, end: before.length - s, text: after.slice(p, after.length - s) };
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

// ---------------------------------------------------------------------------------------------------
// Ignore comments (see src/core/lint/lint.ts: `-- bulwark-ignore a, b` applies to the next statement,
// `-- bulwark-ignore-file a` to the whole file; both must be line comments).
// ---------------------------------------------------------------------------------------------------

/** The same pattern the linter reads (on the comment's trimmed text). */
const IGNORE = /^--\s*bulwark-ignore(-file)?(?:\s+(.*?))?\s*$/;
const MARKER = /^--[ \t]*migrate:(up|down)\b/;

/** Statement ranges as the linter computes them for statement-level ignores (start … just past the ';'). */
export function statementRanges(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const section of sectionsOf(text, true)) {
    const split = splitStatements(text.slice(section.start, section.end));
    for (const s of split.statements) out.push({ start: section.start + s.start, end: section.start + s.terminatorEnd });
  }
  return out;
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** End of the line at `offset`, before its line break (\n or \r\n). */
function lineEndOf(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  const end = nl < 0 ? text.length : nl;
  return end > offset && text[end - 1] === '\r' && nl >= 0 ? end - 1 : end;
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** A line comment that is the whole line at [lineStart, lineEnd) (indentation aside), if any. */
function wholeLineComment(text: string, comments: { start: number; end: number; text: string; kind: string }[], lineStart: number, lineEnd: number) {
  return comments.find(
    (c) => c.kind === 'line' && c.start >= lineStart && c.start < lineEnd && text.slice(lineStart, c.start).trim() === '' && text.slice(c.end, lineEnd).trim() === '',
  );
}

/** The rule list of an ignore comment ('all' when none is given). */
function ignoreList(listText: string | undefined): string[] | 'all' {
  const list = (listText ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  return list.length ? list : 'all';
}

/** An edit appending `, rule` to an ignore comment's list, or undefined when it already covers the rule. */
function appendToIgnore(comment: { start: number; end: number; text: string }, rule: string): TextEdit | null | undefined {
  const m = IGNORE.exec(comment.text.trim());
  if (!m) return undefined;
  const list = ignoreList(m[2]);
  if (list === 'all' || list.includes(rule)) return null;
  const at = comment.start + comment.text.trimEnd().length;
  return { start: at, end: at, text: `, ${rule}` };
}

/**
 * The edit that suppresses `rule` for the statement containing `offset` (where the finding starts):
 * a `-- bulwark-ignore <rule>` line above the statement's line, with the statement's indentation, or
 * `, <rule>` appended to the ignore comment already on that line. undefined when the offset is in no
 * statement or the rule is already listed there.
 */
export function ignoreForStatementEdit(text: string, offset: number, rule: string): TextEdit | undefined {
  const stmt = statementRanges(text).find((r) => offset >= r.start && offset <= r.end);
  if (!stmt) return undefined;
  const eol = eolOf(text);
  const lineStart = lineStartOf(text, stmt.start);
  const before = text.slice(lineStart, stmt.start);
  if (before.trim() !== '') {
    // Another statement ends on the same line: put the comment on a line of its own before this one.
    const indent = /^[ \t]*/.exec(before)![0];
    let cut = stmt.start;
    while (cut > lineStart && (text[cut - 1] === ' ' || text[cut - 1] === '\t')) cut--;
    return { start: cut, end: stmt.start, text: `${eol}${indent}-- bulwark-ignore ${rule}${eol}${indent}` };
  }
  if (lineStart > 0) {
    const prevStart = lineStartOf(text, lineStart - 1);
    const prevEnd = lineEndOf(text, prevStart);
    const comments = splitStatements(text).comments;
    const c = wholeLineComment(text, comments, prevStart, prevEnd);
    const m = c && IGNORE.exec(c.text.trim());
    if (c && m && !m[1]) {
      const edit = appendToIgnore(c, rule);
      if (edit === null) return undefined;
      if (edit) return edit;
    }
  }
  return { start: lineStart, end: lineStart, text: `${before}-- bulwark-ignore ${rule}${eol}` };
}

/**
 * The text without `rule` in its statement-level ignore comments (made redundant by a file-level
 * ignore, they would be reported as unused): `-- bulwark-ignore a, rule` becomes `-- bulwark-ignore a`,
 * and a comment listing only `rule` is removed (its line too when it is alone on it: an empty list would
 * mean "every rule").
 */
export function withoutStatementIgnores(text: string, rule: string): string {
  const edits: TextEdit[] = [];
  for (const c of splitStatements(text).comments) {
    if (c.kind !== 'line') continue;
    const m = IGNORE.exec(c.text.trim());
    if (!m || m[1]) continue;
    const list = ignoreList(m[2]);
    if (list === 'all' || !list.includes(rule)) continue;
    const rest = list.filter((r) => r !== rule);
    const end = c.start + c.text.trimEnd().length;
    if (rest.length) {
      edits.push({ start: c.start, end, text: `-- bulwark-ignore ${rest.join(', ')}` });
      continue;
    }
    const ls = lineStartOf(text, c.start);
    const le = lineEndOf(text, c.start);
    if (text.slice(ls, c.start).trim() === '' && text.slice(end, le).trim() === '') {
      const nl = text.indexOf('\n', c.start);
      edits.push({ start: ls, end: nl < 0 ? text.length : nl + 1, text: '' });
    } else {
      let from = c.start;
      while (from > ls && (text[from - 1] === ' ' || text[from - 1] === '\t')) from--;
      edits.push({ start: from, end, text: '' });
    }
  }
  return applyEdits(text, edits);
}

/**
 * The edit that suppresses `rule` in the whole file: `, <rule>` appended to an existing
 * `-- bulwark-ignore-file` line, or a new `-- bulwark-ignore-file <rule>` line after the file's leading
 * comment lines (a header), before the first `-- migrate:` marker or SQL; statement-level ignores of the
 * rule, now redundant, are removed (see withoutStatementIgnores). One edit (the changed span), or
 * undefined when the file already ignores the rule.
 */
export function ignoreForFileEdit(text: string, rule: string): TextEdit | undefined {
  for (const c of splitStatements(text).comments) {
    if (c.kind !== 'line') continue;
    const m = IGNORE.exec(c.text.trim());
    if (!m || !m[1]) continue;
    const list = ignoreList(m[2]);
    if (list === 'all' || list.includes(rule)) return undefined;
  }
  const base = withoutStatementIgnores(text, rule);
  const insert = fileIgnoreInsert(base, rule);
  return minimalEdit(text, applyEdits(base, [insert]));
}

function fileIgnoreInsert(text: string, rule: string): TextEdit {
  const comments = splitStatements(text).comments;
  for (const c of comments) {
    if (c.kind !== 'line') continue;
    const m = IGNORE.exec(c.text.trim());
    if (!m || !m[1]) continue;
    const edit = appendToIgnore(c, rule);
    if (edit) return edit;
  }
  const eol = eolOf(text);
  let at = 0;
  // Skip the header: leading lines that are entirely `--` comments (markers and ignores excepted).
  while (at < text.length) {
    const end = lineEndOf(text, at);
    const line = text.slice(at, end).trim();
    if (!line.startsWith('--') || MARKER.test(line) || IGNORE.test(line)) break;
    if (!wholeLineComment(text, comments, at, end)) break;
    const nl = text.indexOf('\n', end);
    if (nl < 0) {
      // A header without a final line break: the new line goes after it.
      return { start: text.length, end: text.length, text: `${eol}-- bulwark-ignore-file ${rule}${eol}` };
    }
    at = nl + 1;
  }
  return { start: at, end: at, text: `-- bulwark-ignore-file ${rule}${eol}` };
}
