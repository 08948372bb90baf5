import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clearParseCache, parseCacheSize } from '../../src/core/lint';
import { collectSqlFiles } from '../../src/core/lint/files';
import { ParseOutcome, parseSql, parseStatements } from '../../src/core/lint/parser';
import { maskPsqlVariables, splitStatements } from '../../src/core/sql/split';
import { useParser } from '../helpers/lint';

/**
 * parseStatements parses a file's statements in one call into the parser. Whatever it joins, each outcome
 * must be what parsing that text alone gives: the same tree (AST locations relative to the text, once
 * `base` is taken off), the same error message and position.
 */

/** PostgreSQL's ParseLoc fields (byte offsets in the parsed text). */
const LOCATIONS = new Set(['location', 'list_start', 'list_end', 'rexpr_list_start', 'rexpr_list_end']);

function normalized(r: ParseOutcome): unknown {
  if (!r.ok) return r;
  const base = r.base;
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(walk);
    if (!n || typeof n !== 'object') return n;
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      if (LOCATIONS.has(k) && typeof v === 'number' && v >= 0) {
        // libpg-query leaves out fields equal to 0.
        if (v - base !== 0) o[k] = v - base;
      } else o[k] = walk(v);
    }
    return o;
  };
  return r.statements.map((s) => walk(s.stmt));
}

function assertSameAsAlone(texts: string[], useCache = false) {
  const batch = parseStatements(texts, useCache);
  assert.equal(batch.length, texts.length);
  texts.forEach((t, i) => {
    const alone = parseSql(t, false);
    assert.equal(batch[i].ok, alone.ok, `ok of ${JSON.stringify(t)}`);
    assert.deepEqual(normalized(batch[i]), normalized(alone), `outcome of ${JSON.stringify(t)}`);
  });
  return batch;
}

describe('lint parser: many statements in one call', () => {
  useParser();

  it('gives every statement of the corpus the outcome of parsing it alone (and joins them: non-zero bases)', () => {
    const corpus = path.resolve(__dirname, '../fixtures/corpus');
    let joined = 0;
    let failed = 0;
    for (const f of collectSqlFiles([corpus])) {
      const texts = splitStatements(fs.readFileSync(f, 'utf8'))
        .statements.filter((s) => s.kind === 'sql')
        .map((s) => maskPsqlVariables(s.text));
      for (const r of assertSameAsAlone(texts)) {
        if (r.ok && r.base > 0) joined++;
        if (!r.ok) failed++;
      }
    }
    assert.ok(joined > 800, `only ${joined} statements were parsed joined`);
    assert.ok(failed >= 3, 'the corpus has syntax errors too');
  });

  it('errors anywhere: each located in its own text, the others parsed', () => {
    const texts = ['SELECT 1', 'SELECT 1.5', 'SELEC 2', 'SELECT 3', 'CREATE TABLE (', 'SELECT 4', 'SELECT (5', 'SELECT 6', 'DROP', 'SELECT 7', 'UPDATE', 'SELECT 8', 'SELECT 9'];
    const r = assertSameAsAlone(texts);
    assert.deepEqual(r.map((x) => x.ok), [true, true, false, true, false, true, false, true, false, true, false, true, true]);
    assert.ok(r[0].ok && r[1].ok && r[1].base > 0, 'the texts before the first error are still parsed together');
    const third = r[2];
    assert.ok(!third.ok && /syntax error at or near "SELEC"/.test(third.message) && third.cursor === 0);
  });

  it('a `;` the grammar reads inside a statement does not merge two texts (CREATE RULE … DO (a; b))', () => {
    // Cut where the splitter would not cut, on purpose: joined, these parse as one statement.
    assertSameAsAlone(['CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1)', 'INSERT INTO b VALUES (2))', 'SELECT 1']);
  });

  it('texts holding two statements, only a comment, a trailing line comment, non-ASCII text', () => {
    const r = assertSameAsAlone([
      'SELECT 1; SELECT 2',
      '-- only a comment',
      "SELECT 'x' -- a trailing comment",
      "SELECT 'é', '😀' AS ü, 3 AS \"ö\"",
      'CREATE TABLE t (a int, b text)',
      "COMMENT ON TABLE t IS 'ü'",
      'SELECT $$ ; $$',
    ]);
    assert.equal(r[0].ok && r[0].statements.length, 2);
    const nonAscii = assertSameAsAlone(["SELECT 'é', '😀' AS ü", 'CREATE TABLE ö (a int)', "COMMENT ON TABLE t IS 'ü'"]);
    assert.ok(nonAscii.every((x) => x.ok) && nonAscii[2].ok && nonAscii[2].base > 0, 'non-ASCII texts are joined too');
  });

  it('with the cache: hits come back as they are, misses are parsed together and kept', () => {
    clearParseCache();
    const a = parseStatements(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    assert.equal(parseCacheSize().statements, 3);
    const b = parseStatements(['SELECT 2', 'SELECT 4', 'SELECT 3']);
    assert.equal(b[0], a[1]);
    assert.equal(b[2], a[2]);
    assert.equal(parseCacheSize().statements, 4);
    assertSameAsAlone(['SELECT 2', 'SELECT 4', 'SELECT 3', 'SELEC 5'], true);
  });
});
