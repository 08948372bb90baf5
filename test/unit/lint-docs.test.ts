import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_RULES } from '../../src/core/lint';
import { ruleDocs } from '../../scripts/gen-rule-docs';

describe('lint rule catalogue', () => {
  it('ids are unique, kebab-case, and documented', () => {
    const ids = ALL_RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate rule id');
    for (const r of ALL_RULES) {
      assert.match(r.id, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, r.id);
      assert.ok(r.summary.length > 10 && r.details.length > 40, `${r.id} needs a summary and details`);
      assert.ok(['error', 'warning', 'info', 'off'].includes(r.defaultSeverity), r.id);
    }
  });

  it('docs/rules is up to date (npm run docs:rules)', () => {
    const dir = path.resolve(__dirname, '../../docs/rules');
    const expected = ruleDocs();
    const actual = fs.readdirSync(dir).sort();
    assert.deepEqual(actual, [...expected.keys()].sort());
    for (const [f, text] of expected) assert.equal(fs.readFileSync(path.join(dir, f), 'utf8'), text, `docs/rules/${f} is stale: run npm run docs:rules`);
  });

  it('every rule has tests that name it', () => {
    const dir = path.resolve(__dirname);
    const tests = fs.readdirSync(dir).filter((f) => f.startsWith('lint') && f.endsWith('.test.ts')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    const untested = ALL_RULES.filter((r) => !tests.includes(`'${r.id}'`)).map((r) => r.id);
    assert.deepEqual(untested, []);
  });
});
