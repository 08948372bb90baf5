import { strict as assert } from 'node:assert';
import { Finding, lint, LintSettings, loadParser } from '../../src/core/lint';

/** Load the WASM parser once for the suite. */
export function useParser(): void {
  before(async function () {
    this.timeout(30000);
    await loadParser();
  });
}

/** Findings of one rule (all rules run, so interactions are real). */
export function findingsOf(rule: string, sql: string, settings: Partial<LintSettings> = {}): Finding[] {
  return lint(sql, settings).findings.filter((f) => f.rule === rule);
}

/** Assert the rule flags `sql` exactly `count` times (default 1), returning the findings. */
export function flags(rule: string, sql: string, settings: Partial<LintSettings> = {}, count = 1): Finding[] {
  const f = findingsOf(rule, sql, settings);
  assert.equal(f.length, count, `${rule} should flag ${count}× in:\n${sql}\ngot: ${JSON.stringify(lint(sql, settings).findings, null, 1)}`);
  return f;
}

export function passes(rule: string, sql: string, settings: Partial<LintSettings> = {}): void {
  const f = findingsOf(rule, sql, settings);
  assert.deepEqual(f, [], `${rule} should not flag:\n${sql}`);
}

/** Apply a fix's edits to the text. */
export function applyFix(text: string, f: Finding, which = 0): string {
  const fix = f.fixes?.[which];
  assert.ok(fix, `finding has no fix #${which}: ${JSON.stringify(f)}`);
  let out = text;
  for (const e of [...fix.edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The text a finding points at. */
export function at(text: string, f: Finding): string {
  return text.slice(f.start, f.end);
}

/** Apply fix #which of a finding; the rule must then be silent and the result must parse (no rule failing on it). */
export function fixClears(rule: string, sql: string, f: Finding, settings: Partial<LintSettings> = {}, which = 0): string {
  const out = applyFix(sql, f, which);
  passes(rule, out, settings);
  const errors = lint(out, settings).findings.filter((x) => x.rule === 'syntax-error' || x.rule === 'internal-error');
  assert.deepEqual(errors, [], `the fix left errors:\n${out}`);
  return out;
}

/** Apply fix #which of the (single) finding of `rule` in `sql`, as fixClears. Returns the fixed text. */
export function fixes(rule: string, sql: string, settings: Partial<LintSettings> = {}, which = 0): string {
  const [f] = flags(rule, sql, settings);
  return fixClears(rule, sql, f, settings, which);
}
