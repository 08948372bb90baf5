import { strict as assert } from 'node:assert';
import type { EnvironmentStatus, MigrationState } from '../../src/core';
import { actionsFor, ago, duration, environmentIcon, environmentText, stateGlyph, stateText, worstIcon } from '../../src/extension/present';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const st = (x: Partial<MigrationState>): MigrationState => ({ version: '20260101000000', name: 'a', status: 'pending', ...x });

describe('extension: how states read in the tree and lenses', () => {
  it('ago and duration', () => {
    assert.equal(ago('2026-11-21T11:59:50Z', NOW), 'just now');
    assert.equal(ago('2026-11-21T11:50:00Z', NOW), '10 min ago');
    assert.equal(ago('2026-11-21T07:00:00Z', NOW), '5 h ago');
    assert.equal(ago('2026-11-11T12:00:00Z', NOW), '10 days ago');
    assert.equal(ago('2025-01-01T00:00:00Z', NOW), '2025-01-01');
    assert.equal(ago(undefined, NOW), '');
    assert.equal(duration(35), '35 ms');
    assert.equal(duration(2500), '2.5 s');
    assert.equal(duration(125_000), '2 min 5 s');
  });

  it('every status starts with its word, and says who, when, how long or why', () => {
    assert.equal(stateText(st({ status: 'applied', appliedAt: '2026-11-21T11:58:00Z', osUser: 'alice', durationMs: 40 }), NOW), 'applied 2 min ago by alice · 40 ms');
    assert.equal(stateText(st({ status: 'applied', appliedAt: '2026-11-21T11:58:00Z', osUser: 'alice', durationMs: 0, recordedOnly: true }), NOW), 'applied (recorded without running) 2 min ago by alice');
    assert.equal(stateText(st({ status: 'pending' })), 'pending');
    assert.equal(stateText(undefined), 'pending');
    assert.match(stateText(st({ status: 'out-of-order' })), /^out of order/);
    assert.equal(stateText(st({ status: 'failed', error: { message: 'relation "x" does not exist\nmore' } })), 'failed: relation "x" does not exist');
    assert.match(stateText(st({ status: 'failed', interrupted: true, statementsDone: 2 })), /^failed: interrupted after 2 statement\(s\), needs repair/);
    assert.match(stateText(st({ status: 'edited', edit: 'semantic', appliedAt: '2026-11-21T11:58:00Z' }), NOW), /^edited after apply \(semantic change: drift\)/);
    assert.match(stateText(st({ status: 'edited', edit: 'cosmetic' })), /^edited after apply \(cosmetic\)/);
    assert.match(stateText(st({ status: 'missing', appliedAt: '2026-11-21T11:58:00Z' }), NOW), /^missing: recorded 2 min ago but the file is gone$/);
    assert.match(stateText(st({ status: 'missing', reversible: true })), /the file is gone \(its stored down section can roll it back\)$/);
  });

  it('actions: apply/dry run only where not applied, roll back only where applied and reversible, nothing when unreachable', () => {
    assert.deepEqual(actionsFor(st({ status: 'pending' }), true), { apply: true, dryRun: true, rollback: false });
    assert.deepEqual(actionsFor(st({ status: 'applied', reversible: true }), true), { apply: false, dryRun: false, rollback: true });
    assert.deepEqual(actionsFor(st({ status: 'applied', reversible: false }), true), { apply: false, dryRun: false, rollback: false });
    assert.deepEqual(actionsFor(st({ status: 'edited', reversible: true }), true), { apply: false, dryRun: false, rollback: true });
    assert.deepEqual(actionsFor(st({ status: 'failed' }), true), { apply: true, dryRun: true, rollback: false });
    assert.deepEqual(actionsFor(st({ status: 'failed', statementsDone: 1 }), true), { apply: false, dryRun: false, rollback: false }, 'needs repair first');
    assert.deepEqual(actionsFor(st({ status: 'pending' }), false), { apply: false, dryRun: false, rollback: false });
    assert.deepEqual(actionsFor(st({ status: 'missing' }), true), { apply: false, dryRun: false, rollback: false });
    assert.deepEqual(actionsFor(st({ status: 'missing', reversible: true }), true), { apply: false, dryRun: false, rollback: true }, 'with its stored down section');
  });

  it('a migration row shows its most urgent state; glyphs per environment', () => {
    assert.equal(worstIcon([st({ status: 'applied' }), st({ status: 'pending' })]), 'pending');
    assert.equal(worstIcon([st({ status: 'failed' }), st({ status: 'edited', edit: 'semantic' })]), 'failed');
    assert.equal(worstIcon([st({ status: 'applied' }), st({ status: 'edited', edit: 'cosmetic' })]), 'edited');
    assert.equal(worstIcon([st({ status: 'applied' })]), 'applied');
    assert.deepEqual(['applied', 'failed', 'missing', 'out-of-order', 'pending'].map((s) => stateGlyph(st({ status: s as MigrationState['status'] }))), ['✓', '✗', '?', '↯', '○']);
  });

  it('environment rows: counts, unreachable reason, lock holder', () => {
    const env = (x: Partial<EnvironmentStatus>): EnvironmentStatus => ({ environment: 'dev', connection: 'x', protected: false, reachable: true, migrations: [], ...x });
    assert.equal(environmentText(env({ migrations: [st({ status: 'applied' }), st({ status: 'pending' }), st({ status: 'failed' })] })), '1 applied · 1 pending · 1 failed');
    assert.equal(environmentText(env({ reachable: false, error: 'cannot connect\nhint' })), 'unreachable: cannot connect');
    const locked = env({ lockHolder: { pid: 42, user: null, clientHost: null, application: null, backendStart: null, since: null, state: null } as EnvironmentStatus['lockHolder'] });
    assert.match(environmentText(locked), /locked by pid 42/);
    assert.equal(environmentIcon(locked, false), 'env-locked');
    assert.equal(environmentIcon(env({ reachable: false }), true), 'env-unreachable');
    assert.equal(environmentIcon(env({}), true), 'env-protected');
    assert.equal(environmentText(undefined), 'checking…');
  });
});
