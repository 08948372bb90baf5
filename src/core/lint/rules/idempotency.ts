import { as, RangeVar, relationName } from '../ast';
import type { RuleContext } from '../context';
import type { Rule } from '../lint';

const IDEMPOTENCY_WHY =
  'A migration that fails part-way and is retried, or runs against a database where the object already exists (a baseline, a hotfix applied by hand), fails again on this statement.';

/** Idempotency matters most outside a transaction, where a failed run leaves earlier statements applied. */
function idempotencySeverity(ctx: RuleContext) {
  return ctx.stmt.inTransaction && ctx.severity === 'warning' ? 'info' : ctx.severity;
}

export const idempotencyRules: Rule[] = [
  {
    id: 'require-if-not-exists',
    category: 'idempotency',
    defaultSeverity: 'warning',
    summary: 'CREATE TABLE/INDEX/SCHEMA/SEQUENCE/EXTENSION and ADD COLUMN without IF NOT EXISTS.',
    details: `${IDEMPOTENCY_WHY} Add IF NOT EXISTS (reported as info inside a transaction, where a failure rolls everything back).`,
    bad: 'CREATE TABLE users (id bigint PRIMARY KEY);',
    good: 'CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY);',
    check(ctx) {
      const s = ctx.stmt;
      const create = as<{ relation?: RangeVar; if_not_exists?: boolean }>(s.node, 'CreateStmt');
      if (create && !create.if_not_exists) {
        const kw = ctx.find(/\btable\b/i);
        if (kw) {
          ctx.report({
            message: `CREATE TABLE ${relationName(create.relation)} without IF NOT EXISTS: ${IDEMPOTENCY_WHY}`,
            start: kw.start,
            end: kw.end,
            severity: idempotencySeverity(ctx),
            fixes: [ctx.insert('Add IF NOT EXISTS', kw.end, ' IF NOT EXISTS')],
          });
        }
      }
    },
  },
];
