import { strict as assert } from 'node:assert';
import { lint, lintSettingsFrom, sectionsOf } from '../../src/core/lint';
import { at, flags, passes, useParser } from '../helpers/lint';

describe('linter core', () => {
  useParser();

  it('reports a syntax error at its exact position and keeps linting the rest', () => {
    const sql = "CREATE TABLE IF NOT EXISTS a (id int);\nSELECT 'é' FROM WHERE;\nCREATE TABLE b (id int);\n";
    const [e] = flags('syntax-error', sql);
    assert.equal(at(sql, e), 'WHERE');
    assert.equal(e.severity, 'error');
    flags('require-if-not-exists', sql); // b is still linted
  });

  it('locates syntax errors after multi-byte characters and astral characters', () => {
    const sql = "SELECT '日本語😀' AS x FROM FROM t;";
    const [e] = flags('syntax-error', sql);
    assert.equal(at(sql, e), 'FROM');
    assert.equal(e.start, sql.indexOf('FROM FROM') + 5);
  });

  it('reports unterminated quotes from the splitter', () => {
    const [e] = flags('syntax-error', "SELECT 1;\nSELECT 'oops;\n");
    assert.match(e.message, /unterminated quoted string/);
  });

  it('psql variables and meta-commands do not break parsing', () => {
    const sql = "\\set ON_ERROR_STOP on\nCREATE TABLE IF NOT EXISTS :\"schema\".t (id int DEFAULT :def, s text DEFAULT :'str');\n";
    passes('syntax-error', sql);
  });

  it('splits Bulwark sections with their transaction modes', () => {
    const text = '-- header\n-- migrate:up transaction:false\nA;\n-- migrate:down\nB;\n';
    const s = sectionsOf(text, true);
    assert.deepEqual(s.map((x) => [x.kind, x.transaction, text.slice(x.start, x.end)]), [['up', false, 'A;\n'], ['down', true, 'B;\n']]);
    assert.deepEqual(sectionsOf('A;', false).map((x) => [x.kind, x.transaction]), [['file', false]]);
  });

  it('-- bulwark-ignore suppresses the next statement only; -- bulwark-ignore-file the whole file', () => {
    const sql = '-- bulwark-ignore require-if-not-exists\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n';
    const f = flags('require-if-not-exists', sql);
    assert.equal(at(sql, f[0]).toLowerCase(), 'table');
    assert.ok(f[0].start > sql.indexOf('CREATE TABLE b'));
    passes('require-if-not-exists', `-- bulwark-ignore-file require-if-not-exists\n${sql}`);
    passes('unused-ignore', sql);
  });

  it('an ignore that suppresses nothing, or names an unknown rule, is reported with a removal fix', () => {
    const sql = '-- bulwark-ignore require-if-not-exists\nSELECT 1;\n-- bulwark-ignore no-such-rule\nSELECT 2;\n';
    const f = flags('unused-ignore', sql, {}, 2);
    assert.match(f[0].message, /suppresses nothing/);
    assert.match(f[1].message, /unknown rule "no-such-rule"/);
    assert.equal(f[0].fixes![0].edits[0].start, 0);
  });

  it('rule severities can be changed or turned off', () => {
    const sql = 'CREATE TABLE a (id int);';
    assert.equal(lint(sql, { rules: { 'require-if-not-exists': 'error' } }).findings[0].severity, 'error');
    passes('require-if-not-exists', sql, { rules: { 'require-if-not-exists': 'off' } });
  });

  it('reads lint settings from bulwark.json, rejecting unknown rules and values', () => {
    assert.deepEqual(lintSettingsFrom({ pgVersion: 13, rules: { 'require-if-not-exists': 'off' } }).rules, { 'require-if-not-exists': 'off' });
    assert.equal(lintSettingsFrom({ pgVersion: 13 }).pgVersion, 13);
    assert.equal(lintSettingsFrom({ pgVersion: 13 }, { pgVersion: 15 }).pgVersion, 15);
    assert.throws(() => lintSettingsFrom({ rules: { 'nope': 'off' } }), /unknown rule "nope"/);
    assert.throws(() => lintSettingsFrom({ rules: { 'require-if-not-exists': 'loud' } }), /must be "off", "info", "warning" or "error"/);
    assert.throws(() => lintSettingsFrom({ pgVersoin: 13 }), /lint.pgVersoin is not a setting/);
  });

  it('never throws on odd input', () => {
    for (const sql of ['', ';;;', '$$', '/*', "'", '-- migrate:up', '-- migrate:up\n-- migrate:down', '\\', 'DO $$ BEGIN $$;', 'CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;']) {
      lint(sql);
    }
  });
});

describe('linter core: down sections', () => {
  useParser();
  it('what the up section created is new to the down section (dropping it is the expected undo)', () => {
    const sql = '-- migrate:up\nCREATE TABLE IF NOT EXISTS t (id bigint);\n-- migrate:down\nDROP TABLE IF EXISTS t;\n';
    passes('ban-drop-table', sql);
    flags('ban-drop-table', '-- migrate:up\nSELECT 1;\n-- migrate:down\nDROP TABLE IF EXISTS t;\n');
  });
});
