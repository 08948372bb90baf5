import { as, names, RangeVar, relationName } from '../ast';
import type { FileState, RuleContext } from '../context';
import type { Rule } from '../lint';
import type { Fix, StatementInfo } from '../types';
import { indentBefore, isWord, lexSql, nameEnd, Token, tokenIndexAt, tokensOf, validated } from './idempotency';

// ---------------------------------------------------------------------------------------------------
// Explicit transactions. ctx.state.explicitTx says whether a BEGIN is open before the current statement
// (rules run before the runner's tracking); COMMIT/ROLLBACK AND CHAIN, which end a transaction and open
// the next one at once, are tracked here, together with the last statement of the section (where a
// missing COMMIT goes). FileState is per section, so it keys the memo.
// ---------------------------------------------------------------------------------------------------

interface TxMemo {
  /** Whether an explicit transaction was open before each statement judged so far. */
  before: WeakMap<StatementInfo, boolean>;
  /** A COMMIT/ROLLBACK AND CHAIN left a new transaction open (offset and range of that statement). */
  chained?: { start: number; end: number };
  /** Keyword range of the last BEGIN / START TRANSACTION. */
  begin?: { start: number; end: number };
  /** The section's last top-level statement (its parsed text, to find its last token when needed). */
  last?: { text: string; start: number; end: number; terminatorEnd: number };
}

const txMemos = new WeakMap<FileState, TxMemo>();

const START_KINDS = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const END_KINDS = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK']);
const PREPARED_KINDS = new Set(['TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

interface TxStmt {
  kind?: string;
  chain?: boolean;
}

/** Keyword range of a transaction statement: `BEGIN`, `START TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK`. */
function txKeywords(tokens: Token[], fallback: { start: number; end: number }): { start: number; end: number } {
  if (!tokens.length) return fallback;
  const second = tokens[1];
  const two = isWord(tokens[0], 'start', 'prepare') || (isWord(tokens[0], 'commit', 'rollback') && isWord(second, 'prepared'));
  return { start: tokens[0].start, end: two && second ? second.end : tokens[0].end };
}

/** Judge-time view of the transaction state (once per statement, whichever transaction rule runs first). */
function observe(ctx: RuleContext): { openBefore: boolean; memo: TxMemo } {
  let memo = txMemos.get(ctx.state);
  if (!memo) txMemos.set(ctx.state, (memo = { before: new WeakMap() }));
  const known = memo.before.get(ctx.stmt);
  if (known !== undefined) return { openBefore: known, memo };
  const openBefore = ctx.state.explicitTx || memo.chained !== undefined;
  memo.before.set(ctx.stmt, openBefore);
  if (!ctx.stmt.embedded) memo.last = { text: ctx.parsedText || ctx.stmt.text, start: ctx.stmt.start, end: ctx.stmt.end, terminatorEnd: ctx.stmt.terminatorEnd };
  const tx = as<TxStmt>(ctx.stmt.node, 'TransactionStmt');
  if (!tx) return { openBefore, memo };
  const tokens = tokensOf(ctx);
  const kind = tx.kind ?? '';
  if (START_KINDS.has(kind)) {
    memo.chained = undefined;
    memo.begin = txKeywords(tokens, { start: ctx.stmt.start, end: ctx.stmt.end });
  } else if (END_KINDS.has(kind)) {
    memo.chained = tx.chain && openBefore && tokens.length ? { start: tokens[0].start, end: tokens[tokens.length - 1].end } : undefined;
  } else if (PREPARED_KINDS.has(kind)) {
    memo.chained = undefined;
  }
  return { openBefore, memo };
}

/** Delete the current statement with its ';', and its line when it stands alone there. */
function deleteStatement(ctx: RuleContext, title: string): Fix {
  const { text } = ctx;
  const s = ctx.stmt;
  let end = s.terminatorEnd;
  const indent = indentBefore(text, s.start);
  const nl = text.indexOf('\n', end);
  const rest = text.slice(end, nl < 0 ? text.length : nl);
  if (indent !== undefined && /^[ \t\r]*$/.test(rest)) {
    const lineStart = s.start - indent.length;
    return { title, edits: [{ start: lineStart, end: nl < 0 ? text.length : nl + 1, text: '' }] };
  }
  while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end++;
  return { title, edits: [{ start: s.start, end, text: '' }] };
}

// ---------------------------------------------------------------------------------------------------
// Names: PostgreSQL truncates identifiers to NAMEDATALEN-1 = 63 bytes at scan time (without splitting a
// multibyte character), so the AST already holds the truncated names; the tokens still have the original.
// ---------------------------------------------------------------------------------------------------

const MAX_IDENT_BYTES = 63;

export function truncateIdentifier(s: string): string {
  if (Buffer.byteLength(s, 'utf8') <= MAX_IDENT_BYTES) return s;
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > MAX_IDENT_BYTES) break;
    bytes += b;
    out += ch;
  }
  return out;
}

/** Names the statement creates or renames to (as the parser holds them: already truncated). */
function createdNames(node: unknown): string[] {
  const out: string[] = [];
  const add = (n: string | undefined) => {
    if (n) out.push(n);
  };
  const last = (list: unknown) => {
    const n = names(list);
    add(n[n.length - 1]);
  };
  const constraints = (list: unknown[] | undefined) => {
    for (const c of list ?? []) add(as<{ conname?: string }>(c, 'Constraint')?.conname);
  };
  const columns = (list: unknown[] | undefined) => {
    for (const e of list ?? []) {
      const col = as<{ colname?: string; constraints?: unknown[] }>(e, 'ColumnDef');
      if (col) {
        add(col.colname);
        constraints(col.constraints);
      } else add(as<{ conname?: string }>(e, 'Constraint')?.conname);
    }
  };
  const selectAliases = (q: unknown) => {
    let sel = as<SelectNode>(q, 'SelectStmt');
    while (sel?.larg) sel = sel.larg;
    for (const t of sel?.targetList ?? []) add(as<{ name?: string }>(t, 'ResTarget')?.name);
  };
  const u = node && typeof node === 'object' ? Object.entries(node)[0] : undefined;
  if (!u) return out;
  const [type, v] = u as [string, Record<string, unknown>];
  switch (type) {
    case 'CreateStmt':
      add((v.relation as RangeVar | undefined)?.relname);
      columns(v.tableElts as unknown[]);
      break;
    case 'CreateTableAsStmt': {
      const into = v.into as { rel?: RangeVar; colNames?: unknown[] } | undefined;
      add(into?.rel?.relname);
      for (const n of names(into?.colNames)) add(n);
      selectAliases(v.query);
      break;
    }
    case 'ViewStmt':
      add((v.view as RangeVar | undefined)?.relname);
      for (const n of names(v.aliases)) add(n);
      selectAliases(v.query);
      break;
    case 'IndexStmt':
      add(v.idxname as string | undefined);
      break;
    case 'CreateSeqStmt':
      add((v.sequence as RangeVar | undefined)?.relname);
      break;
    case 'CreateSchemaStmt':
      add(v.schemaname as string | undefined);
      for (const e of (v.schemaElts as unknown[] | undefined) ?? []) out.push(...createdNames(e));
      break;
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      last(v.typeName);
      break;
    case 'CompositeTypeStmt':
      add((v.typevar as RangeVar | undefined)?.relname);
      columns(v.coldeflist as unknown[]);
      break;
    case 'CreateDomainStmt':
      last(v.domainname);
      constraints(v.constraints as unknown[]);
      break;
    case 'CreateFunctionStmt':
      last(v.funcname);
      break;
    case 'CreateTrigStmt':
      add(v.trigname as string | undefined);
      break;
    case 'CreatePolicyStmt':
      add(v.policy_name as string | undefined);
      break;
    case 'AlterTableStmt':
      for (const c of (v.cmds as unknown[] | undefined) ?? []) {
        const cmd = as<{ subtype?: string; def?: unknown }>(c, 'AlterTableCmd');
        if (cmd?.subtype === 'AT_AddColumn') columns([cmd.def]);
        else if (cmd?.subtype === 'AT_AddConstraint') constraints([cmd.def]);
      }
      break;
    case 'RenameStmt':
      add(v.newname as string | undefined);
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Column lists.
// ---------------------------------------------------------------------------------------------------

interface ResTarget {
  name?: string;
  val?: unknown;
  indirection?: unknown[];
  location?: number;
}

interface SelectNode {
  targetList?: unknown[];
  larg?: SelectNode;
  op?: string;
}

const DUPLICATE_TYPES = new Set(['CreateStmt', 'CompositeTypeStmt', 'InsertStmt', 'UpdateStmt', 'ViewStmt', 'CreateTableAsStmt']);

const CLAUSE_END = new Set(['from', 'where', 'group', 'having', 'window', 'order', 'limit', 'offset', 'fetch', 'for', 'into', 'union', 'intersect', 'except', 'returning', 'on']);

/** The last token of a select-list item starting at a file offset (its alias, or the column name). */
function targetNameToken(tokens: Token[], offset: number): Token | undefined {
  const i = tokenIndexAt(tokens, offset);
  if (i < 0) return undefined;
  const d = tokens[i].depth;
  let j = i;
  for (; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.depth < d || (t.depth === d && ((t.kind === 'punct' && (t.value === ',' || t.value === ')')) || (j > i && isWord(t, ...CLAUSE_END))))) break;
  }
  return tokens[j - 1];
}

/** Identifier tokens of the parenthesised list right after a name (`v (a, b)`), in order. */
function listAfterName(tokens: Token[], nameIdx: number): Token[] {
  if (nameIdx < 0) return [];
  const j = nameEnd(tokens, nameIdx);
  if (tokens[j]?.value !== '(' || tokens[j].kind !== 'punct') return [];
  const d = tokens[j].depth + 1;
  const out: Token[] = [];
  for (let k = j + 1; k < tokens.length && tokens[k].depth >= d; k++) {
    if (tokens[k].depth === d && (tokens[k].kind === 'word' || tokens[k].kind === 'quoted')) out.push(tokens[k]);
  }
  return out;
}

/** Output column names of a query (first arm of a set operation), undefined when unknown (`*`, expressions). */
function outputNames(query: unknown): { name?: string; location?: number }[] | undefined {
  let sel = as<SelectNode>(query, 'SelectStmt');
  while (sel?.larg) sel = sel.larg;
  if (!sel?.targetList) return undefined;
  const out: { name?: string; location?: number }[] = [];
  for (const t of sel.targetList) {
    const rt = as<ResTarget>(t, 'ResTarget');
    if (!rt) return undefined;
    const ref = as<{ fields?: unknown[] }>(rt.val, 'ColumnRef');
    if (ref?.fields?.some((f) => as(f, 'A_Star') !== undefined)) return undefined;
    const fields = names(ref?.fields);
    // Unnamed constants and operator expressions are all called "?column?" (FigureColname in the server).
    const anonymous = as(rt.val, 'A_Const') !== undefined || as<{ kind?: string }>(rt.val, 'A_Expr')?.kind === 'AEXPR_OP';
    out.push({ name: rt.name ?? (ref ? fields[fields.length - 1] : anonymous ? '?column?' : undefined), location: rt.location });
  }
  return out;
}

export const transactionRules: Rule[] = [
  {
    id: 'uncommitted-transaction',
    category: 'transactions',
    defaultSeverity: 'error',
    summary: 'BEGIN / START TRANSACTION with no later COMMIT in the section.',
    details: `A section that opens a transaction and never commits it leaves the work pending when the script ends: psql and most runners report success, then the server rolls everything back when the connection closes — the migration is recorded as applied but nothing changed (or, with a pooled connection, the open transaction leaks into whatever runs next).

Add \`COMMIT;\` at the end of the section (\`COMMIT AND CHAIN\` also leaves a new transaction open). In a section the runner already wraps in a transaction, remove the BEGIN instead (see \`transaction-nesting\`).`,
    bad: 'BEGIN;\nALTER TABLE users ADD COLUMN bio text;',
    good: 'BEGIN;\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;',
    check(ctx) {
      observe(ctx);
    },
    finish(ctx) {
      const memo = txMemos.get(ctx.state);
      const open = ctx.state.explicitTx || memo?.chained !== undefined;
      // In a wrapped section the runner's COMMIT ends the work: the problem there is the BEGIN itself (transaction-nesting).
      if (!open || ctx.section.transaction) return;
      const startAt = ctx.state.explicitTx ? ctx.state.explicitTxStart : memo?.chained?.start;
      const kw = ctx.state.explicitTx ? (memo?.begin?.start === startAt ? memo?.begin : undefined) : memo?.chained;
      const start = startAt ?? ctx.section.start;
      const last = memo?.last;
      const lastTokens = last ? lexSql(last.text, last.start) : [];
      const title = 'Add COMMIT at the end of the section';
      const fix: Fix = !last || lastTokens.length === 0
        ? ctx.insert(title, ctx.section.end, '\nCOMMIT;\n')
        : last.terminatorEnd > last.end
          ? ctx.insert(title, last.terminatorEnd, '\nCOMMIT;')
          : ctx.insert(title, lastTokens[lastTokens.length - 1].end, ';\nCOMMIT;');
      const what = ctx.state.explicitTx ? 'This transaction' : 'The transaction opened by AND CHAIN';
      ctx.report({
        message: `${what} is never committed in this section: the runner may report success while the work stays open, and the server rolls it all back when the connection closes. Add COMMIT; at the end of the section.`,
        start,
        end: kw?.end ?? Math.min(start + 5, ctx.text.length),
        fixes: [fix],
      });
    },
  },
  {
    id: 'transaction-nesting',
    category: 'transactions',
    defaultSeverity: 'error',
    summary: 'BEGIN/COMMIT/ROLLBACK inside a section the runner wraps in a transaction, a BEGIN inside an open transaction, or a COMMIT/ROLLBACK with none open.',
    details: `PostgreSQL has no nested transactions.

- In a section the runner already runs in a transaction (\`-- migrate:up\` without \`transaction:false\`, or a file linted with \`assumeInTransaction\`), Bulwark refuses to run transaction control. Other runners pass it on: BEGIN only warns "there is already a transaction in progress", and a COMMIT in the middle commits the first half of the migration, so a later failure leaves it half-applied and the runner's own COMMIT warns "there is no transaction in progress". Remove the statement — the section is already atomic — or mark the section \`transaction:false\` if it must manage its own transactions.
- A BEGIN while an explicit transaction is open is ignored with a warning, and the first COMMIT ends both: remove the inner BEGIN.
- A COMMIT or ROLLBACK with no transaction open only warns: the statements before it were already committed one by one (a ROLLBACK undoes nothing). Add the missing BEGIN, or remove the statement.

SAVEPOINT, RELEASE and ROLLBACK TO SAVEPOINT are fine inside the runner's transaction.`,
    bad: '-- migrate:up\nBEGIN;\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;',
    good: '-- migrate:up\nALTER TABLE users ADD COLUMN bio text;',
    check(ctx) {
      const { openBefore } = observe(ctx);
      const tx = as<TxStmt>(ctx.stmt.node, 'TransactionStmt');
      const kind = tx?.kind ?? '';
      const isStart = START_KINDS.has(kind);
      const isEnd = END_KINDS.has(kind);
      const isPrepared = PREPARED_KINDS.has(kind);
      if (!isStart && !isEnd && !isPrepared) return;
      const tokens = tokensOf(ctx);
      const kw = txKeywords(tokens, { start: ctx.stmt.start, end: ctx.stmt.end });
      const word = ctx.text.slice(kw.start, kw.end).toUpperCase().replace(/\s+/g, ' ');
      if (ctx.section.transaction) {
        const who = ctx.section.kind === 'file'
          ? 'This file is assumed to run in a transaction (lint setting assumeInTransaction)'
          : 'Bulwark already runs this section in a transaction and refuses to run transaction control in it';
        const effect = isStart
          ? 'other runners only warn "there is already a transaction in progress"'
          : isEnd
            ? `other runners ${kind === 'TRANS_STMT_COMMIT' ? 'commit the first half of the migration here, so a later failure leaves it half-applied' : 'roll back here and run the rest outside the transaction'}`
            : 'it cannot run inside a transaction block at all';
        const fixes: Fix[] = [];
        if (!isPrepared) fixes.push(deleteStatement(ctx, `Remove ${word} (the section already runs in a transaction)`));
        if (ctx.section.marker) {
          const edits = ctx.markerNoTransactionEdit();
          if (edits.length) fixes.push({ title: 'Run this section without the runner\'s transaction (transaction:false)', edits });
        }
        ctx.report({
          message: `${word} inside a migration section that runs in a transaction: ${who}; ${effect}. Remove it (the section is already atomic), or mark the section transaction:false if it manages its own transactions.`,
          start: kw.start,
          end: kw.end,
          fixes,
        });
        return;
      }
      if (isStart && openBefore) {
        ctx.report({
          message: `${word} while a transaction is already open: PostgreSQL has no nested transactions, so it only warns "there is already a transaction in progress" and the first COMMIT ends both. Remove this ${word} (use SAVEPOINT for a partial rollback).`,
          start: kw.start,
          end: kw.end,
          fixes: [deleteStatement(ctx, `Remove the nested ${word}`)],
        });
        return;
      }
      if (isEnd && !openBefore) {
        const rollback = kind === 'TRANS_STMT_ROLLBACK';
        ctx.report({
          message: rollback
            ? `${word} without an open transaction: the statements before it were already committed one by one, so it undoes nothing (PostgreSQL only warns "there is no transaction in progress"). Add BEGIN where the transaction should start.`
            : `${word} without an open transaction: the statements before it were already committed one by one (PostgreSQL only warns "there is no transaction in progress"). Add BEGIN where the transaction should start, or remove the ${word}.`,
          start: kw.start,
          end: kw.end,
          ...(rollback || tx?.chain ? {} : { fixes: [deleteStatement(ctx, `Remove the ${word}`)] }),
        });
      }
    },
  },
  {
    id: 'duplicate-column-assignment',
    category: 'transactions',
    defaultSeverity: 'error',
    summary: 'The same column twice in CREATE TABLE, an INSERT column list, UPDATE … SET, or a view\'s columns.',
    details: `PostgreSQL rejects the statement ("column \\"c\\" specified more than once", "multiple assignments to same column \\"c\\""), so the migration fails at this point — outside a transaction, with the earlier statements already applied. Typical causes: a copy-pasted line, or a view selecting \`a.id, b.id\` (both named \`id\`). Remove the duplicate or rename it (\`b.id AS b_id\`). Assigning different elements of one array or composite column (\`SET tags[1] = …, tags[2] = …\`) is allowed.`,
    bad: "UPDATE users SET status = 'active', status = 'pending';",
    good: "UPDATE users SET status = 'active';",
    embedded: true,
    check(ctx) {
      const s = ctx.stmt;
      if (!DUPLICATE_TYPES.has(s.type ?? '')) return;
      const tokens = tokensOf(ctx);
      const nameRange = (location: number | undefined) => {
        if (location === undefined) return undefined;
        const i = tokenIndexAt(tokens, ctx.offset(location));
        return i < 0 ? undefined : { start: tokens[i].start, end: tokens[i].end };
      };
      const report = (col: string, where: string, at: { start: number; end: number } | undefined, pgError: string) => {
        ctx.report({
          message: `Column ${col} appears twice in ${where}: PostgreSQL rejects the statement ("${pgError}") and the migration fails here. Remove or rename the duplicate.`,
          start: at?.start ?? s.start,
          end: at?.end,
        });
      };
      /** Plain column definitions / names with their ranges. */
      const plain = (items: { name?: string; at?: { start: number; end: number } }[], where: string) => {
        const seen = new Set<string>();
        for (const it of items) {
          if (!it.name) continue;
          if (seen.has(it.name)) report(it.name === '?column?' ? '"?column?" (an expression without AS)' : it.name, where, it.at, `column "${it.name}" specified more than once`);
          seen.add(it.name);
        }
      };
      /** Assignment targets: whole-column twice, or whole + element, is an error; element + element is not. */
      const targets = (list: unknown[] | undefined, where: string, pgError: (c: string) => string) => {
        const whole = new Set<string>();
        const partial = new Set<string>();
        for (const t of list ?? []) {
          const rt = as<ResTarget>(t, 'ResTarget');
          if (!rt?.name) continue;
          const isPartial = (rt.indirection?.length ?? 0) > 0;
          if (whole.has(rt.name) || (!isPartial && partial.has(rt.name))) report(rt.name, where, nameRange(rt.location), pgError(rt.name));
          (isPartial ? partial : whole).add(rt.name);
        }
      };
      const columnDefs = (elts: unknown[] | undefined, where: string) =>
        plain((elts ?? []).map((e) => as<{ colname?: string; location?: number }>(e, 'ColumnDef')).filter((c) => c !== undefined).map((c) => ({ name: c!.colname, at: nameRange(c!.location) })), where);
      /** View / CREATE TABLE AS: explicit column list, then the query's output names for the rest. */
      const viewColumns = (rel: RangeVar | undefined, aliases: unknown[] | undefined, query: unknown, what: string) => {
        const where = `${what} ${relationName(rel)}`;
        const aliasNames = names(aliases);
        const relIdx = rel?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(rel.location)) : -1;
        const aliasTokens = listAfterName(tokens, relIdx);
        const items: { name?: string; at?: { start: number; end: number } }[] = aliasNames.map((n, k) => ({ name: n, at: aliasTokens[k] ? { start: aliasTokens[k].start, end: aliasTokens[k].end } : undefined }));
        const out = outputNames(query);
        if (out) {
          for (const o of out.slice(aliasNames.length)) {
            const tok = o.location !== undefined ? targetNameToken(tokens, ctx.offset(o.location)) : undefined;
            items.push({ name: o.name, at: tok ? { start: tok.start, end: tok.end } : undefined });
          }
        }
        plain(items, where);
      };

      const create = as<{ relation?: RangeVar; tableElts?: unknown[] }>(s.node, 'CreateStmt');
      if (create) return columnDefs(create.tableElts, `CREATE TABLE ${relationName(create.relation)}`);
      const comp = as<{ typevar?: RangeVar; coldeflist?: unknown[] }>(s.node, 'CompositeTypeStmt');
      if (comp) return columnDefs(comp.coldeflist, `CREATE TYPE ${relationName(comp.typevar)}`);
      const ins = as<{ relation?: RangeVar; cols?: unknown[]; onConflictClause?: { targetList?: unknown[] } }>(s.node, 'InsertStmt');
      if (ins) {
        const table = relationName(ins.relation);
        targets(ins.cols, `the column list of INSERT INTO ${table}`, (c) => `column "${c}" specified more than once`);
        targets(ins.onConflictClause?.targetList, `ON CONFLICT DO UPDATE SET of ${table}`, (c) => `multiple assignments to same column "${c}"`);
        return;
      }
      const upd = as<{ relation?: RangeVar; targetList?: unknown[] }>(s.node, 'UpdateStmt');
      if (upd) return targets(upd.targetList, `UPDATE ${relationName(upd.relation)} SET`, (c) => `multiple assignments to same column "${c}"`);
      const view = as<{ view?: RangeVar; aliases?: unknown[]; query?: unknown }>(s.node, 'ViewStmt');
      if (view) return viewColumns(view.view, view.aliases, view.query, 'the columns of view');
      const ctas = as<{ into?: { rel?: RangeVar; colNames?: unknown[] }; query?: unknown; objtype?: string }>(s.node, 'CreateTableAsStmt');
      if (ctas) viewColumns(ctas.into?.rel, ctas.into?.colNames, ctas.query, ctas.objtype === 'OBJECT_MATVIEW' ? 'the columns of materialized view' : 'the columns of table');
    },
  },
  {
    id: 'identifier-too-long',
    category: 'transactions',
    defaultSeverity: 'warning',
    summary: 'A name longer than 63 bytes, which PostgreSQL silently truncates.',
    details: `PostgreSQL keeps at most 63 bytes of an identifier (NAMEDATALEN - 1; UTF-8 letters outside ASCII take 2–4 bytes) and silently cuts longer ones, with only a NOTICE. SQL that repeats the long name still works (it is cut the same way), but anything that compares names as strings does not: catalog lookups (\`WHERE indexname = '…'\`, \`to_regclass('…')\`, the DO-block guards of later migrations), ORMs and schema-diff tools; and two long names sharing their first 63 bytes collide ("already exists"). Choose a shorter name (the quick fix uses the name PostgreSQL actually stores).`,
    bad: 'CREATE INDEX index_subscriptions_on_customer_id_and_plan_id_and_started_at_and_status ON subscriptions (customer_id, plan_id, started_at, status);',
    good: 'CREATE INDEX subscriptions_customer_plan_started_status_idx ON subscriptions (customer_id, plan_id, started_at, status);',
    embedded: true,
    check(ctx) {
      const created = new Set(createdNames(ctx.stmt.node).filter((n) => Buffer.byteLength(n, 'utf8') >= MAX_IDENT_BYTES - 3));
      if (created.size === 0) return;
      const reported = new Set<string>();
      for (const t of tokensOf(ctx)) {
        if (t.kind !== 'word' && t.kind !== 'quoted') continue;
        const bytes = Buffer.byteLength(t.value, 'utf8');
        if (bytes <= MAX_IDENT_BYTES) continue;
        const cut = truncateIdentifier(t.value);
        if (!created.has(cut) || reported.has(t.value)) continue;
        reported.add(t.value);
        const raw = ctx.text.slice(t.start, t.end);
        // Unquoted names keep their spelling (ASCII case folding does not change byte lengths); U&"…" is left alone.
        const shorter = t.kind === 'word' ? truncateIdentifier(raw) : raw.startsWith('"') ? `"${cut.replace(/"/g, '""')}"` : undefined;
        const fix = shorter === undefined ? undefined : validated(ctx, { title: `Shorten to the 63-byte name PostgreSQL stores`, edits: [{ start: t.start, end: t.end, text: shorter }] });
        ctx.report({
          message: `Identifier "${t.value}" is ${bytes} bytes: PostgreSQL silently truncates names to 63 bytes and stores "${cut}", so catalog lookups and tools that use the full name (WHERE indexname = '…', ORMs, later guards) do not find it, and names sharing those 63 bytes collide. Use a shorter name.`,
          start: t.start,
          end: t.end,
          ...(fix ? { fixes: [fix] } : {}),
        });
      }
    },
  },
];
