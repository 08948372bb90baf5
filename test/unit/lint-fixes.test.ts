import { strict as assert } from 'node:assert';
import { lint, type Finding } from '../../src/core/lint';
import {
  applyEdits,
  editsConflict,
  fixAllText,
  ignoreForFileEdit,
  ignoreForStatementEdit,
  minimalEdit,
  selectNonOverlapping,
  withoutStatementIgnores,
} from '../../src/extension/lintFixes';
import { findingsOf, useParser } from '../helpers/lint';

const findings = (text: string) => lint(text).findings;
const rules = (text: string) => findings(text).map((f) => f.rule);

describe('editor lint fixes (pure helpers)', () => {
  useParser();

  describe('applyEdits / selectNonOverlapping', () => {
    it('detects conflicts: overlaps and insertions at the same point, not touching ranges', () => {
      assert.ok(editsConflict({ start: 2, end: 5, text: '' }, { start: 4, end: 6, text: '' }));
      assert.ok(editsConflict({ start: 3, end: 3, text: 'a' }, { start: 3, end: 3, text: 'b' }));
      assert.ok(editsConflict({ start: 4, end: 4, text: 'a' }, { start: 2, end: 6, text: '' }));
      assert.ok(!editsConflict({ start: 2, end: 5, text: '' }, { start: 5, end: 7, text: '' }));
      assert.ok(!editsConflict({ start: 5, end: 5, text: 'x' }, { start: 2, end: 5, text: '' }));
    });

    it('applies a set of edits from the end backwards', () => {
      assert.equal(applyEdits('abcdef', [{ start: 1, end: 2, text: 'B' }, { start: 4, end: 4, text: '_' }, { start: 6, end: 6, text: '!' }]), 'aBcd_ef!');
      assert.equal(applyEdits('abc', []), 'abc');
    });

    it('keeps whole fixes that do not conflict, first come first served', () => {
      const fixes = [
        { title: 'a', edits: [{ start: 10, end: 10, text: ' A' }, { start: 0, end: 0, text: 'x' }] },
        { title: 'b', edits: [{ start: 10, end: 10, text: ' B' }] }, // same point as a
        { title: 'c', edits: [{ start: 12, end: 15, text: 'C' }] },
        { title: 'd', edits: [{ start: 14, end: 20, text: 'D' }] }, // overlaps c
        { title: 'e', edits: [] },
        { title: 'f', edits: [{ start: 30, end: 40, text: '' }] }, // beyond the text
      ];
      const sel = selectNonOverlapping(fixes, 25);
      assert.deepEqual(sel.fixes.map((f) => f.title), ['a', 'c']);
      assert.equal(sel.edits.length, 3);
    });
  });

  describe('fixAllText', () => {
    it('applies every first fix, re-linting between rounds (same-point insertions in order)', () => {
      const text = '-- migrate:up\nCREATE TABLE t (id int);\nCREATE INDEX users_email_idx ON users (email);\n';
      const r = fixAllText(text, findings);
      assert.ok(r.rounds >= 2, `expected several rounds, got ${r.rounds}`);
      assert.match(r.text, /^-- migrate:up transaction:false\n/);
      assert.match(r.text, /CREATE TABLE IF NOT EXISTS t/);
      assert.match(r.text, /CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx/);
      const left = findings(r.text);
      assert.deepEqual(left.filter((f) => f.fixes?.length), [], JSON.stringify(left));
      assert.ok(!rules(r.text).includes('syntax-error'));
    });

    it('returns the text unchanged when nothing is fixable', () => {
      const text = '-- migrate:up\nCREATE TABLE IF NOT EXISTS t (id bigint);\n';
      assert.deepEqual(fixAllText(text, findings), { text, applied: 0, rounds: 0 });
    });

    it('stops after maxRounds, and on fixes that cycle', () => {
      // A fake linter whose fix always toggles a character: cycles.
      const toggle = (t: string): Finding[] => [{ rule: 'r', severity: 'warning', message: '', start: 0, end: 1, fixes: [{ title: 't', edits: [{ start: 0, end: 1, text: t[0] === 'a' ? 'b' : 'a' }] }] }];
      assert.equal(fixAllText('a', toggle).rounds, 2);
      // A linter whose fix grows the text forever: bounded by maxRounds.
      const grow = (t: string): Finding[] => [{ rule: 'r', severity: 'warning', message: '', start: 0, end: 0, fixes: [{ title: 'g', edits: [{ start: t.length, end: t.length, text: 'x' }] }] }];
      assert.deepEqual(fixAllText('', grow, 10), { text: 'xxxxxxxxxx', applied: 10, rounds: 10 });
    });
  });

  describe('minimalEdit', () => {
    it('replaces only the changed middle', () => {
      assert.equal(minimalEdit('abc', 'abc'), undefined);
      assert.deepEqual(minimalEdit('CREATE TABLE t', 'CREATE TABLE IF NOT EXISTS t'), { start: 13, end: 13, text: 'IF NOT EXISTS ' });
      assert.deepEqual(minimalEdit('aXb', 'ab'), { start: 1, end: 2, text: '' });
      const before = 'x\r\ny';
      const after = 'x\r\n\r\ny';
      const e = minimalEdit(before, after)!;
      assert.equal(applyEdits(before, [e]), after);
      assert.ok(before[e.start - 1] !== '\r' || before[e.start] !== '\n');
    });

    it('never splits a surrogate pair', () => {
      const before = 'a\u{1F600}b';
      const after = 'a\u{1F601}b';
      const e = minimalEdit(before, after)!;
      assert.deepEqual(e, { start: 1, end: 3, text: '\u{1F601}' });
    });
  });

  describe('ignore comments', () => {
    const ignoredBy = (text: string, rule: string, edit: { start: number; end: number; text: string } | undefined) => {
      assert.ok(edit, 'expected an edit');
      const out = applyEdits(text, [edit]);
      assert.deepEqual(findingsOf(rule, out), [], `${rule} still flagged in:\n${out}`);
      assert.deepEqual(findingsOf('unused-ignore', out), [], `unused ignore in:\n${out}`);
      return out;
    };

    it('inserts `-- bulwark-ignore <rule>` above the statement with its indentation', () => {
      const text = '-- migrate:up\nCREATE TABLE IF NOT EXISTS a (id bigint);\n  CREATE TABLE t (id bigint);\n';
      const [f] = findingsOf('require-if-not-exists', text);
      const out = ignoredBy(text, 'require-if-not-exists', ignoreForStatementEdit(text, f.start, 'require-if-not-exists'));
      assert.equal(out, '-- migrate:up\nCREATE TABLE IF NOT EXISTS a (id bigint);\n  -- bulwark-ignore require-if-not-exists\n  CREATE TABLE t (id bigint);\n');
    });

    it('suppresses only that statement', () => {
      const text = '-- migrate:up\nCREATE TABLE a (id bigint);\nCREATE TABLE b (id bigint);\n';
      const [f] = findingsOf('require-if-not-exists', text);
      const out = applyEdits(text, [ignoreForStatementEdit(text, f.start, 'require-if-not-exists')!]);
      const left = findingsOf('require-if-not-exists', out);
      assert.equal(left.length, 1);
      assert.equal(out.slice(left[0].start - 7, left[0].end), 'CREATE TABLE');
      assert.ok(out.indexOf('CREATE TABLE b') < left[0].end);
    });

    it('works for a statement inside a multi-line statement and after a leading comment', () => {
      const text = '-- migrate:up\n-- the table\nCREATE\n  TABLE t (\n  id int\n);\n';
      const [f] = findingsOf('require-if-not-exists', text);
      assert.equal(text.slice(f.start, f.end), 'TABLE');
      const out = ignoredBy(text, 'require-if-not-exists', ignoreForStatementEdit(text, f.start, 'require-if-not-exists'));
      assert.equal(out, '-- migrate:up\n-- the table\n-- bulwark-ignore require-if-not-exists\nCREATE\n  TABLE t (\n  id int\n);\n');
    });

    it('appends to an existing ignore comment on the line above', () => {
      const text = '-- migrate:up\n-- bulwark-ignore require-if-exists  \nDROP TABLE t;\n';
      const [f] = findingsOf('ban-drop-table', text);
      const out = ignoredBy(text, 'ban-drop-table', ignoreForStatementEdit(text, f.start, 'ban-drop-table'));
      assert.equal(out, '-- migrate:up\n-- bulwark-ignore require-if-exists, ban-drop-table  \nDROP TABLE t;\n');
      assert.equal(ignoreForStatementEdit(out, out.indexOf('DROP'), 'ban-drop-table'), undefined);
    });

    it('puts the comment on its own line when another statement ends on the same line', () => {
      const text = '-- migrate:up\nSELECT 1;  CREATE TABLE t (id bigint);\n';
      const [f] = findingsOf('require-if-not-exists', text);
      const out = ignoredBy(text, 'require-if-not-exists', ignoreForStatementEdit(text, f.start, 'require-if-not-exists'));
      assert.equal(out, '-- migrate:up\nSELECT 1;\n-- bulwark-ignore require-if-not-exists\nCREATE TABLE t (id bigint);\n');
    });

    it('keeps CRLF line ends', () => {
      const text = '-- migrate:up\r\nCREATE TABLE t (id bigint);\r\n';
      const [f] = findingsOf('require-if-not-exists', text);
      const out = ignoredBy(text, 'require-if-not-exists', ignoreForStatementEdit(text, f.start, 'require-if-not-exists'));
      assert.equal(out, '-- migrate:up\r\n-- bulwark-ignore require-if-not-exists\r\nCREATE TABLE t (id bigint);\r\n');
      const file = ignoredBy(text, 'require-if-not-exists', ignoreForFileEdit(text, 'require-if-not-exists'));
      assert.equal(file, '-- bulwark-ignore-file require-if-not-exists\r\n-- migrate:up\r\nCREATE TABLE t (id bigint);\r\n');
    });

    it('returns undefined for an offset outside any statement', () => {
      assert.equal(ignoreForStatementEdit('-- migrate:up\n\n', 3, 'x'), undefined);
    });

    it('inserts `-- bulwark-ignore-file <rule>` after the header comment, before the marker', () => {
      const text = '-- Add tables\n-- author: me\n-- migrate:up\nCREATE TABLE a (id bigint);\nCREATE TABLE b (id bigint);\n-- migrate:down\nDROP TABLE b;\n';
      const out = ignoredBy(text, 'require-if-not-exists', ignoreForFileEdit(text, 'require-if-not-exists'));
      assert.equal(out, '-- Add tables\n-- author: me\n-- bulwark-ignore-file require-if-not-exists\n-- migrate:up\nCREATE TABLE a (id bigint);\nCREATE TABLE b (id bigint);\n-- migrate:down\nDROP TABLE b;\n');
    });

    it('file ignore: at the top of a file without header; appended to an existing file ignore', () => {
      const text = 'CREATE TABLE a (id int);\nDROP TABLE x;\n';
      const out = ignoredBy(text, 'require-if-not-exists', ignoreForFileEdit(text, 'require-if-not-exists'));
      assert.equal(out, '-- bulwark-ignore-file require-if-not-exists\nCREATE TABLE a (id int);\nDROP TABLE x;\n');
      const out2 = ignoredBy(out, 'ban-drop-table', ignoreForFileEdit(out, 'ban-drop-table'));
      assert.equal(out2, '-- bulwark-ignore-file require-if-not-exists, ban-drop-table\nCREATE TABLE a (id int);\nDROP TABLE x;\n');
      assert.equal(ignoreForFileEdit(out2, 'ban-drop-table'), undefined);
    });

    it('file ignore removes the now redundant statement-level ignores of the rule (else reported unused)', () => {
      const text = '-- migrate:up\n-- bulwark-ignore ban-drop-table, require-if-exists\nDROP TABLE a;\n  -- bulwark-ignore ban-drop-table\nDROP TABLE b;\nDROP TABLE c;\n';
      const out = ignoredBy(text, 'ban-drop-table', ignoreForFileEdit(text, 'ban-drop-table'));
      assert.equal(out, '-- bulwark-ignore-file ban-drop-table\n-- migrate:up\n-- bulwark-ignore require-if-exists\nDROP TABLE a;\nDROP TABLE b;\nDROP TABLE c;\n');
      assert.deepEqual(findingsOf('require-if-exists', out).length, 2);
      // A trailing ignore comment is removed from its line; "ignore everything" comments are left alone.
      assert.equal(withoutStatementIgnores('SELECT 1; -- bulwark-ignore r\n-- bulwark-ignore\nX;', 'r'), 'SELECT 1;\n-- bulwark-ignore\nX;');
      assert.equal(withoutStatementIgnores('-- bulwark-ignore-file r\n-- bulwark-ignore a,r ,b\n', 'r'), '-- bulwark-ignore-file r\n-- bulwark-ignore a, b\n');
    });

    it('file ignore after a header without a final line break', () => {
      const text = '-- only a comment';
      assert.equal(applyEdits(text, [ignoreForFileEdit(text, 'r')!]), '-- only a comment\n-- bulwark-ignore-file r\n');
    });
  });
});
