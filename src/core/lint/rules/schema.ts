import { as, names, RangeVar, relationName } from '../ast';
import type { RuleContext } from '../context';
import type { FileState } from '../context';
import type { Rule } from '../lint';

/** The squawk rules that fit no other group: domains, DROP NOT NULL, statement_timeout, schema-qualified names. */

type Constraint = { contype?: string; location?: number; skip_validation?: boolean };

function checkConstraints(list: unknown): Constraint[] {
  const out: Constraint[] = [];
  for (const c of Array.isArray(list) ? list : []) {
    const con = as<Constraint>(c, 'Constraint');
    if (con?.contype === 'CONSTR_CHECK') out.push(con);
  }
  return out;
}

/** statement_timeout set earlier in the section (per FileState: one per section). */
const statementTimeout = new WeakMap<FileState, { set: boolean; reported: boolean }>();
function timeoutState(ctx: RuleContext) {
  let s = statementTimeout.get(ctx.state);
  if (!s) statementTimeout.set(ctx.state, (s = { set: false, reported: false }));
  return s;
}

/** Statements that run long on an existing table: where a statement_timeout caps the damage. */
function longRunningTarget(ctx: RuleContext): string | undefined {
  const n = ctx.stmt.node;
  const alter = as<{ relation?: RangeVar }>(n, 'AlterTableStmt');
  if (alter) return ctx.state.isNew(alter.relation) ? undefined : relationName(alter.relation);
  const ix = as<{ relation?: RangeVar; concurrent?: boolean }>(n, 'IndexStmt');
  if (ix) return ctx.state.isNew(ix.relation) ? undefined : relationName(ix.relation);
  for (const t of ['UpdateStmt', 'DeleteStmt']) {
    const d = as<{ relation?: RangeVar }>(n, t);
    if (d) return ctx.state.isNew(d.relation) ? undefined : relationName(d.relation);
  }
  return undefined;
}

export const schemaRules: Rule[] = [
  {
    id: 'ban-create-domain-with-constraint',
    category: 'locking',
    defaultSeverity: 'warning',
    summary: 'CREATE DOMAIN with a CHECK constraint.',
    details:
      'A constraint on a domain is checked for every column of that type: adding or changing it later (ALTER DOMAIN … ADD CONSTRAINT) scans every table that uses the domain while holding locks, and it cannot be added NOT VALID to specific tables. Put the CHECK on the table columns instead (where it can be added NOT VALID and validated separately), or keep the domain without constraints.',
    bad: 'CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);',
    good: 'CREATE DOMAIN positive_int AS int;\nALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;',
    types: ['CreateDomainStmt'],
    embedded: true,
    check(ctx) {
      const d = as<{ domainname?: unknown[]; constraints?: unknown[] }>(ctx.stmt.node, 'CreateDomainStmt');
      const checks = checkConstraints(d?.constraints);
      if (!checks.length) return;
      const at = ctx.offset(checks[0].location);
      ctx.report({
        message: `domain ${names(d?.domainname).join('.')} has a CHECK constraint: changing it later re-checks every column of this type in every table, under locks, with no NOT VALID escape. Put the CHECK on the table columns instead.`,
        start: at,
        end: ctx.wordAt(at).end,
      });
    },
  },
  {
    id: 'ban-alter-domain-with-add-constraint',
    category: 'locking',
    defaultSeverity: 'warning',
    summary: 'ALTER DOMAIN … ADD CONSTRAINT (without NOT VALID).',
    details:
      'Adding a constraint to a domain validates every column of every table that uses the domain, holding locks on each while it scans: on large tables an outage. Add it NOT VALID and VALIDATE CONSTRAINT in a later migration, or put the constraint on the table columns.',
    bad: 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0);',
    good: 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID;',
    types: ['AlterDomainStmt'],
    embedded: true,
    check(ctx) {
      const d = as<{ subtype?: string; typeName?: unknown[]; def?: unknown }>(ctx.stmt.node, 'AlterDomainStmt');
      if (d?.subtype !== 'C') return;
      const con = as<Constraint>(d.def, 'Constraint');
      if (!con || con.skip_validation) return;
      const add = ctx.find(/\bADD\b/i);
      ctx.report({
        message: `adding a constraint to domain ${names(d.typeName).join('.')} scans every table column of that type while holding locks. Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration.`,
        ...(add ?? {}),
        fixes: [ctx.insert('Add NOT VALID', ctx.stmt.end, ' NOT VALID')],
      });
    },
  },
  {
    id: 'ban-drop-not-null',
    category: 'data-loss',
    defaultSeverity: 'info',
    summary: 'ALTER COLUMN … DROP NOT NULL.',
    details:
      'Application code, views and functions written for a NOT NULL column may not expect NULLs (aggregates, joins, NOT IN, string concatenation). Make sure every reader handles NULL before relaxing the constraint.',
    bad: 'ALTER TABLE users ALTER COLUMN email DROP NOT NULL;',
    types: ['AlterTableStmt'],
    embedded: true,
    check(ctx) {
      const a = as<{ relation?: RangeVar; cmds?: unknown[] }>(ctx.stmt.node, 'AlterTableStmt');
      if (!a || ctx.state.isNew(a.relation)) return;
      for (const c of a.cmds ?? []) {
        const cmd = as<{ subtype?: string; name?: string }>(c, 'AlterTableCmd');
        if (cmd?.subtype !== 'AT_DropNotNull') continue;
        const r = ctx.find(/\bDROP\s+NOT\s+NULL\b/i);
        ctx.report({
          message: `${relationName(a.relation)}.${cmd.name} may now be NULL: code, views and functions that assume it is always set (joins, NOT IN, concatenation, aggregates) can silently change results. Check every reader first.`,
          ...(r ?? {}),
        });
      }
    },
  },
  {
    id: 'require-statement-timeout',
    category: 'locking',
    defaultSeverity: 'off',
    summary: 'A long-running statement on an existing table without SET statement_timeout first (opt-in).',
    details:
      'A statement that scans or rewrites a large table holds its locks for as long as it runs. A statement_timeout caps how long the migration can block traffic (it fails and rolls back instead). Bulwark environments can set it for every migration ("statementTimeout" in bulwark.json); enable this rule when migrations must carry their own.',
    bad: 'ALTER TABLE users ADD COLUMN IF NOT EXISTS age int;',
    good: "SET LOCAL statement_timeout = '30s';\nALTER TABLE users ADD COLUMN IF NOT EXISTS age int;",
    types: ['VariableSetStmt', 'AlterTableStmt', 'IndexStmt', 'UpdateStmt', 'DeleteStmt'],
    check(ctx) {
      const st = timeoutState(ctx);
      const v = as<{ name?: string; kind?: string }>(ctx.stmt.node, 'VariableSetStmt');
      if (v?.name === 'statement_timeout') {
        st.set = v.kind === 'VAR_SET_VALUE';
        return;
      }
      if (st.set || st.reported) return;
      const table = longRunningTarget(ctx);
      if (!table) return;
      st.reported = true;
      const kw = ctx.stmt.inTransaction ? 'SET LOCAL' : 'SET';
      ctx.report({
        message: `no statement_timeout is set before this statement on ${table}: if it runs long, it holds its locks (and blocks traffic) for as long as it runs. Start the migration with ${kw} statement_timeout = '…'.`,
        fixes: [ctx.insert(`Add ${kw} statement_timeout`, ctx.stmt.start, `${kw} statement_timeout = '30s';\n`)],
      });
    },
  },
  {
    id: 'require-table-schema',
    category: 'style',
    defaultSeverity: 'off',
    summary: 'Tables named without a schema (relies on search_path; opt-in).',
    details:
      'An unqualified name resolves through search_path, which differs between roles, connection poolers and tools: the same migration can create or alter a table in a different schema. Qualify names (public.users) where more than one schema is in use.',
    bad: 'CREATE TABLE users (id bigint);',
    good: 'CREATE TABLE public.users (id bigint);',
    types: ['CreateStmt', 'AlterTableStmt', 'IndexStmt'],
    check(ctx) {
      const n = ctx.stmt.node;
      const rv =
        as<{ relation?: RangeVar }>(n, 'CreateStmt')?.relation ??
        as<{ relation?: RangeVar }>(n, 'AlterTableStmt')?.relation ??
        as<{ relation?: RangeVar }>(n, 'IndexStmt')?.relation;
      if (rv?.relname && !rv.schemaname && (rv as { relpersistence?: string }).relpersistence !== 't') {
        const at = ctx.offset(rv.location);
        ctx.report({ message: `${rv.relname} is not schema-qualified: it resolves through search_path, which differs between roles and tools. Write public.${rv.relname} (or its schema).`, start: at, end: ctx.wordAt(at).end });
      }
    },
  },
];
