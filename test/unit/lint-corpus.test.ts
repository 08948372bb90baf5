import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_RULES, clearParseCache, lint, parseCacheSize } from '../../src/core/lint';
import { collectSqlFiles, lintFile } from '../../src/core/lint/files';
import { useParser } from '../helpers/lint';

/**
 * Real migration files from public projects (test/fixtures/corpus, sources in SOURCES.md) and stress SQL:
 * every rule enabled, no crash, no rule failure, and every syntax error located exactly.
 */
const CORPUS = path.resolve(__dirname, '../fixtures/corpus');

/** Syntax errors that are really in the third-party files (file:line → why). */
const KNOWN_ERRORS: Record<string, string> = {
  'apache__dolphinscheduler/dolphinscheduler-dao__src__main__resources__sql__upgrade__3.0.0_schema__postgresql__dolphinscheduler_ddl.sql:18': 'MySQL `delimiter d//` in a PostgreSQL file',
  'apache__dolphinscheduler/dolphinscheduler-dao__src__main__resources__sql__upgrade__3.0.0_schema__postgresql__dolphinscheduler_ddl.sql:231': 'the `d//` delimiter line',
  'postgres__postgres/src__test__regress__sql__copy2.sql:130': 'a deliberate error in PostgreSQL\'s own regression test',
};

describe('lint corpus', function () {
  this.timeout(60000);
  useParser();
  const all: Record<string, 'warning'> = {};
  for (const r of ALL_RULES) all[r.id] = 'warning';
  const files = collectSqlFiles([CORPUS]);

  it('has 50+ files from real projects', () => {
    assert.ok(files.filter((f) => !f.includes(`${path.sep}stress${path.sep}`)).length >= 50, `only ${files.length} files`);
  });

  it('lints every file with every rule: no crash, no rule failure, syntax errors only where they really are', () => {
    const unexpected: string[] = [];
    for (const f of files) {
      const rel = path.relative(CORPUS, f).split(path.sep).join('/');
      const r = lintFile(f, ALL_RULES, { rules: all });
      const lines = fs.readFileSync(f, 'utf8').split(/\r?\n/);
      for (const x of r.findings) {
        assert.notEqual(x.rule, 'internal-error', `${rel}:${x.line}: ${x.message}`);
        if (x.rule !== 'syntax-error') continue;
        const key = `${rel}:${x.line}`;
        const marked = /--\s*expect-syntax-error/.test(lines[x.line - 1] ?? '');
        if (!marked && !(key in KNOWN_ERRORS)) unexpected.push(`${key}:${x.column} ${x.message}`);
      }
      // Every marked line in the stress files gets its error.
      lines.forEach((l, i) => {
        if (/--\s*expect-syntax-error/.test(l) && !r.findings.some((x) => x.rule === 'syntax-error' && x.line === i + 1)) unexpected.push(`${rel}:${i + 1}: expected a syntax error here`);
      });
    }
    assert.deepEqual(unexpected, []);
  });

  it('finds what matters in real files (each category fires somewhere)', () => {
    const seen = new Set<string>();
    for (const f of files) for (const x of lintFile(f, ALL_RULES, {}).findings) seen.add(ALL_RULES.find((r) => r.id === x.rule)?.category ?? x.rule);
    for (const c of ['idempotency', 'locking', 'data-loss', 'transactions', 'syntax']) assert.ok(seen.has(c), `no ${c} finding in the corpus`);
  });

  it('a one-pass lint (cache: false, as the CLI runs) finds exactly what the cached lint finds, and caches nothing', () => {
    clearParseCache();
    const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
    const onePass = texts.map((t) => lint(t, { rules: all }, { cache: false }).findings);
    assert.deepEqual(parseCacheSize(), { statements: 0, plpgsql: 0 });
    const cached = texts.map((t) => lint(t, { rules: all }).findings);
    assert.ok(parseCacheSize().statements > 1000, `the editor's lint caches its parses (${parseCacheSize().statements})`);
    assert.ok(parseCacheSize().plpgsql > 0, 'and its DO blocks');
    assert.deepEqual(onePass, cached);
    // And again from the cache: the same.
    assert.deepEqual(texts.map((t) => lint(t, { rules: all }).findings), cached);
  });
});
