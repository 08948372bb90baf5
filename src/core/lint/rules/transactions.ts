import { names, RangeVar, relationName } from '../ast';
import type { FileState, RuleContext } from '../context';
import type { Rule } from '../lint';
import { lexAll, lexerOf, nameEnd, type Token, tokenIndexAt, tokensOf } from '../tokens';
import type { Fix, StatementInfo } from '../types';
import { indentBefore, proven, sameAsParsed } from './idempotency';

// ---------------------------------------------------------------------------------------------------
// Explicit transactions. ctx.state.explicitTx says whether a BEGIN is open before the current statement
// (rules run before the runner's tracking); COMMIT/ROLLBACK AND CHAIN, which end a transaction and open
// the next one at once, are tracked here, together with the last statement of the section (where a
// missing COMMIT goes). FileState is per section and sections are linted one after the other, so the memo
// belongs to the last FileState seen.
// ---------------------------------------------------------------------------------------------------

interface TxMemo {
  /** The statement judged last, and whether an explicit transaction was open before it. */
  seen?: StatementInfo;
  seenOpenBefore: boolean;
  /** A COMMIT/ROLLBACK AND CHAIN left a new transaction open (offset and range of that statement). */
  chained?: { start: number; end: number };
  /** Keyword range of the last BEGIN / START TRANSACTION. */
  begin?: { start: number; end: number };
  /** The section's last top-level statement, and its parsed text (to find its last token when needed). */
  last?: StatementInfo;
  lastText: string;
}

let txState: FileState | undefined;
let txLast: TxMemo = { seenOpenBefore: false, lastText: '' };

function txMemo(state: FileState): TxMemo {
  if (txState !== state) {
    txState = state;
    txLast = { seenOpenBefore: false, lastText: '' };
  }
  return txLast;
}

const START_KINDS = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const END_KINDS = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK']);
const PREPARED_KINDS = new Set(['TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

interface TxStmt {
  kind?: string;
  chain?: boolean;
}

function isWordTok(t: Token | undefined, a: string, b?: string): boolean {
  return t !== undefined && t.kind === 'word' && (t.value === a || t.value === b);
}

/** Keyword range of a transaction statement: `BEGIN`, `START TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK`. */
function txKeywords(ctx: RuleContext): { start: number; end: number } {
  const lx = lexerOf(ctx);
  const first = lx.get(0);
  if (!first) return { start: ctx.stmt.start, end: ctx.stmt.end };
  const second = lx.get(1);
  const two = isWordTok(first, 'start', 'prepare') || (isWordTok(first, 'commit', 'rollback') && isWordTok(second, 'prepared'));
  return { start: first.start, end: two && second ? second.end : first.end };
}

/** Judge-time view of the transaction state (once per statement, whichever transaction rule runs first). */
function observe(ctx: RuleContext, memo: TxMemo): boolean {
  const stmt = ctx.stmt;
  if (memo.seen === stmt) return memo.seenOpenBefore;
  const openBefore = ctx.state.explicitTx || memo.chained !== undefined;
  memo.seen = stmt;
  memo.seenOpenBefore = openBefore;
  if (!stmt.embedded) {
    memo.last = stmt;
    memo.lastText = ctx.parsedText || stmt.text;
  }
  if (stmt.type !== 'TransactionStmt') return openBefore;
  const kind = (stmt.node as { TransactionStmt: TxStmt }).TransactionStmt.kind ?? '';
  if (START_KINDS.has(kind)) {
    memo.chained = undefined;
    memo.begin = txKeywords(ctx);
  } else if (END_KINDS.has(kind)) {
    const tokens = (stmt.node as { TransactionStmt: TxStmt }).TransactionStmt.chain && openBefore ? tokensOf(ctx) : [];
    memo.chained = tokens.length ? { start: tokens[0].start, end: tokens[tokens.length - 1].end } : undefined;
  } else if (PREPARED_KINDS.has(kind)) {
    memo.chained = undefined;
  }
  return openBefore;
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
/** Names this long (in bytes) or longer are candidates (the AST holds them truncated to at most 63). */
const LONG_BYTES = MAX_IDENT_BYTES - 3;

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

/** The inner object of a wrapped node (`{ Type: {...} }`), without as()'s Object.keys allocation. */
function node<T>(n: unknown, type: string): T | undefined {
  return n !== null && typeof n === 'object' ? ((n as Record<string, unknown>)[type] as T | undefined) : undefined;
}

/** The current statement's inner node (rules with `types` know which type it is). */
function stmtNode<T>(ctx: RuleContext): T {
  return (ctx.stmt.node as Record<string, unknown>)[ctx.stmt.type!] as T;
}

type Long = Set<string> | undefined;

/** Add a name to the set of long ones (created lazily: almost every statement has none). */
function addLong(acc: Long, n: string | undefined): Long {
  // At most 3 UTF-8 bytes per UTF-16 unit: shorter strings cannot reach LONG_BYTES.
  if (n && n.length * 3 >= LONG_BYTES && Buffer.byteLength(n, 'utf8') >= LONG_BYTES) (acc ??= new Set()).add(n);
  return acc;
}

/** Last non-empty string of a `[{String: {sval}}]` list (names(list).at(-1)). */
function lastName(list: unknown): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (let k = list.length - 1; k >= 0; k--) {
    const sv = node<{ sval?: string }>(list[k], 'String')?.sval;
    if (sv) return sv;
  }
  return undefined;
}

function longConstraints(acc: Long, list: unknown[] | undefined): Long {
  if (list) for (const c of list) acc = addLong(acc, node<{ conname?: string }>(c, 'Constraint')?.conname);
  return acc;
}

function longColumns(acc: Long, list: unknown[] | undefined): Long {
  if (!list) return acc;
  for (const e of list) {
    const col = node<{ colname?: string; constraints?: unknown[] }>(e, 'ColumnDef');
    if (col) {
      acc = addLong(acc, col.colname);
      acc = longConstraints(acc, col.constraints);
    } else acc = addLong(acc, node<{ conname?: string }>(e, 'Constraint')?.conname);
  }
  return acc;
}

function longSelectAliases(acc: Long, q: unknown): Long {
  let sel = node<SelectNode>(q, 'SelectStmt');
  while (sel?.larg) sel = sel.larg;
  for (const t of sel?.targetList ?? []) acc = addLong(acc, node<{ name?: string }>(t, 'ResTarget')?.name);
  return acc;
}

/** The long names (≥ 60 bytes) a statement creates or renames to (as the parser holds them: already truncated). */
function longCreatedNames(acc: Long, type: string | undefined, v: Record<string, unknown> | undefined): Long {
  if (!v) return acc;
  switch (type) {
    case 'CreateStmt':
      acc = addLong(acc, (v.relation as RangeVar | undefined)?.relname);
      return longColumns(acc, v.tableElts as unknown[]);
    case 'CreateTableAsStmt': {
      const into = v.into as { rel?: RangeVar; colNames?: unknown[] } | undefined;
      acc = addLong(acc, into?.rel?.relname);
      if (into?.colNames) for (const n of names(into.colNames)) acc = addLong(acc, n);
      return longSelectAliases(acc, v.query);
    }
    case 'ViewStmt':
      acc = addLong(acc, (v.view as RangeVar | undefined)?.relname);
      if (v.aliases) for (const n of names(v.aliases)) acc = addLong(acc, n);
      return longSelectAliases(acc, v.query);
    case 'IndexStmt':
      return addLong(acc, v.idxname as string | undefined);
    case 'CreateSeqStmt':
      return addLong(acc, (v.sequence as RangeVar | undefined)?.relname);
    case 'CreateSchemaStmt':
      acc = addLong(acc, v.schemaname as string | undefined);
      for (const e of (v.schemaElts as unknown[] | undefined) ?? []) {
        if (!e || typeof e !== 'object') continue;
        for (const k in e) {
          acc = longCreatedNames(acc, k, (e as Record<string, Record<string, unknown>>)[k]);
          break;
        }
      }
      return acc;
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      return addLong(acc, lastName(v.typeName));
    case 'CompositeTypeStmt':
      acc = addLong(acc, (v.typevar as RangeVar | undefined)?.relname);
      return longColumns(acc, v.coldeflist as unknown[]);
    case 'CreateDomainStmt':
      acc = addLong(acc, lastName(v.domainname));
      return longConstraints(acc, v.constraints as unknown[]);
    case 'CreateFunctionStmt':
      return addLong(acc, lastName(v.funcname));
    case 'CreateTrigStmt':
      return addLong(acc, v.trigname as string | undefined);
    case 'CreatePolicyStmt':
      return addLong(acc, v.policy_name as string | undefined);
    case 'AlterTableStmt':
      for (const c of (v.cmds as unknown[] | undefined) ?? []) {
        const cmd = node<{ subtype?: string; def?: unknown }>(c, 'AlterTableCmd');
        if (cmd?.subtype === 'AT_AddColumn') acc = longColumns(acc, [cmd.def]);
        else if (cmd?.subtype === 'AT_AddConstraint') acc = longConstraints(acc, [cmd.def]);
      }
      return acc;
    case 'RenameStmt':
      return addLong(acc, v.newname as string | undefined);
  }
  return acc;
}

const IDENTIFIER_TYPES = [
  'CreateStmt', 'CreateTableAsStmt', 'ViewStmt', 'IndexStmt', 'CreateSeqStmt', 'CreateSchemaStmt', 'CreateEnumStmt', 'CreateRangeStmt',
  'CompositeTypeStmt', 'CreateDomainStmt', 'CreateFunctionStmt', 'CreateTrigStmt', 'CreatePolicyStmt', 'AlterTableStmt', 'RenameStmt',
];

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

const DUPLICATE_TYPES = ['CreateStmt', 'CompositeTypeStmt', 'InsertStmt', 'UpdateStmt', 'ViewStmt', 'CreateTableAsStmt'];

const CLAUSE_END = ['from', 'where', 'group', 'having', 'window', 'order', 'limit', 'offset', 'fetch', 'for', 'into', 'union', 'intersect', 'except', 'returning', 'on'];

/** The last token of a select-list item starting at a file offset (its alias, or the column name). */
function targetNameToken(tokens: Token[], offset: number): Token | undefined {
  const i = tokenIndexAt(tokens, offset);
  if (i < 0) return undefined;
  const d = tokens[i].depth;
  let j = i;
  for (; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.depth < d || (t.depth === d && ((t.kind === 'punct' && (t.value === ',' || t.value === ')')) || (j > i && t.kind === 'word' && CLAUSE_END.includes(t.value))))) break;
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
  let sel = node<SelectNode>(query, 'SelectStmt');
  while (sel?.larg) sel = sel.larg;
  if (!sel?.targetList) return undefined;
  const out: { name?: string; location?: number }[] = [];
  for (const t of sel.targetList) {
    const rt = node<ResTarget>(t, 'ResTarget');
    if (!rt) return undefined;
    const ref = node<{ fields?: unknown[] }>(rt.val, 'ColumnRef');
    if (ref?.fields?.some((f) => node(f, 'A_Star') !== undefined)) return undefined;
    // Unnamed constants and operator expressions are all called "?column?" (FigureColname in the server).
    const anonymous = node(rt.val, 'A_Const') !== undefined || node<{ kind?: string }>(rt.val, 'A_Expr')?.kind === 'AEXPR_OP';
    out.push({ name: rt.name ?? (ref ? lastName(ref.fields) : anonymous ? '?column?' : undefined), location: rt.location });
  }
  return out;
}

/** Reused by the duplicate checks (one check at a time; cleared before each use). */
const SEEN = new Set<string>();
const SEEN_PARTIAL = new Set<string>();
/** Column names of the current list, for lists short enough to compare pairwise (no Set hashing). */
const NAMES: (string | undefined)[] = [];
const PAIRWISE_MAX = 32;

function reportDuplicate(ctx: RuleContext, col: string, where: string, at: { start: number; end: number } | undefined, pgError: string): void {
  ctx.report({
    message: `Column ${col} appears twice in ${where}: PostgreSQL rejects the statement ("${pgError}") and the migration fails here. Remove or rename the duplicate.`,
    start: at?.start ?? ctx.stmt.start,
    end: at?.end,
  });
}

/** A plain column name (definition, view column) seen twice. */
function reportPlainDuplicate(ctx: RuleContext, name: string, where: string, at: { start: number; end: number } | undefined): void {
  reportDuplicate(ctx, name === '?column?' ? '"?column?" (an expression without AS)' : name, where, at, `column "${name}" specified more than once`);
}

/** Range of the token at an AST location (tokenized only when a duplicate is reported). */
function nameRange(ctx: RuleContext, location: number | undefined): { start: number; end: number } | undefined {
  if (location === undefined) return undefined;
  const tokens = tokensOf(ctx);
  const i = tokenIndexAt(tokens, ctx.offset(location));
  return i < 0 ? undefined : { start: tokens[i].start, end: tokens[i].end };
}

/** Column definitions of CREATE TABLE / CREATE TYPE … AS (…). */
function columnDefDuplicates(ctx: RuleContext, elts: unknown[] | undefined, what: string, rel: RangeVar | undefined): void {
  if (!elts || elts.length < 2) return;
  if (elts.length <= PAIRWISE_MAX) {
    // Most tables: find whether any name repeats before doing anything else.
    NAMES.length = 0;
    let dup = false;
    for (const e of elts) {
      const n = node<{ colname?: string }>(e, 'ColumnDef')?.colname;
      if (n) for (let k = 0; k < NAMES.length && !dup; k++) if (NAMES[k] === n) dup = true;
      NAMES.push(n);
    }
    NAMES.length = 0;
    if (!dup) return;
  }
  SEEN.clear();
  for (const e of elts) {
    const c = node<{ colname?: string; location?: number }>(e, 'ColumnDef');
    if (!c?.colname) continue;
    if (SEEN.has(c.colname)) reportPlainDuplicate(ctx, c.colname, `${what} ${relationName(rel)}`, nameRange(ctx, c.location));
    SEEN.add(c.colname);
  }
}

/** Assignment targets: whole-column twice, or whole + element, is an error; element + element is not. */
function targetDuplicates(ctx: RuleContext, list: unknown[] | undefined, wherePrefix: string, rel: RangeVar | undefined, whereSuffix: string, specified: boolean): void {
  if (!list || list.length < 2) return;
  SEEN.clear();
  SEEN_PARTIAL.clear();
  for (const t of list) {
    const rt = node<ResTarget>(t, 'ResTarget');
    if (!rt?.name) continue;
    const isPartial = (rt.indirection?.length ?? 0) > 0;
    if (SEEN.has(rt.name) || (!isPartial && SEEN_PARTIAL.has(rt.name))) {
      const pgError = specified ? `column "${rt.name}" specified more than once` : `multiple assignments to same column "${rt.name}"`;
      reportDuplicate(ctx, rt.name, `${wherePrefix}${relationName(rel)}${whereSuffix}`, nameRange(ctx, rt.location), pgError);
    }
    (isPartial ? SEEN_PARTIAL : SEEN).add(rt.name);
  }
}

/** View / CREATE TABLE AS: explicit column list, then the query's output names for the rest. */
function viewColumnDuplicates(ctx: RuleContext, rel: RangeVar | undefined, aliases: unknown[] | undefined, query: unknown, what: string): void {
  const aliasNames = names(aliases);
  const out = outputNames(query);
  SEEN.clear();
  let aliasTokens: Token[] | undefined;
  for (let k = 0; k < aliasNames.length; k++) {
    const n = aliasNames[k];
    if (SEEN.has(n)) {
      if (!aliasTokens) {
        const tokens = tokensOf(ctx);
        aliasTokens = listAfterName(tokens, rel?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(rel.location)) : -1);
      }
      const tok = aliasTokens[k];
      reportPlainDuplicate(ctx, n, `${what} ${relationName(rel)}`, tok ? { start: tok.start, end: tok.end } : undefined);
    }
    SEEN.add(n);
  }
  if (!out) return;
  for (let k = aliasNames.length; k < out.length; k++) {
    const o = out[k];
    if (!o.name) continue;
    if (SEEN.has(o.name)) {
      const tok = o.location !== undefined ? targetNameToken(tokensOf(ctx), ctx.offset(o.location)) : undefined;
      reportPlainDuplicate(ctx, o.name, `${what} ${relationName(rel)}`, tok ? { start: tok.start, end: tok.end } : undefined);
    }
    SEEN.add(o.name);
  }
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
    // No `types`: the last statement of the section (whatever its type) is where the missing COMMIT goes.
    check(ctx) {
      // In a section the runner wraps, finish() stays silent: only transaction statements matter there
      // (for transaction-nesting), and they are observed whichever rule comes first.
      if (ctx.section.transaction && ctx.stmt.type !== 'TransactionStmt') return;
      observe(ctx, txMemo(ctx.state));
    },
    finish(ctx) {
      const memo = txState === ctx.state ? txLast : undefined;
      const open = ctx.state.explicitTx || memo?.chained !== undefined;
      // In a wrapped section the runner's COMMIT ends the work: the problem there is the BEGIN itself (transaction-nesting).
      if (!open || ctx.section.transaction) return;
      const startAt = ctx.state.explicitTx ? ctx.state.explicitTxStart : memo?.chained?.start;
      const kw = ctx.state.explicitTx ? (memo?.begin?.start === startAt ? memo?.begin : undefined) : memo?.chained;
      const start = startAt ?? ctx.section.start;
      const last = memo?.last;
      const lastTokens = last ? lexAll(memo!.lastText, last.start) : [];
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
    types: ['TransactionStmt'],
    check(ctx) {
      const openBefore = observe(ctx, txMemo(ctx.state));
      const tx = stmtNode<TxStmt>(ctx);
      const kind = tx.kind ?? '';
      const isStart = START_KINDS.has(kind);
      const isEnd = END_KINDS.has(kind);
      const isPrepared = PREPARED_KINDS.has(kind);
      if (!isStart && !isEnd && !isPrepared) return;
      const kw = txKeywords(ctx);
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
          ...(rollback || tx.chain ? {} : { fixes: [deleteStatement(ctx, `Remove the ${word}`)] }),
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
    types: DUPLICATE_TYPES,
    check(ctx) {
      switch (ctx.stmt.type) {
        case 'CreateStmt': {
          const create = stmtNode<{ relation?: RangeVar; tableElts?: unknown[] }>(ctx);
          return columnDefDuplicates(ctx, create.tableElts, 'CREATE TABLE', create.relation);
        }
        case 'CompositeTypeStmt': {
          const comp = stmtNode<{ typevar?: RangeVar; coldeflist?: unknown[] }>(ctx);
          return columnDefDuplicates(ctx, comp.coldeflist, 'CREATE TYPE', comp.typevar);
        }
        case 'InsertStmt': {
          const ins = stmtNode<{ relation?: RangeVar; cols?: unknown[]; onConflictClause?: { targetList?: unknown[] } }>(ctx);
          targetDuplicates(ctx, ins.cols, 'the column list of INSERT INTO ', ins.relation, '', true);
          targetDuplicates(ctx, ins.onConflictClause?.targetList, 'ON CONFLICT DO UPDATE SET of ', ins.relation, '', false);
          return;
        }
        case 'UpdateStmt': {
          const upd = stmtNode<{ relation?: RangeVar; targetList?: unknown[] }>(ctx);
          return targetDuplicates(ctx, upd.targetList, 'UPDATE ', upd.relation, ' SET', false);
        }
        case 'ViewStmt': {
          const view = stmtNode<{ view?: RangeVar; aliases?: unknown[]; query?: unknown }>(ctx);
          return viewColumnDuplicates(ctx, view.view, view.aliases, view.query, 'the columns of view');
        }
        case 'CreateTableAsStmt': {
          const ctas = stmtNode<{ into?: { rel?: RangeVar; colNames?: unknown[] }; query?: unknown; objtype?: string }>(ctx);
          return viewColumnDuplicates(ctx, ctas.into?.rel, ctas.into?.colNames, ctas.query, ctas.objtype === 'OBJECT_MATVIEW' ? 'the columns of materialized view' : 'the columns of table');
        }
      }
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
    types: IDENTIFIER_TYPES,
    check(ctx) {
      const created = longCreatedNames(undefined, ctx.stmt.type, stmtNode(ctx));
      if (!created) return;
      const reported = new Set<string>();
      for (const t of tokensOf(ctx)) {
        if (t.kind !== 'word' && t.kind !== 'quoted') continue;
        if (t.value.length * 3 <= MAX_IDENT_BYTES) continue; // cannot exceed 63 bytes
        const bytes = Buffer.byteLength(t.value, 'utf8');
        if (bytes <= MAX_IDENT_BYTES) continue;
        const cut = truncateIdentifier(t.value);
        if (!created.has(cut) || reported.has(t.value)) continue;
        reported.add(t.value);
        const raw = ctx.text.slice(t.start, t.end);
        // Unquoted names keep their spelling (ASCII case folding does not change byte lengths); U&"…" is left alone.
        const shorter = t.kind === 'word' ? truncateIdentifier(raw) : raw.startsWith('"') ? `"${cut.replace(/"/g, '""')}"` : undefined;
        // An identifier replaced by a shorter one of the same kind (never a keyword at 60+ bytes) still
        // parses, unless the token is a masked psql variable (then check by parsing).
        const fix = shorter === undefined ? undefined : proven(ctx, { title: `Shorten to the 63-byte name PostgreSQL stores`, edits: [{ start: t.start, end: t.end, text: shorter }] }, sameAsParsed(ctx, t.start, t.end));
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
