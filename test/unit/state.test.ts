import { strict as assert } from 'node:assert';
import { computePlan, computeStates, HistoryRow, parseMigration } from '../../src/core';

const m = (version: string, up = 'SELECT 1;', opts = '') => parseMigration(`-- migrate:up${opts}\n${up}\n`, `/m/${version}_x.sql`, `${version}_x.sql`);
const row = (mig: ReturnType<typeof m>, over: Partial<HistoryRow> = {}): HistoryRow => ({
  version: mig.version, name: mig.name, checksum: mig.checksum, normalizedChecksum: mig.normalizedChecksum, status: 'applied',
  transactional: mig.up.transaction, appliedAt: new Date('2026-01-01T00:00:00Z'), appliedBy: 'postgres', osUser: 'alice', hostname: 'box',
  durationMs: 5, error: null, toolVersion: 't', environment: 'dev', statementsDone: null, down: null, ...over,
});

describe('migration states', () => {
  const a = m('20260101000000');
  const b = m('20260102000000');
  const c = m('20260103000000');

  it('applied, pending and out-of-order', () => {
    const s = computeStates([a, b, c], [row(b)]);
    assert.deepEqual(s.map((x) => x.status), ['out-of-order', 'applied', 'pending']);
    assert.equal(s[1].appliedBy, 'postgres');
    assert.equal(s[1].durationMs, 5);
  });

  it('edited: cosmetic vs semantic', () => {
    const cos = m('20260101000000', '-- note\nselect   1;');
    const sem = m('20260101000000', 'SELECT 2;');
    assert.deepEqual(computeStates([cos], [row(a)]).map((x) => [x.status, x.edit]), [['edited', 'cosmetic']]);
    assert.deepEqual(computeStates([sem], [row(a)]).map((x) => [x.status, x.edit]), [['edited', 'semantic']]);
  });

  it('missing files and failed / interrupted rows', () => {
    const s = computeStates([b], [row(a), row(b, { status: 'running', transactional: false, statementsDone: 2 })]);
    assert.deepEqual(s.map((x) => [x.version, x.status, x.interrupted]), [['20260101000000', 'missing', undefined], ['20260102000000', 'failed', true]]);
    assert.equal(s[1].statementsDone, 2);
  });

  it('baseline rows count as applied, recorded only', () => {
    const s = computeStates([a], [row(a, { status: 'baseline' })]);
    assert.deepEqual([s[0].status, s[0].recordedOnly], ['applied', true]);
  });
});

describe('plan', () => {
  const a = m('20260101000000');
  const b = m('20260102000000');
  const nt = m('20260103000000', 'CREATE INDEX CONCURRENTLY i ON t (x);', ' transaction:false');

  it('retries failed transactional migrations, refuses failed non-transactional ones', () => {
    const p1 = computePlan([a, b], computeStates([a, b], [row(a, { status: 'failed' })]));
    assert.deepEqual(p1.steps.map((s) => [s.version, s.reason]), [['20260101000000', 'retry-failed'], ['20260102000000', 'pending']]);
    assert.deepEqual(p1.problems, []);
    const p2 = computePlan([nt], computeStates([nt], [row(nt, { status: 'failed', transactional: false, statementsDone: 0 })]));
    assert.equal(p2.steps.length, 0);
    assert.match(p2.problems[0].message, /failed outside a transaction/);
  });

  it('out-of-order needs allowOutOfOrder', () => {
    const states = computeStates([a, b], [row(b)]);
    assert.match(computePlan([a, b], states).problems[0].message, /out of order/);
    assert.deepEqual(computePlan([a, b], states, { allowOutOfOrder: true }).problems, []);
  });

  it('cosmetic edits and missing files are warnings, semantic edits are problems', () => {
    const cos = m('20260101000000', '-- note\nSELECT 1;');
    assert.equal(computePlan([cos], computeStates([cos], [row(a)])).warnings.length, 1);
    assert.equal(computePlan([], computeStates([], [row(a)])).warnings.length, 1);
    const sem = m('20260101000000', 'SELECT 9;');
    assert.match(computePlan([sem], computeStates([sem], [row(a)])).problems[0].message, /changed after it was applied/);
  });
});
