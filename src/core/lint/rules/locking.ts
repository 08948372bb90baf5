import { names, RangeVar, relationName, typeInfo, TypeNameNode, walk } from '../ast';
import type { FileState, RuleContext } from '../context';
import type { Rule } from '../lint';
import type { AstNode } from '../parser';
import { isWord, lockingLexerOf, type Token } from '../tokens';
import type { Fix, Severity, StatementInfo, TextEdit } from '../types';

/*
 * Performance: the linter runs on every keystroke. Every rule declares the statement `types` it judges
 * (require-lock-timeout excepted: it must see each section's first statement), the facts several rules
 * share (the ALTER TABLE's subcommands, the locks a statement takes) are computed once per statement (see
 * memoOf), and statements are tokenized only when a finding needs a range or a fix, and then only as far
 * as needed (the shared lexer, ../tokens, also once per statement). Messages are built only for findings.
 */

/**
 * The inner object of a wrapped node of the given type (same result as ast.ts's `as`, without allocating
 * the key list).
 */
function as<T = AstNode>(node: unknown, type: string): T | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as Record<string, unknown>)[type];
  if (v === undefined) return undefined;
  for (const k in node) if (k !== type) return undefined;
  return v as T;
}

/*
 * Lock and rewrite rules. Facts from the PostgreSQL documentation ("Explicit Locking" table of lock modes,
 * ALTER TABLE / CREATE INDEX / DROP INDEX / REINDEX reference pages):
 *   ACCESS EXCLUSIVE        blocks every query on the table, reads included;
 *   SHARE / SHARE ROW EXCL. block writes (INSERT/UPDATE/DELETE), not reads;
 *   SHARE UPDATE EXCLUSIVE  blocks only other DDL and VACUUM.
 * A statement waiting for a lock also blocks every later request that conflicts with it (the lock queue).
 */

/**
 * Facts about the current statement shared by the rules (computed at most once per statement, on first
 * use). Rules run one statement at a time, so one entry, replaced when the statement changes, is enough.
 * Everything here depends only on the statement, the settings and the FileState before the statement,
 * which do not change while the rules judge it.
 */
interface StmtMemo {
  stmt: StatementInfo | undefined;
  /** null: not an ALTER TABLE statement. */
  alter: AlterInfo | null | undefined;
  locks: LockTaken[] | undefined;
  /** alterSegments() of the ALTER statement (null: they do not line up). */
  segs: Segment[] | null | undefined;
}

// (Every field is created up front: one object shape, so property accesses stay monomorphic.)
const newMemo = (stmt: StatementInfo | undefined): StmtMemo => ({ stmt, alter: undefined, locks: undefined, segs: undefined });

let memo: StmtMemo = newMemo(undefined);

function memoOf(ctx: RuleContext): StmtMemo {
  const s = ctx.stmt;
  if (memo.stmt !== s) memo = newMemo(s);
  return memo;
}

// ---------------------------------------------------------------------------------------------------
// Tokens: the statement text's tokens (comments, strings, quoted identifiers and dollar quotes skipped),
// so ranges point at real tokens and fixes land at real clause boundaries. They come from the shared
// lexer (../tokens: lockingLexerOf, over the statement as written, `nesting` counting parentheses and
// brackets), produced on demand: most findings only need the first few tokens (the statement's keyword,
// the table name).
// ---------------------------------------------------------------------------------------------------

/** Every token of the current statement. */
function toks(ctx: RuleContext): Token[] {
  return lockingLexerOf(ctx).all();
}

/** The token at (or containing) a file offset. */
function tokAt(ctx: RuleContext, offset: number): Token | undefined {
  // The first token ending after `offset` contains it, or else is the first one starting after it.
  const lx = lockingLexerOf(ctx);
  const k = lx.indexAfter(offset);
  return k < 0 ? undefined : lx.tokens[k];
}

/** The first top-level keyword among `words` (e.g. the INDEX of CREATE UNIQUE INDEX). */
function keyword(ctx: RuleContext, ...words: string[]): Token | undefined {
  const lx = lockingLexerOf(ctx);
  for (let k = 0; ; k++) {
    const t = lx.get(k);
    if (!t) return undefined;
    if (t.nesting === 0 && t.kind === 'word' && words.includes(t.value)) return t;
  }
}

/** A reported range: the token at an AST location (the CONSTRAINT keyword extends to the constraint's name). */
function rangeAt(ctx: RuleContext, location: number | undefined): { start: number; end: number } {
  const at = ctx.offset(location);
  const lx = lockingLexerOf(ctx);
  const i = lx.indexAfter(at);
  const t = i < 0 ? undefined : lx.tokens[i];
  if (!t || t.start > at) return ctx.wordAt(at);
  const next = isWord(t, 'constraint') ? lx.get(i + 1) : undefined;
  if (next) return { start: t.start, end: next.end };
  return { start: t.start, end: t.end };
}

interface Segment {
  toks: Token[];
  start: number;
  end: number;
}

/** The text of each ALTER TABLE subcommand (split at top-level commas), or undefined when they do not line up. */
function alterSegments(ctx: RuleContext, rel: RangeVar | undefined, count: number): Segment[] | undefined {
  const ts = toks(ctx);
  const relAt = ctx.offset(rel?.location);
  let k = ts.findIndex((t) => t.start >= relAt);
  if (k < 0) return undefined;
  k++;
  while (k + 1 < ts.length && ts[k].kind === 'punct' && ts[k].value === '.') k += 2;
  if (k < ts.length && ts[k].kind === 'punct' && ts[k].value === '*') k++;
  const segs: Token[][] = [[]];
  for (const t of ts.slice(k)) {
    if (t.nesting === 0 && t.kind === 'punct' && t.value === ',') segs.push([]);
    else segs[segs.length - 1].push(t);
  }
  if (segs.length !== count || segs.some((s) => s.length === 0)) return undefined;
  return segs.map((s) => ({ toks: s, start: s[0].start, end: s[s.length - 1].end }));
}

const RESERVED = new Set(
  ('all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column ' +
    'concurrently constraint create cross current_catalog current_date current_role current_schema current_time current_timestamp ' +
    'current_user default deferrable desc distinct do else end except false fetch for foreign freeze from full grant group having ' +
    'ilike in initially inner intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not ' +
    'notnull null offset on only or order outer overlaps placing primary references returning right select session_user similar ' +
    'some symmetric system_user table tablesample then to trailing true union unique user using variadic verbose when where window with')
    .split(' '),
);

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** PostgreSQL's default constraint name `<table>_<column>_<label>`, shortened the same way to fit 63 bytes. */
function defaultConstraintName(table: string, column: string, label: string): string {
  let a = table;
  let b = column;
  const avail = 63 - label.length - 2;
  while (Buffer.byteLength(a) + Buffer.byteLength(b) > avail) {
    if (Buffer.byteLength(a) >= Buffer.byteLength(b)) a = a.slice(0, -1);
    else b = b.slice(0, -1);
  }
  return `${a}_${b}_${label}`;
}

/** A relation name as SQL (quoted where needed). */
function qualified(rv: RangeVar | undefined): string {
  return [rv?.schemaname, rv?.relname ?? '?'].filter((x): x is string => x !== undefined).map(quoteIdent).join('.');
}

/** names() of ast.ts without the intermediate arrays: the non-empty String values of a list. */
function nameList(list: unknown): string[] {
  const out: string[] = [];
  if (!Array.isArray(list)) return out;
  for (const x of list) {
    const v = as<{ sval?: string }>(x, 'String')?.sval;
    if (v !== undefined && v !== '') out.push(v);
  }
  return out;
}

function bare(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

/** Line numbers already computed for the last text asked about (lineOf is called for findings only). */
let lineMemo: { text: string; lines: Map<number, number> } | undefined;

/** 1-based line number of a file offset. */
function lineOf(text: string, offset: number): number {
  if (lineMemo?.text !== text) lineMemo = { text, lines: new Map() };
  const lines = lineMemo.lines;
  const known = lines.get(offset);
  if (known !== undefined) return known;
  // Count the line breaks before `offset`, from the nearest offset already known below it.
  let from = 0;
  let line = 1;
  for (const [o, l] of lines) {
    if (o < offset && o > from) {
      from = o;
      line = l;
    }
  }
  for (let i = text.indexOf('\n', from); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  lines.set(offset, line);
  return line;
}

// ---------------------------------------------------------------------------------------------------
// AST shapes used here
// ---------------------------------------------------------------------------------------------------

interface Rel extends RangeVar {
  inh?: boolean;
}
interface AlterTableNode {
  relation?: Rel;
  cmds?: unknown[];
  objtype?: string;
}
interface AlterCmd {
  subtype?: string;
  name?: string;
  def?: unknown;
  missing_ok?: boolean;
}
interface ConstraintNode {
  contype?: string;
  conname?: string;
  skip_validation?: boolean;
  raw_expr?: unknown;
  pktable?: Rel;
  indexname?: string;
  keys?: unknown[];
  generated_kind?: string;
  location?: number;
}
interface ColumnDefNode {
  colname?: string;
  typeName?: TypeNameNode;
  constraints?: unknown[];
  raw_default?: unknown;
  collClause?: unknown;
  location?: number;
}
interface PartitionCmdNode {
  name?: Rel;
  concurrent?: boolean;
}
interface DefElemNode {
  defname?: string;
  arg?: unknown;
  location?: number;
}

interface AlterInfo {
  node: AlterTableNode;
  rel: Rel | undefined;
  table: string;
  /** The table's name quoted for SQL snippets in messages (see sqlName()). */
  sqlName: string | undefined;
  isNew: boolean;
  cmds: (AlterCmd | undefined)[];
}

/** The current ALTER statement (ALTER TABLE only, unless `tablesOnly` is false), computed once per statement. */
function alterTable(ctx: RuleContext, tablesOnly = true): AlterInfo | undefined {
  const m = memoOf(ctx);
  let info = m.alter;
  if (info === undefined) {
    const a = ctx.stmt.type === 'AlterTableStmt' ? as<AlterTableNode>(ctx.stmt.node, 'AlterTableStmt') : undefined;
    if (a) {
      const list = a.cmds ?? [];
      const cmds: (AlterCmd | undefined)[] = new Array(list.length);
      for (let i = 0; i < list.length; i++) cmds[i] = as<AlterCmd>(list[i], 'AlterTableCmd');
      info = { node: a, rel: a.relation, table: relationName(a.relation), sqlName: undefined, isNew: ctx.state.isNew(a.relation), cmds };
    } else info = null;
    m.alter = info;
  }
  if (!info) return undefined;
  if (tablesOnly && info.node.objtype !== undefined && info.node.objtype !== 'OBJECT_TABLE') return undefined;
  return info;
}

/** The subcommands' text segments of the current ALTER statement (once per statement; tokenizes it). */
function segments(ctx: RuleContext, a: AlterInfo): Segment[] | undefined {
  const m = memoOf(ctx);
  if (m.segs === undefined) m.segs = alterSegments(ctx, a.rel, a.cmds.length) ?? null;
  return m.segs ?? undefined;
}

/** The table's name quoted for SQL snippets in messages. */
function sqlName(a: AlterInfo): string {
  return (a.sqlName ??= qualified(a.rel));
}

const constraintOf = (n: unknown) => as<ConstraintNode>(n, 'Constraint');
const columnDefOf = (n: unknown) => as<ColumnDefNode>(n, 'ColumnDef');

const CONSTRAINT_ATTRS = new Set([
  'CONSTR_ATTR_DEFERRABLE', 'CONSTR_ATTR_NOT_DEFERRABLE', 'CONSTR_ATTR_DEFERRED', 'CONSTR_ATTR_IMMEDIATE', 'CONSTR_ATTR_ENFORCED', 'CONSTR_ATTR_NOT_ENFORCED',
]);

/** The text of a column's inline constraint (with its DEFERRABLE… attributes), inside the subcommand's segment. */
function inlineConstraintExtent(ctx: RuleContext, seg: Segment, col: ColumnDefNode, index: number): { toks: Token[]; start: number; end: number; removeFrom: number } | undefined {
  const cons = (col.constraints ?? []).map(constraintOf);
  const con = cons[index];
  if (con?.location === undefined) return undefined;
  const start = ctx.offset(con.location);
  let j = index + 1;
  while (j < cons.length && CONSTRAINT_ATTRS.has(cons[j]?.contype ?? '')) j++;
  let limit = seg.end + 1;
  if (j < cons.length) {
    if (cons[j]?.location === undefined) return undefined;
    limit = ctx.offset(cons[j]!.location);
  }
  const inside = seg.toks.filter((t) => t.start >= start && t.start < limit);
  if (inside.length === 0) return undefined;
  const before = seg.toks.filter((t) => t.end <= start);
  return { toks: inside, start, end: inside[inside.length - 1].end, removeFrom: before.length ? before[before.length - 1].end : start };
}

/** The text of an identifier token as written (for fixes that repeat it). */
function identText(ctx: RuleContext, location: number | undefined, fallback: string): string {
  const t = tokAt(ctx, ctx.offset(location));
  if (t && (t.kind === 'word' || t.kind === 'quoted') && t.start === ctx.offset(location)) return ctx.text.slice(t.start, t.end);
  return quoteIdent(fallback);
}

// ---------------------------------------------------------------------------------------------------
// Transaction-mode helpers for the CONCURRENTLY rules
// ---------------------------------------------------------------------------------------------------

/**
 * Edits that let a CONCURRENTLY statement run: none needed outside a transaction, the marker's
 * `transaction:false` in a Bulwark section that runs in one; undefined when no mechanical change helps
 * (inside a DO block, an explicit BEGIN … COMMIT, or a file the runner wraps in a transaction).
 */
function concurrentFixEdits(ctx: RuleContext): TextEdit[] | undefined {
  if (ctx.stmt.embedded) return undefined;
  if (!ctx.stmt.inTransaction) return [];
  if (ctx.state.explicitTx) return undefined;
  if (ctx.section.marker && ctx.section.transaction) return ctx.markerNoTransactionEdit();
  return undefined;
}

/** What to tell the user about running CONCURRENTLY outside a transaction, for the current statement. */
function noTransactionAdvice(ctx: RuleContext, what: string): string {
  if (ctx.stmt.embedded) return `${what} cannot run inside a DO block or function: move the statement out of the DO block, into a section marked transaction:false`;
  if (!ctx.stmt.inTransaction) return '';
  if (ctx.state.explicitTx) return `${what} cannot run inside a transaction block: move it out of the BEGIN … COMMIT`;
  if (ctx.section.marker) return `${what} cannot run inside a transaction block: the quick fix also marks this section transaction:false`;
  return `${what} cannot run inside a transaction block: run it in a migration your tool does not wrap in a transaction`;
}

function withAdvice(message: string, advice: string): string {
  return advice ? `${message}. ${advice}.` : `${message}.`;
}

function isFalseArg(arg: unknown): boolean {
  const s = as<{ sval?: string }>(arg, 'String')?.sval;
  if (s !== undefined) return ['false', 'off', '0', 'no'].includes(s.toLowerCase());
  const i = as<{ ival?: number }>(arg, 'Integer');
  if (i) return !i.ival;
  const b = as<{ boolval?: boolean }>(arg, 'Boolean');
  if (b) return !b.boolval;
  return false;
}

function hasOption(list: unknown[] | undefined, name: string): DefElemNode | undefined {
  for (const p of list ?? []) {
    const d = as<DefElemNode>(p, 'DefElem');
    if (d?.defname === name && !isFalseArg(d.arg)) return d;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Which locks a statement takes on existing tables (require-lock-timeout, lock-then-more-work)
// ---------------------------------------------------------------------------------------------------

type LockMode = 'ACCESS EXCLUSIVE' | 'SHARE ROW EXCLUSIVE' | 'SHARE' | 'SHARE UPDATE EXCLUSIVE';

interface LockTaken {
  table: string;
  mode: LockMode;
  /** The statement kind, e.g. 'ALTER TABLE'. */
  what: string;
  /** The relation locked (its range is computed only when a finding points at it: see lockRange()). */
  rv: Rel | undefined;
  /** DROP: the object's name as listed. */
  dropNames: string[] | undefined;
  /** Points at the statement's first token (REINDEX SCHEMA, CLUSTER, VACUUM FULL without a table). */
  atStart: boolean;
}

/** ACCESS EXCLUSIVE, SHARE ROW EXCLUSIVE and SHARE block reads and/or writes. */
const isStrong = (m: LockMode) => m !== 'SHARE UPDATE EXCLUSIVE';

/** ALTER TABLE subcommands that take only SHARE UPDATE EXCLUSIVE (no reads or writes blocked). */
const SUE_SUBTYPES = new Set([
  'AT_ValidateConstraint', 'AT_SetStatistics', 'AT_SetOptions', 'AT_ResetOptions', 'AT_SetRelOptions', 'AT_ResetRelOptions', 'AT_ClusterOn',
  'AT_DropCluster', 'AT_DetachPartitionFinalize',
]);
/** … and those that take SHARE ROW EXCLUSIVE (writes blocked). */
const SRE_SUBTYPES = new Set([
  'AT_EnableTrig', 'AT_EnableAlwaysTrig', 'AT_EnableReplicaTrig', 'AT_DisableTrig', 'AT_EnableTrigAll', 'AT_DisableTrigAll', 'AT_EnableTrigUser', 'AT_DisableTrigUser',
]);

const OBJ_WORDS: Record<string, string> = {
  OBJECT_TABLE: 'ALTER TABLE', OBJECT_INDEX: 'ALTER INDEX', OBJECT_VIEW: 'ALTER VIEW', OBJECT_MATVIEW: 'ALTER MATERIALIZED VIEW', OBJECT_FOREIGN_TABLE: 'ALTER FOREIGN TABLE',
};
const DROP_KINDS: Record<string, string> = { OBJECT_TABLE: 'DROP TABLE', OBJECT_INDEX: 'DROP INDEX', OBJECT_VIEW: 'DROP VIEW', OBJECT_MATVIEW: 'DROP MATERIALIZED VIEW' };
const LOCK_MODES: Record<number, LockMode> = { 4: 'SHARE UPDATE EXCLUSIVE', 5: 'SHARE', 6: 'SHARE ROW EXCLUSIVE', 7: 'ACCESS EXCLUSIVE', 8: 'ACCESS EXCLUSIVE' };

/** The statement types locksTaken() knows (the others take no blocking lock on an existing table). */
const LOCK_TYPES: readonly string[] = [
  'AlterTableStmt', 'CreateStmt', 'IndexStmt', 'DropStmt', 'TruncateStmt', 'RenameStmt', 'ReindexStmt', 'ClusterStmt', 'VacuumStmt', 'CreateTrigStmt',
  'CreatePolicyStmt', 'LockStmt',
];
const LOCK_TYPE_SET = new Set(LOCK_TYPES);

const RANK: Record<LockMode, number> = { 'SHARE UPDATE EXCLUSIVE': 0, SHARE: 1, 'SHARE ROW EXCLUSIVE': 2, 'ACCESS EXCLUSIVE': 3 };
const maxMode = (a: LockMode | undefined, b: LockMode): LockMode => (a === undefined || RANK[b] > RANK[a] ? b : a);

function relRange(ctx: RuleContext, rv: Rel | undefined): { start: number; end: number } {
  if (rv?.location === undefined) return { start: ctx.stmt.start, end: tokAt(ctx, ctx.stmt.start)?.end ?? ctx.stmt.start + 1 };
  const at = ctx.offset(rv.location);
  const lx = lockingLexerOf(ctx);
  let i = lx.indexAfter(at);
  if (i < 0 || lx.tokens[i].start !== at) return ctx.wordAt(at);
  let end = lx.tokens[i].end;
  for (;;) {
    const dot = lx.get(i + 1);
    if (dot?.kind !== 'punct' || dot.value !== '.') break;
    const part = lx.get(i + 2);
    if (!part) break;
    end = part.end;
    i += 2;
  }
  return { start: at, end };
}

const stmtStartRange = (ctx: RuleContext) => {
  const t = lockingLexerOf(ctx).get(0);
  return t ? { start: t.start, end: t.end } : { start: ctx.stmt.start, end: ctx.stmt.start + 1 };
};

/** Where a finding about a lock taken by the current statement points. */
function lockRange(ctx: RuleContext, l: LockTaken): { start: number; end: number } {
  if (l.atStart) return stmtStartRange(ctx);
  if (l.dropNames) {
    const r = nameRange(ctx, l.dropNames);
    if (r) return r;
    const kw = keyword(ctx, 'drop');
    if (kw) return { start: kw.start, end: kw.end };
  }
  return relRange(ctx, l.rv);
}

const NO_LOCKS: LockTaken[] = [];

/** Locks the statement takes on relations that existed before the section (new ones block nobody); once per statement. */
function locksTaken(ctx: RuleContext): LockTaken[] {
  const m = memoOf(ctx);
  return (m.locks ??= LOCK_TYPE_SET.has(ctx.stmt.type ?? '') ? computeLocks(ctx) : NO_LOCKS);
}

function addLock(ctx: RuleContext, out: LockTaken[], rv: Rel | undefined, mode: LockMode, what: string, dropNames?: string[]): void {
  if (!rv || ctx.state.isNew(rv)) return;
  out.push({ table: relationName(rv), mode, what, rv, dropNames, atStart: false });
}

function computeLocks(ctx: RuleContext): LockTaken[] {
  const node = ctx.stmt.node;
  const out: LockTaken[] = [];
  switch (ctx.stmt.type) {
    case 'AlterTableStmt': {
      const a = alterTable(ctx, false);
      if (!a) break;
      let mode: LockMode | undefined;
      let referenced: { rv: Rel | undefined; mode: LockMode; what: string }[] | undefined;
      for (const cmd of a.cmds) {
        if (!cmd?.subtype) continue;
        if (cmd.subtype === 'AT_AttachPartition') {
          mode = maxMode(mode, 'SHARE UPDATE EXCLUSIVE');
          (referenced ??= []).push({ rv: as<PartitionCmdNode>(cmd.def, 'PartitionCmd')?.name, mode: 'ACCESS EXCLUSIVE', what: 'ALTER TABLE … ATTACH PARTITION' });
        } else if (cmd.subtype === 'AT_DetachPartition') {
          mode = maxMode(mode, as<PartitionCmdNode>(cmd.def, 'PartitionCmd')?.concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE');
        } else if (cmd.subtype === 'AT_AddConstraint' && constraintOf(cmd.def)?.contype === 'CONSTR_FOREIGN') {
          mode = maxMode(mode, 'SHARE ROW EXCLUSIVE');
          (referenced ??= []).push({ rv: constraintOf(cmd.def)?.pktable, mode: 'SHARE ROW EXCLUSIVE', what: 'ALTER TABLE … FOREIGN KEY' });
        } else if (SUE_SUBTYPES.has(cmd.subtype)) mode = maxMode(mode, 'SHARE UPDATE EXCLUSIVE');
        else if (SRE_SUBTYPES.has(cmd.subtype)) mode = maxMode(mode, 'SHARE ROW EXCLUSIVE');
        else mode = 'ACCESS EXCLUSIVE';
        if (cmd.subtype === 'AT_AddColumn') {
          const cons = columnDefOf(cmd.def)?.constraints;
          if (cons) {
            for (const c of cons) {
              const con = constraintOf(c);
              if (con?.contype === 'CONSTR_FOREIGN') (referenced ??= []).push({ rv: con.pktable, mode: 'SHARE ROW EXCLUSIVE', what: 'ALTER TABLE … REFERENCES' });
            }
          }
        }
      }
      if (mode) addLock(ctx, out, a.rel, mode, OBJ_WORDS[a.node.objtype ?? 'OBJECT_TABLE'] ?? 'ALTER TABLE');
      if (referenced) for (const r of referenced) addLock(ctx, out, r.rv, r.mode, r.what);
      break;
    }
    case 'CreateStmt': {
      // A foreign key to an existing table takes SHARE ROW EXCLUSIVE on it (writes wait), even from a new table.
      // (Most elements are plain columns: look at the wrapped node's field first, check the wrapper only for foreign keys.)
      for (const e of as<{ tableElts?: unknown[] }>(node, 'CreateStmt')?.tableElts ?? []) {
        const w = e as { Constraint?: ConstraintNode; ColumnDef?: ColumnDefNode } | null | undefined;
        if (w?.Constraint?.contype === 'CONSTR_FOREIGN' && constraintOf(e)) addLock(ctx, out, w.Constraint.pktable, 'SHARE ROW EXCLUSIVE', 'CREATE TABLE … REFERENCES');
        const cons = w?.ColumnDef?.constraints;
        if (cons && columnDefOf(e)) {
          for (const c of cons) {
            const cw = c as { Constraint?: ConstraintNode } | null | undefined;
            if (cw?.Constraint?.contype === 'CONSTR_FOREIGN' && constraintOf(c)) addLock(ctx, out, cw.Constraint.pktable, 'SHARE ROW EXCLUSIVE', 'CREATE TABLE … REFERENCES');
          }
        }
      }
      break;
    }
    case 'IndexStmt': {
      const ix = as<{ relation?: Rel; concurrent?: boolean }>(node, 'IndexStmt');
      if (ix && !ix.concurrent && ix.relation?.inh === true) addLock(ctx, out, ix.relation, 'SHARE', 'CREATE INDEX');
      break;
    }
    case 'DropStmt': {
      const d = as<{ removeType?: string; objects?: unknown[]; concurrent?: boolean }>(node, 'DropStmt');
      const what = DROP_KINDS[d?.removeType ?? ''];
      if (!d || !what || (d.removeType === 'OBJECT_INDEX' && d.concurrent)) break;
      for (const o of d.objects ?? []) {
        const n = nameList(as<{ items?: unknown[] }>(o, 'List')?.items);
        if (!n.length) continue;
        const rv: Rel = n.length > 1 ? { relname: n[n.length - 1], schemaname: n[n.length - 2] } : { relname: n[0] };
        addLock(ctx, out, rv, 'ACCESS EXCLUSIVE', what, n);
      }
      break;
    }
    case 'TruncateStmt':
      for (const r of as<{ relations?: unknown[] }>(node, 'TruncateStmt')?.relations ?? []) addLock(ctx, out, as<Rel>(r, 'RangeVar'), 'ACCESS EXCLUSIVE', 'TRUNCATE');
      break;
    case 'RenameStmt': {
      const r = as<{ relation?: Rel; renameType?: string }>(node, 'RenameStmt');
      if (r?.relation) addLock(ctx, out, r.relation, r.renameType === 'OBJECT_INDEX' && ctx.pgVersion >= 12 ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE', 'RENAME');
      break;
    }
    case 'ReindexStmt': {
      const r = as<{ kind?: string; relation?: Rel; name?: string; params?: unknown[] }>(node, 'ReindexStmt');
      if (!r || hasOption(r.params, 'concurrently')) break;
      if (r.kind === 'REINDEX_OBJECT_INDEX' || r.kind === 'REINDEX_OBJECT_TABLE') addLock(ctx, out, r.relation, 'SHARE', 'REINDEX');
      else out.push({ table: r.kind === 'REINDEX_OBJECT_SCHEMA' ? `every table of schema ${r.name ?? '?'}` : 'every table of the database', mode: 'SHARE', what: 'REINDEX', rv: undefined, dropNames: undefined, atStart: true });
      break;
    }
    case 'ClusterStmt': {
      const c = as<{ relation?: Rel }>(node, 'ClusterStmt');
      if (c?.relation) addLock(ctx, out, c.relation, 'ACCESS EXCLUSIVE', 'CLUSTER');
      else if (c) out.push({ table: 'every previously clustered table', mode: 'ACCESS EXCLUSIVE', what: 'CLUSTER', rv: undefined, dropNames: undefined, atStart: true });
      break;
    }
    case 'VacuumStmt': {
      const v = as<{ options?: unknown[]; rels?: unknown[]; is_vacuumcmd?: boolean }>(node, 'VacuumStmt');
      if (!v?.is_vacuumcmd || !hasOption(v.options, 'full')) break;
      const rels = v.rels ?? [];
      if (rels.length === 0) out.push({ table: 'every table of the database', mode: 'ACCESS EXCLUSIVE', what: 'VACUUM FULL', rv: undefined, dropNames: undefined, atStart: true });
      for (const r of rels) addLock(ctx, out, as<{ relation?: Rel }>(r, 'VacuumRelation')?.relation, 'ACCESS EXCLUSIVE', 'VACUUM FULL');
      break;
    }
    case 'CreateTrigStmt':
      addLock(ctx, out, as<{ relation?: Rel }>(node, 'CreateTrigStmt')?.relation, 'SHARE ROW EXCLUSIVE', 'CREATE TRIGGER');
      break;
    case 'CreatePolicyStmt':
      addLock(ctx, out, as<{ table?: Rel }>(node, 'CreatePolicyStmt')?.table, 'ACCESS EXCLUSIVE', 'CREATE POLICY');
      break;
    case 'LockStmt': {
      const l = as<{ relations?: unknown[]; mode?: number }>(node, 'LockStmt');
      const mode = LOCK_MODES[l?.mode ?? 8];
      if (mode) for (const r of l?.relations ?? []) addLock(ctx, out, as<Rel>(r, 'RangeVar'), mode, 'LOCK TABLE');
      break;
    }
  }
  return out.length ? out : NO_LOCKS;
}

/** The range of a (possibly qualified) object name in a DROP statement's list. */
function nameRange(ctx: RuleContext, n: string[]): { start: number; end: number } | undefined {
  const ts = toks(ctx);
  const last = n[n.length - 1];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.nesting !== 0 || (t.kind !== 'word' && t.kind !== 'quoted') || t.value !== n[0]) continue;
    let j = i;
    let ok = true;
    for (let k = 1; k < n.length; k++) {
      if (ts[j + 1]?.value !== '.' || ts[j + 2]?.value !== n[k]) {
        ok = false;
        break;
      }
      j += 2;
    }
    if (ok && ts[j].value === last) return { start: t.start, end: ts[j].end };
  }
  return undefined;
}

const DML_KINDS: Record<string, string> = { UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', InsertStmt: 'INSERT … SELECT', MergeStmt: 'MERGE', SelectStmt: 'SELECT', CopyStmt: 'COPY' };
const DML_TYPES: readonly string[] = Object.keys(DML_KINDS);
const DML_VERBS: Record<string, string> = { UPDATE: 'updates rows of', DELETE: 'deletes rows of', 'INSERT … SELECT': 'writes rows into', MERGE: 'merges rows into', SELECT: 'scans', COPY: 'copies rows of' };

function touchedTable(ctx: RuleContext, rv: Rel | undefined): boolean {
  return rv?.relname !== undefined && rv.relname !== '' && !ctx.state.isNew(rv) && rv.schemaname !== 'pg_catalog' && rv.schemaname !== 'information_schema';
}

/** Whether `walk(node)` would visit a RangeVar (stops at the first). */
function containsRangeVar(node: unknown): boolean {
  if (Array.isArray(node)) {
    for (const x of node) if (containsRangeVar(x)) return true;
    return false;
  }
  if (node === null || typeof node !== 'object') return false;
  // A wrapped node is an object with one PascalCase key (as walk() sees it).
  let only: string | undefined;
  let count = 0;
  for (const k in node) {
    only = k;
    if (++count > 1) break;
  }
  if (count === 1) {
    const c = only!.charCodeAt(0);
    if (c >= 65 && c <= 90) return only === 'RangeVar' || containsRangeVar((node as Record<string, unknown>)[only!]);
  }
  for (const k in node) if (containsRangeVar((node as Record<string, unknown>)[k])) return true;
  return false;
}

/** The first existing table whose rows a DML statement reads or writes (UPDATE, DELETE, INSERT … SELECT, MERGE, SELECT … FROM, COPY). */
function dataTouched(ctx: RuleContext): { rv: Rel; what: string } | undefined {
  const type = ctx.stmt.type ?? '';
  const what = DML_KINDS[type];
  if (!what) return undefined;
  const inner = as<{ relation?: Rel; selectStmt?: unknown }>(ctx.stmt.node, type);
  if (type === 'InsertStmt') {
    // INSERT … VALUES is quick; INSERT … SELECT … FROM reads other tables.
    if (!containsRangeVar(inner?.selectStmt)) return undefined;
  }
  // The target of UPDATE/DELETE/INSERT/MERGE/COPY is a bare RangeVar; FROM/USING items are wrapped ones.
  const target = inner?.relation;
  if (touchedTable(ctx, target)) return { rv: target!, what };
  for (const rv of ctx.nodes('RangeVar') as Rel[]) if (touchedTable(ctx, rv)) return { rv, what };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Per-file memory kept by the rules themselves (rules run in file order)
// ---------------------------------------------------------------------------------------------------

/**
 * Memory per section (FileState or RuleContext: the runner makes one of each per section), created on
 * first use. Sections are linted one after the other and never revisited (rules run in file order), so
 * only the current section's memory is kept: a new key starts a new memory.
 */
class PerSection<K extends object, V> {
  private key: K | undefined;
  private value: V | undefined;
  constructor(private readonly make: () => V) {}
  get(key: K): V {
    if (key !== this.key) {
      this.key = key;
      this.value = this.make();
    }
    return this.value!;
  }
}

/** NOT VALID constraints added inside a transaction (the framework's set also holds autocommitted ones). */
const notValidAddedInTx = new PerSection<FileState, Set<string>>(() => new Set());
/** Lock taken by each statement (by file offset), to name it when a later statement is flagged. */
const lockAt = new PerSection<FileState, { byOffset: Map<number, LockTaken[]>; held: Set<string>; seen: number }>(() => ({ byOffset: new Map(), held: new Set(), seen: 0 }));
/** require-lock-timeout: the start of the section's first statement, and whether the section was reported. */
const lockTimeoutMemory = new PerSection<RuleContext, { first: number | undefined; reported: boolean }>(() => ({ first: undefined, reported: false }));
/** PostgreSQL 18 `NOT NULL col NOT VALID` constraints (`table/constraint` → column) and the columns they proved once validated. */
const notNullConstraints = new PerSection<FileState, { pending: Map<string, string>; validated: Set<string> }>(() => ({ pending: new Map(), validated: new Set() }));
const TX_END = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

/**
 * Known column types of the file being linted: `table/column` → type (bare table names). The statements
 * that define them (CREATE TABLE, ALTER TABLE, RENAME) are only logged as they pass, and replayed into the
 * map when an ALTER COLUMN … TYPE needs a type: most files never do.
 */
interface TypeMemory {
  text?: string;
  ctx?: RuleContext;
  sectionStart: number;
  types: Map<string, TypeNameNode>;
  /** Statement nodes (CreateStmt, AlterTableStmt, RenameStmt) not yet applied to `types` from index `applied`. */
  log: AstNode[];
  applied: number;
}

const typeMemory: TypeMemory = { sectionStart: -1, types: new Map(), log: [], applied: 0 };

function knownTypes(ctx: RuleContext): TypeMemory {
  if (typeMemory.text !== ctx.text || (typeMemory.ctx !== ctx && ctx.section.start <= typeMemory.sectionStart)) {
    typeMemory.types = new Map();
    typeMemory.log = [];
    typeMemory.applied = 0;
  }
  typeMemory.text = ctx.text;
  typeMemory.ctx = ctx;
  typeMemory.sectionStart = ctx.section.start;
  return typeMemory;
}

/** The known type of `table/column` (after every statement logged so far). */
function knownType(mem: TypeMemory, key: string): TypeInfo | undefined {
  while (mem.applied < mem.log.length) applyTypes(mem.types, mem.log[mem.applied++]);
  const t = mem.types.get(key);
  return t ? typeInfo(t) : undefined;
}

function rememberTypes(ctx: RuleContext, mem: TypeMemory): void {
  if (ctx.stmt.node) mem.log.push(ctx.stmt.node);
}

function applyTypes(types: Map<string, TypeNameNode>, node: AstNode): void {
  const create = as<{ relation?: Rel; tableElts?: unknown[] }>(node, 'CreateStmt');
  if (create?.relation?.relname) {
    for (const e of create.tableElts ?? []) {
      const col = columnDefOf(e);
      if (col?.colname && col.typeName) types.set(`${create.relation.relname}/${col.colname}`, col.typeName);
    }
    return;
  }
  const a = as<AlterTableNode>(node, 'AlterTableStmt');
  if (a?.relation?.relname) {
    for (const c of a.cmds ?? []) {
      const cmd = as<AlterCmd>(c, 'AlterTableCmd');
      const col = columnDefOf(cmd?.def);
      if (cmd?.subtype === 'AT_AddColumn' && col?.colname && col.typeName) types.set(`${a.relation.relname}/${col.colname}`, col.typeName);
      if (cmd?.subtype === 'AT_AlterColumnType' && cmd.name && col?.typeName) types.set(`${a.relation.relname}/${cmd.name}`, col.typeName);
      if (cmd?.subtype === 'AT_DropColumn' && cmd.name) types.delete(`${a.relation.relname}/${cmd.name}`);
    }
    return;
  }
  const r = as<{ renameType?: string; relation?: Rel; subname?: string; newname?: string }>(node, 'RenameStmt');
  if (r?.renameType === 'OBJECT_COLUMN' && r.relation?.relname && r.subname && r.newname) {
    const t = types.get(`${r.relation.relname}/${r.subname}`);
    types.delete(`${r.relation.relname}/${r.subname}`);
    if (t) types.set(`${r.relation.relname}/${r.newname}`, t);
  }
}

// ---------------------------------------------------------------------------------------------------
// Type changes that do not rewrite the table (binary-coercible, PostgreSQL docs for ALTER TABLE)
// ---------------------------------------------------------------------------------------------------

type TypeInfo = ReturnType<typeof typeInfo>;

const SAFE_TARGETS = new Set(['varchar', 'text', 'numeric', 'varbit', 'inet']);
const TYPE_NAMES: Record<string, string> = { int4: 'integer', int8: 'bigint', int2: 'smallint', bpchar: 'char', float8: 'double precision', float4: 'real', bool: 'boolean' };

function showType(t: TypeInfo): string {
  const n = TYPE_NAMES;
  return `${n[t.name] ?? t.name}${t.mods.length ? `(${t.mods.join(',')})` : ''}${t.array ? '[]' : ''}`;
}

function noRewrite(from: TypeInfo, to: TypeInfo): boolean {
  if (from.array !== to.array) return false;
  if (from.name === to.name && from.mods.join(',') === to.mods.join(',')) return true;
  switch (from.name) {
    case 'varchar':
      return to.name === 'text' || (to.name === 'varchar' && (to.mods.length === 0 || (from.mods.length > 0 && to.mods[0] >= from.mods[0])));
    case 'text':
      return to.name === 'varchar' && to.mods.length === 0;
    case 'numeric': {
      if (to.name !== 'numeric' || from.mods.length === 0) return false;
      if (to.mods.length === 0) return true;
      return to.mods[0] >= from.mods[0] && (to.mods[1] ?? 0) === (from.mods[1] ?? 0);
    }
    case 'varbit':
      return to.name === 'varbit' && (to.mods.length === 0 || (from.mods.length > 0 && to.mods[0] >= from.mods[0]));
    case 'cidr':
      return to.name === 'inet' && to.mods.length === 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Volatility of DEFAULT expressions
// ---------------------------------------------------------------------------------------------------

/** Built-ins that are VOLATILE: a DEFAULT using them is evaluated per row, rewriting the table. */
const VOLATILE_FUNCTIONS = new Set([
  'random', 'random_normal', 'setseed', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4',
  'clock_timestamp', 'timeofday', 'nextval', 'currval', 'lastval', 'setval', 'txid_current', 'txid_current_if_assigned', 'pg_current_xact_id',
  'pg_current_xact_id_if_assigned', 'gen_random_bytes', 'gen_salt', 'pg_random_uuid',
]);

/** Built-ins known to be IMMUTABLE or STABLE: evaluated once when the column is added (no rewrite since PostgreSQL 11). */
const NON_VOLATILE_FUNCTIONS = new Set([
  'now', 'transaction_timestamp', 'statement_timestamp', 'current_setting', 'timezone', 'date_trunc', 'date_part', 'extract', 'make_date', 'make_time',
  'make_timestamp', 'make_timestamptz', 'make_interval', 'to_timestamp', 'to_date', 'to_char', 'to_number', 'age', 'lower', 'upper', 'initcap', 'btrim',
  'ltrim', 'rtrim', 'trim', 'length', 'char_length', 'octet_length', 'concat', 'concat_ws', 'substr', 'substring', 'replace', 'left', 'right', 'lpad',
  'rpad', 'format', 'md5', 'sha256', 'sha512', 'encode', 'decode', 'split_part', 'regexp_replace', 'string_to_array', 'array_to_string', 'array_fill',
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'power', 'sqrt', 'mod', 'jsonb_build_object', 'jsonb_build_array', 'json_build_object',
  'json_build_array', 'to_json', 'to_jsonb', 'jsonb_object', 'json_object', 'array_length', 'cardinality', 'uuid_nil', 'uuid_ns_dns', 'uuid_ns_url',
  'uuid_ns_oid', 'uuid_ns_x500', 'uuid_generate_v3', 'uuid_generate_v5', 'int4', 'int8', 'numeric', 'text', 'inet', 'cidr', 'daterange', 'tstzrange',
  'int4range', 'int8range', 'numrange', 'tsrange', 'current_schema', 'current_database', 'current_user', 'session_user', 'version', 'to_tsvector',
  'position', 'overlay', 'normalize', 'localtime', 'localtimestamp', 'current_date', 'current_time', 'current_timestamp', 'crypt',
]);

function defaultVolatility(expr: unknown): { kind: 'volatile' | 'unknown' | 'ok'; fn?: string; location?: number } {
  let result: { kind: 'volatile' | 'unknown' | 'ok'; fn?: string; location?: number } = { kind: 'ok' };
  walk(expr, (type, v) => {
    if (result.kind === 'volatile') return false;
    if (type === 'FuncCall') {
      const f = v as { funcname?: unknown[]; location?: number };
      const n = names(f.funcname);
      const name = (n[n.length - 1] ?? '').toLowerCase();
      if (VOLATILE_FUNCTIONS.has(name)) result = { kind: 'volatile', fn: name, location: f.location };
      else if (!NON_VOLATILE_FUNCTIONS.has(name) && result.kind === 'ok') result = { kind: 'unknown', fn: n.join('.'), location: f.location };
    } else if (type === 'SubLink' && result.kind === 'ok') {
      result = { kind: 'unknown', fn: 'a subquery' };
    }
    return undefined;
  });
  return result;
}

// ---------------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------------

const BLOCKED: Record<LockMode, string> = {
  'ACCESS EXCLUSIVE': 'reads and writes',
  'SHARE ROW EXCLUSIVE': 'writes',
  SHARE: 'writes',
  'SHARE UPDATE EXCLUSIVE': 'other DDL and VACUUM',
};

const REINDEX_KINDS: Record<string, string> = { REINDEX_OBJECT_INDEX: 'INDEX', REINDEX_OBJECT_TABLE: 'TABLE', REINDEX_OBJECT_SCHEMA: 'SCHEMA', REINDEX_OBJECT_DATABASE: 'DATABASE' };

/** The online way to add a UNIQUE / PRIMARY KEY constraint (message text). */
function suggestUniqueIndex(a: AlterInfo, kind: 'UNIQUE' | 'PRIMARY KEY', cols: string[], conname: string | undefined): string {
  const name = conname ?? (kind === 'UNIQUE' ? defaultConstraintName(bare(a.table), cols.join('_') || 'col', 'key') : `${bare(a.table).slice(0, 58)}_pkey`);
  const n = quoteIdent(name);
  const pkNote = kind === 'PRIMARY KEY' ? ' (the key columns must already be NOT NULL, or this scans the table too: see set-not-null)' : '';
  return `CREATE UNIQUE INDEX CONCURRENTLY ${n} ON ${sqlName(a)} (${cols.map(quoteIdent).join(', ') || '…'}) outside a transaction, then ALTER TABLE ${sqlName(a)} ADD CONSTRAINT ${n} ${kind} USING INDEX ${n}${pkNote}`;
}

const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

/** The serial pseudo-type a column is declared with (not schema-qualified), as typeInfo() names it; else undefined. */
function serialType(t: TypeNameNode | undefined): string | undefined {
  const list = t?.names;
  if (!Array.isArray(list)) return undefined;
  // Like names(): the String values that are not empty; the last is the type's name, one before it a schema.
  let name: string | undefined;
  let count = 0;
  for (const x of list) {
    const v = as<{ sval?: string }>(x, 'String')?.sval;
    if (v === undefined || v === '') continue;
    name = v;
    count++;
  }
  return count === 1 && SERIAL_TYPES.has(name!) ? name : undefined;
}

const addColumnRewrite = (a: AlterInfo) =>
  `rewrites the whole table ${a.table} (and its indexes) while holding an ACCESS EXCLUSIVE lock: all reads and writes wait for the rewrite`;

const onlineRewrite = (ctx: RuleContext) =>
  `Rewrite it online with pg_repack or pg_squeeze${ctx.pgVersion >= 19 ? ', or REPACK … CONCURRENTLY' : ' (or REPACK … CONCURRENTLY from PostgreSQL 19)'}; a plain VACUUM does not block reads or writes.`;

const severityBelow = (ctx: RuleContext): Severity => (ctx.severity === 'warning' ? 'info' : ctx.severity);

export const lockingRules: Rule[] = [
  {
    id: 'require-concurrent-index-creation',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'CREATE INDEX without CONCURRENTLY on an existing table.',
    details:
      'A plain `CREATE INDEX` takes a **SHARE** lock on the table for the whole build: reads continue, but every INSERT, UPDATE and DELETE waits until the index is built — minutes to hours on a large table. The table is not rewritten and no data is lost.\n\n' +
      '`CREATE INDEX CONCURRENTLY` takes only SHARE UPDATE EXCLUSIVE (writes continue) at the cost of two table scans. It cannot run inside a transaction block (in Bulwark, mark the section `-- migrate:up transaction:false`) and, if it fails, leaves an INVALID index to drop before retrying. ' +
      'Indexes on tables created earlier in the same section are not flagged. On a partitioned table, create the index `ON ONLY` the parent, build each partition\'s index CONCURRENTLY and `ALTER INDEX … ATTACH PARTITION` them.',
    bad: 'CREATE INDEX users_email_idx ON users (email);',
    good: '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
    types: ['IndexStmt'],
    check(ctx) {
      const ix = as<{ idxname?: string; relation?: Rel; concurrent?: boolean; unique?: boolean }>(ctx.stmt.node, 'IndexStmt');
      if (!ix || ix.concurrent || !ix.relation || ix.relation.inh !== true || ctx.state.isNew(ix.relation)) return;
      const kw = keyword(ctx, 'index');
      if (!kw) return;
      const table = relationName(ix.relation);
      const create = `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX`;
      const edits = concurrentFixEdits(ctx);
      const fixes: Fix[] = edits
        ? [{ title: edits.length ? `Use ${create} CONCURRENTLY (and run this section without a transaction)` : `Use ${create} CONCURRENTLY`, edits: [{ start: kw.end, end: kw.end, text: ' CONCURRENTLY' }, ...edits] }]
        : [];
      ctx.report({
        message: withAdvice(
          `${create}${ix.idxname ? ` ${ix.idxname}` : ''} on existing table ${table} takes a SHARE lock for the whole build: every INSERT, UPDATE and DELETE on ${table} waits until the index is built. Use ${create} CONCURRENTLY, which lets writes continue`,
          noTransactionAdvice(ctx, `${create} CONCURRENTLY`),
        ),
        start: kw.start,
        end: kw.end,
        fixes,
      });
    },
  },
  {
    id: 'require-concurrent-index-deletion',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'DROP INDEX without CONCURRENTLY.',
    details:
      'A plain `DROP INDEX` takes an **ACCESS EXCLUSIVE** lock on the index\'s table: every read and write of the table waits while the drop waits for running queries and runs. No data is lost (only the index).\n\n' +
      'Use `DROP INDEX CONCURRENTLY`: it waits for conflicting transactions without blocking new ones. It accepts a single index, no CASCADE, and cannot run inside a transaction block (in Bulwark, `-- migrate:up transaction:false`). Indexes created earlier in the same section are not flagged.',
    bad: 'DROP INDEX users_email_idx;',
    good: '-- migrate:up transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;',
    types: ['DropStmt'],
    check(ctx) {
      const d = as<{ removeType?: string; objects?: unknown[]; concurrent?: boolean; behavior?: string }>(ctx.stmt.node, 'DropStmt');
      if (!d || d.removeType !== 'OBJECT_INDEX' || d.concurrent) return;
      const all = (d.objects ?? []).map((o) => names(as<{ items?: unknown[] }>(o, 'List')?.items)).filter((n) => n.length > 0);
      const existing = all.filter((n) => !ctx.state.isNew(n.join('.')));
      if (existing.length === 0) return;
      const kw = keyword(ctx, 'index');
      if (!kw) return;
      const list = existing.map((n) => n.join('.')).join(', ');
      const cascade = d.behavior === 'DROP_CASCADE';
      const edits = all.length === 1 && !cascade ? concurrentFixEdits(ctx) : undefined;
      const limits = all.length > 1 ? '; it drops one index per statement, so split this DROP' : cascade ? '; it does not support CASCADE' : '';
      ctx.report({
        message: withAdvice(
          `DROP INDEX ${list} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table: all reads and writes of that table wait while the drop waits for running queries and runs. Use DROP INDEX CONCURRENTLY${limits}`,
          noTransactionAdvice(ctx, 'DROP INDEX CONCURRENTLY'),
        ),
        start: kw.start,
        end: kw.end,
        fixes: edits ? [{ title: edits.length ? 'Use DROP INDEX CONCURRENTLY (and run this section without a transaction)' : 'Use DROP INDEX CONCURRENTLY', edits: [{ start: kw.end, end: kw.end, text: ' CONCURRENTLY' }, ...edits] }] : [],
      });
    },
  },
  {
    id: 'require-concurrent-reindex',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'REINDEX without CONCURRENTLY.',
    details:
      'A plain `REINDEX` locks out writes to the table (**SHARE**) and takes **ACCESS EXCLUSIVE** on each index being rebuilt. Since the planner locks every index of a table, this blocks nearly every query on the table, reads included, until the rebuild finishes. No data is lost.\n\n' +
      'From PostgreSQL 12, `REINDEX … CONCURRENTLY` rebuilds without blocking reads or writes (it cannot run inside a transaction block: in Bulwark, `-- migrate:up transaction:false`). Before 12 there is no concurrent form: build a replacement with `CREATE INDEX CONCURRENTLY` and drop the old index concurrently (reported as info). Indexes and tables created earlier in the same section are not flagged.',
    bad: 'REINDEX INDEX users_email_idx;',
    good: '-- migrate:up transaction:false\nREINDEX INDEX CONCURRENTLY users_email_idx;',
    types: ['ReindexStmt'],
    check(ctx) {
      const r = as<{ kind?: string; relation?: Rel; name?: string; params?: unknown[] }>(ctx.stmt.node, 'ReindexStmt');
      if (!r || hasOption(r.params, 'concurrently')) return;
      const kind = REINDEX_KINDS[r.kind ?? ''];
      if (!kind) return;
      if ((kind === 'INDEX' || kind === 'TABLE') && ctx.state.isNew(r.relation)) return;
      const ts = toks(ctx);
      const kw = ts.find((t) => t.nesting === 0 && isWord(t, kind.toLowerCase()));
      if (!kw) return;
      const target = r.relation ? relationName(r.relation) : r.name ?? '';
      const scope = kind === 'INDEX' ? `index ${target}` : kind === 'TABLE' ? `table ${target}` : kind === 'SCHEMA' ? `every table of schema ${target}` : 'every table of the database';
      const what = `REINDEX ${kind}${target ? ` ${target}` : ''} locks out writes (SHARE lock) and takes ACCESS EXCLUSIVE on the indexes it rebuilds — which blocks nearly every query, reads included (the planner locks every index of a table) — on ${scope} until the rebuild finishes`;
      if (ctx.pgVersion < 12) {
        ctx.report({
          message: `${what}. PostgreSQL ${ctx.pgVersion} has no REINDEX CONCURRENTLY (it arrived in 12): run it in a low-traffic window, or build a replacement with CREATE INDEX CONCURRENTLY and drop the old index with DROP INDEX CONCURRENTLY.`,
          start: kw.start,
          end: kw.end,
          severity: severityBelow(ctx),
        });
        return;
      }
      const edits = concurrentFixEdits(ctx);
      ctx.report({
        message: withAdvice(`${what}. Use REINDEX ${kind} CONCURRENTLY, which does not block reads or writes`, noTransactionAdvice(ctx, 'REINDEX CONCURRENTLY')),
        start: kw.start,
        end: kw.end,
        fixes: edits ? [{ title: edits.length ? `Use REINDEX ${kind} CONCURRENTLY (and run this section without a transaction)` : `Use REINDEX ${kind} CONCURRENTLY`, edits: [{ start: kw.end, end: kw.end, text: ' CONCURRENTLY' }, ...edits] }] : [],
      });
    },
  },
  {
    id: 'require-concurrent-detach',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER TABLE … DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+).',
    details:
      '`DETACH PARTITION` takes an **ACCESS EXCLUSIVE** lock on the partitioned (parent) table: every read and write of every partition waits while it waits for running queries and runs. No data is lost (the partition becomes a standalone table).\n\n' +
      'From PostgreSQL 14, `DETACH PARTITION … CONCURRENTLY` takes only SHARE UPDATE EXCLUSIVE on the parent. It cannot run inside a transaction block (in Bulwark, `-- migrate:up transaction:false`) and is not allowed when the table has a default partition; if interrupted, finish it with `DETACH PARTITION … FINALIZE`. Silent below PostgreSQL 14 and for tables created earlier in the same section.',
    bad: 'ALTER TABLE measurements DETACH PARTITION measurements_2020;',
    good: '-- migrate:up transaction:false\nALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;',
    types: ['AlterTableStmt'],
    check(ctx) {
      if (ctx.pgVersion < 14) return;
      const a = alterTable(ctx);
      if (!a || a.isNew) return;
      for (const cmd of a.cmds) {
        if (cmd?.subtype !== 'AT_DetachPartition') continue;
        const p = as<PartitionCmdNode>(cmd.def, 'PartitionCmd');
        if (!p || p.concurrent) continue;
        const kw = keyword(ctx, 'detach');
        const ts = toks(ctx);
        const last = ts[ts.length - 1];
        if (!kw || !last) continue;
        const part = relationName(p.name);
        const edits = a.cmds.length === 1 ? concurrentFixEdits(ctx) : undefined;
        ctx.report({
          message: withAdvice(
            `DETACH PARTITION ${part} takes an ACCESS EXCLUSIVE lock on the partitioned table ${a.table}: all reads and writes of ${a.table} (every partition) wait while it waits for running queries and runs. Use DETACH PARTITION ${part} CONCURRENTLY (PostgreSQL 14+; only SHARE UPDATE EXCLUSIVE, not allowed when ${a.table} has a default partition)`,
            noTransactionAdvice(ctx, 'DETACH PARTITION … CONCURRENTLY'),
          ),
          start: kw.start,
          end: kw.end,
          fixes: edits ? [{ title: edits.length ? 'Use DETACH PARTITION … CONCURRENTLY (and run this section without a transaction)' : 'Use DETACH PARTITION … CONCURRENTLY', edits: [{ start: last.end, end: last.end, text: ' CONCURRENTLY' }, ...edits] }] : [],
        });
      }
    },
  },
  {
    id: 'concurrently-in-transaction',
    category: 'locking',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY or DETACH PARTITION CONCURRENTLY inside a transaction.',
    details:
      'These statements cannot run inside a transaction block (nor inside a DO block or function): PostgreSQL rejects them with "… cannot run inside a transaction block", so the migration fails at this statement.\n\n' +
      'In Bulwark, mark the section `-- migrate:up transaction:false` (the quick fix does this) and keep the statement outside any BEGIN … COMMIT; with other tools, use their no-transaction option for this migration. This is reported whether or not the table is new: the statement fails either way.',
    bad: '-- migrate:up\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
    good: '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
    types: ['IndexStmt', 'DropStmt', 'ReindexStmt', 'AlterTableStmt'],
    check(ctx) {
      if (!ctx.stmt.inTransaction) return;
      const node = ctx.stmt.node;
      let what: string | undefined;
      let at: { start: number; end: number } | undefined;
      switch (ctx.stmt.type) {
        case 'IndexStmt':
          if (as<{ concurrent?: boolean }>(node, 'IndexStmt')?.concurrent) what = 'CREATE INDEX CONCURRENTLY';
          break;
        case 'DropStmt': {
          const d = as<{ removeType?: string; concurrent?: boolean }>(node, 'DropStmt');
          if (d?.concurrent && d.removeType === 'OBJECT_INDEX') what = 'DROP INDEX CONCURRENTLY';
          break;
        }
        case 'ReindexStmt': {
          const opt = hasOption(as<{ params?: unknown[] }>(node, 'ReindexStmt')?.params, 'concurrently');
          if (opt) {
            what = 'REINDEX CONCURRENTLY';
            at = rangeAt(ctx, opt.location);
          }
          break;
        }
        case 'AlterTableStmt':
          for (const cmd of alterTable(ctx, false)?.cmds ?? []) {
            if (cmd?.subtype === 'AT_DetachPartition' && as<PartitionCmdNode>(cmd.def, 'PartitionCmd')?.concurrent) what = 'ALTER TABLE … DETACH PARTITION … CONCURRENTLY';
          }
          break;
      }
      if (!what) return;
      const kw = at ?? keyword(ctx, 'concurrently') ?? stmtStartRange(ctx);
      const fail = ctx.stmt.embedded
        ? `${what} cannot be executed inside a DO block or function: the migration fails at this statement`
        : `${what} cannot run inside a transaction block: the migration fails at this statement`;
      let advice: string;
      const fixes: Fix[] = [];
      if (ctx.stmt.embedded) advice = 'move it out of the DO block, into a section marked transaction:false';
      else if (ctx.state.explicitTx) advice = 'move it out of the BEGIN … COMMIT (in Bulwark, into a section marked transaction:false)';
      else if (ctx.section.marker && ctx.section.transaction) {
        advice = 'mark this section transaction:false (quick fix) so Bulwark runs it without a transaction';
        fixes.push({ title: 'Run this section without a transaction (transaction:false)', edits: ctx.markerNoTransactionEdit() });
      } else advice = 'run this migration without a transaction (your migration tool\'s no-transaction option, or Bulwark\'s "-- migrate:up transaction:false")';
      ctx.report({ message: `${fail}. Fix: ${advice}.`, start: kw.start, end: kw.end, fixes });
    },
  },
  {
    id: 'constraint-missing-not-valid',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ADD FOREIGN KEY / CHECK constraint on an existing table without NOT VALID (or inline REFERENCES/CHECK in ADD COLUMN).',
    details:
      'Adding a constraint validates every existing row while the lock is held: a **FOREIGN KEY** takes SHARE ROW EXCLUSIVE on the table *and* on the referenced table (writes to both wait for the whole scan); a **CHECK** takes ACCESS EXCLUSIVE (reads and writes wait). Nothing is rewritten and no data is lost, but on a large table the scan takes minutes.\n\n' +
      'Add it `NOT VALID` (new and updated rows are checked at once; the lock is brief), then run `ALTER TABLE … VALIDATE CONSTRAINT …` in a **later migration** (a separate transaction): validation takes only SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes. A constraint written inline in `ADD COLUMN` cannot be NOT VALID: add the column, then the constraint separately (the quick fix rewrites it that way). Before PostgreSQL 18, a NOT VALID foreign key cannot be added to a partitioned table: add it to each partition instead. Tables created earlier in the same section are not flagged.',
    bad: 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
    good: 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;',
    types: ['AlterTableStmt'],
    check(ctx) {
      const a = alterTable(ctx);
      if (!a || a.isNew) return;
      for (let i = 0; i < a.cmds.length; i++) {
        const cmd = a.cmds[i];
        if (cmd?.subtype === 'AT_AddConstraint') {
          const con = constraintOf(cmd.def);
          if (!con || con.skip_validation || (con.contype !== 'CONSTR_FOREIGN' && con.contype !== 'CONSTR_CHECK')) continue;
          const fk = con.contype === 'CONSTR_FOREIGN';
          const name = con.conname;
          const ref = fk ? relationName(con.pktable) : '';
          const later = `then run ALTER TABLE ${sqlName(a)} VALIDATE CONSTRAINT ${name ? quoteIdent(name) : '<name>'} in a later migration (a separate transaction: VALIDATE takes only SHARE UPDATE EXCLUSIVE and blocks neither reads nor writes)${name ? '' : '; name the constraint (ADD CONSTRAINT name …) so you can validate it'}`;
          const message = fk
            ? `ADD ${name ? `CONSTRAINT ${name} ` : ''}FOREIGN KEY on existing table ${a.table} checks every row while holding SHARE ROW EXCLUSIVE locks on ${a.table} and on the referenced table ${ref}: writes to both tables wait for the whole scan. Add it NOT VALID (only new rows are checked, the locks are brief), ${later}.`
            : `ADD ${name ? `CONSTRAINT ${name} ` : ''}CHECK on existing table ${a.table} scans every row while holding an ACCESS EXCLUSIVE lock: all reads and writes of ${a.table} wait for the whole scan. Add it NOT VALID (only new rows are checked, the lock is brief), ${later}.`;
          const seg = segments(ctx, a)?.[i];
          ctx.report({
            message,
            ...rangeAt(ctx, con.location),
            fixes: seg ? [ctx.insert('Add NOT VALID (validate in a later migration)', seg.end, ' NOT VALID')] : [],
          });
          continue;
        }
        if (cmd?.subtype !== 'AT_AddColumn') continue;
        const col = columnDefOf(cmd.def);
        const colCons = col?.constraints;
        if (!colCons) continue;
        for (let k = 0; k < colCons.length; k++) {
          const con = constraintOf(colCons[k]);
          if (!con || !col?.colname || con.skip_validation || (con.contype !== 'CONSTR_FOREIGN' && con.contype !== 'CONSTR_CHECK')) continue;
          const fk = con.contype === 'CONSTR_FOREIGN';
          const colName = col.colname;
          const conName = con.conname ?? defaultConstraintName(bare(a.table), colName, fk ? 'fkey' : 'check');
          const message = fk
            ? `ADD COLUMN ${colName} … REFERENCES ${relationName(con.pktable)} on existing table ${a.table} validates every row while holding SHARE ROW EXCLUSIVE locks on ${a.table} and ${relationName(con.pktable)} (writes to both wait), and an inline REFERENCES cannot be NOT VALID. Add the column, then ADD CONSTRAINT ${quoteIdent(conName)} FOREIGN KEY (${quoteIdent(colName)}) REFERENCES … NOT VALID, and VALIDATE CONSTRAINT ${quoteIdent(conName)} in a later migration (separate transaction; no blocking lock).`
            : `ADD COLUMN ${colName} … CHECK on existing table ${a.table} scans every row while holding an ACCESS EXCLUSIVE lock (all reads and writes wait), and an inline CHECK cannot be NOT VALID. Add the column, then ADD CONSTRAINT ${quoteIdent(conName)} CHECK (…) NOT VALID, and VALIDATE CONSTRAINT ${quoteIdent(conName)} in a later migration (separate transaction; no blocking lock).`;
          const fixes: Fix[] = [];
          const seg = segments(ctx, a)?.[i];
          const ext = seg && !cmd.missing_ok ? inlineConstraintExtent(ctx, seg, col, k) : undefined;
          const bodyStart = ext?.toks.find((t) => isWord(t, fk ? 'references' : 'check'));
          if (seg && ext && bodyStart) {
            const given = isWord(ext.toks[0], 'constraint') && ext.toks[1] ? ctx.text.slice(ext.toks[1].start, ext.toks[1].end) : quoteIdent(conName);
            const body = ctx.text.slice(bodyStart.start, ext.end);
            const colText = identText(ctx, col.location, colName);
            const clause = fk ? `FOREIGN KEY (${colText}) ${body}` : body;
            fixes.push({
              title: 'Add the constraint separately, NOT VALID (validate in a later migration)',
              edits: [
                { start: ext.removeFrom, end: ext.end, text: '' },
                { start: seg.end, end: seg.end, text: `, ADD CONSTRAINT ${given} ${clause} NOT VALID` },
              ],
            });
          }
          ctx.report({ message, ...rangeAt(ctx, con.location), fixes });
        }
      }
    },
  },
  {
    id: 'validate-in-same-transaction',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'VALIDATE CONSTRAINT in the same transaction that added the constraint NOT VALID.',
    details:
      '`ADD CONSTRAINT … NOT VALID` is cheap because it skips the scan, but its lock (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key) is held until the transaction ends. Validating in the same transaction runs the full scan while that lock is still held — reads and/or writes wait exactly as if NOT VALID had not been used.\n\n' +
      'Run `VALIDATE CONSTRAINT` in the next migration (a separate transaction), where it takes only SHARE UPDATE EXCLUSIVE. Not flagged for tables created earlier in the same section.',
    bad: 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;',
    good: 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;',
    types: ['AlterTableStmt', 'TransactionStmt'],
    check(ctx) {
      if (ctx.stmt.type === 'TransactionStmt') {
        const txn = as<{ kind?: string }>(ctx.stmt.node, 'TransactionStmt');
        if (txn?.kind && TX_END.has(txn.kind)) notValidAddedInTx.get(ctx.state).clear();
        return;
      }
      const a = alterTable(ctx);
      if (!a || !ctx.stmt.inTransaction) return;
      const mine = notValidAddedInTx.get(ctx.state);
      if (!a.isNew && mine.size > 0) {
        for (let i = 0; i < a.cmds.length; i++) {
          const cmd = a.cmds[i];
          if (cmd?.subtype !== 'AT_ValidateConstraint' || !cmd.name) continue;
          const key = `${a.table}/${cmd.name}`;
          if (!ctx.state.notValidInTx.has(key) || !mine.has(key)) continue;
          const seg = segments(ctx, a)?.[i];
          const nameTok = seg?.toks.find((t, j) => j > 0 && isWord(seg.toks[j - 1], 'constraint') && t.value === cmd.name);
          ctx.report({
            message: `VALIDATE CONSTRAINT ${cmd.name} runs in the same transaction that added it NOT VALID: the lock taken by that ADD CONSTRAINT (ACCESS EXCLUSIVE for a CHECK; SHARE ROW EXCLUSIVE on both tables for a foreign key) is still held during the validating scan of ${a.table}, so NOT VALID gains nothing. Move the VALIDATE to the next migration (a separate transaction), where it takes only SHARE UPDATE EXCLUSIVE.`,
            ...(nameTok ? { start: nameTok.start, end: nameTok.end } : stmtStartRange(ctx)),
          });
        }
      }
      for (const cmd of a.cmds) {
        const con = cmd?.subtype === 'AT_AddConstraint' ? constraintOf(cmd.def) : undefined;
        if (con?.skip_validation && con.conname) mine.add(`${a.table}/${con.conname}`);
      }
    },
  },
  {
    id: 'unique-constraint-without-index',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ADD UNIQUE / PRIMARY KEY without USING INDEX, or ADD EXCLUDE, on an existing table.',
    details:
      'Adding a UNIQUE or PRIMARY KEY constraint builds its index while holding an **ACCESS EXCLUSIVE** lock: every read and write of the table waits for the whole build (and the statement fails if duplicates exist). No data is rewritten or lost.\n\n' +
      'Build the index first with `CREATE UNIQUE INDEX CONCURRENTLY` (outside a transaction), then attach it: `ALTER TABLE … ADD CONSTRAINT name UNIQUE USING INDEX name` (or `PRIMARY KEY USING INDEX`), which only takes a brief lock. A primary key also needs its columns NOT NULL: make them NOT NULL first without a scan (see set-not-null). Exclusion constraints have no such path: their index is always built under ACCESS EXCLUSIVE, so add them in a low-traffic window with a lock_timeout. Tables created earlier in the same section are not flagged.',
    bad: 'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
    good: '-- migrate:up transaction:false\nCREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;',
    types: ['AlterTableStmt'],
    check(ctx) {
      const a = alterTable(ctx);
      if (!a || a.isNew) return;
      for (const cmd of a.cmds) {
        if (cmd?.subtype === 'AT_AddConstraint') {
          const con = constraintOf(cmd.def);
          if (!con) continue;
          if ((con.contype === 'CONSTR_UNIQUE' || con.contype === 'CONSTR_PRIMARY') && !con.indexname) {
            const named = con.conname ? `CONSTRAINT ${con.conname} ` : '';
            const kind = con.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY';
            ctx.report({
              message: `ADD ${named}${kind} on existing table ${a.table} builds its unique index while holding an ACCESS EXCLUSIVE lock: all reads and writes of ${a.table} wait for the whole build (and it fails if duplicates exist). Instead: ${suggestUniqueIndex(a, kind, names(con.keys), con.conname)}.`,
              ...rangeAt(ctx, con.location),
            });
          } else if (con.contype === 'CONSTR_EXCLUSION') {
            const named = con.conname ? `CONSTRAINT ${con.conname} ` : '';
            ctx.report({
              message: `ADD ${named}EXCLUDE on existing table ${a.table} builds its index while holding an ACCESS EXCLUSIVE lock: all reads and writes of ${a.table} wait for the whole build. Exclusion constraints have no CONCURRENTLY or USING INDEX path: add it in a low-traffic window with a short lock_timeout, or while the table is still small.`,
              ...rangeAt(ctx, con.location),
            });
          }
        } else if (cmd?.subtype === 'AT_AddColumn') {
          const col = columnDefOf(cmd.def);
          for (const c of col?.constraints ?? []) {
            const con = constraintOf(c);
            if (!con || !col?.colname || (con.contype !== 'CONSTR_UNIQUE' && con.contype !== 'CONSTR_PRIMARY')) continue;
            const kind = con.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY';
            ctx.report({
              message: `ADD COLUMN ${col.colname} … ${kind} on existing table ${a.table} builds a unique index while holding an ACCESS EXCLUSIVE lock: all reads and writes of ${a.table} wait for the whole build. Instead: add the column without ${kind}, then ${suggestUniqueIndex(a, kind, [col.colname], con.conname)}.`,
              ...rangeAt(ctx, con.location),
            });
          }
        }
      }
    },
  },
  {
    id: 'set-not-null',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER COLUMN … SET NOT NULL on an existing table (without a validated CHECK (col IS NOT NULL)).',
    details:
      '`SET NOT NULL` takes an **ACCESS EXCLUSIVE** lock and scans the whole table to prove there are no NULLs: every read and write waits for the scan (and the statement fails if a NULL exists). Nothing is rewritten.\n\n' +
      'From PostgreSQL 12 the scan is skipped when a validated `CHECK (col IS NOT NULL)` constraint exists. So: `ADD CONSTRAINT t_col_not_null CHECK (col IS NOT NULL) NOT VALID`; in a later migration `VALIDATE CONSTRAINT` (no blocking lock); then `SET NOT NULL` (instant) and `DROP CONSTRAINT t_col_not_null`. From PostgreSQL 18, `ADD CONSTRAINT … NOT NULL col NOT VALID` followed by a later `VALIDATE CONSTRAINT` does the same directly. Before 12 SET NOT NULL always scans: keep the validated CHECK instead. ' +
      'Silent for tables created earlier in the same section, and on PostgreSQL 12+ when a validated CHECK (col IS NOT NULL) was added earlier in the file.',
    bad: 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
    good: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n-- next migration:\nALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\n-- next migration:\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;',
    types: ['AlterTableStmt'],
    check(ctx) {
      const a = alterTable(ctx);
      if (!a) return;
      const memory = notNullConstraints.get(ctx.state);
      for (const cmd of a.cmds) {
        if (cmd?.subtype !== 'AT_AddConstraint') continue;
        const con = constraintOf(cmd.def);
        if (con?.contype !== 'CONSTR_NOTNULL' || !con.skip_validation || !con.conname) continue;
        const col = names(con.keys)[0];
        if (!col) continue;
        memory.pending.set(`${a.table}/${con.conname}`, col);
      }
      if (a.isNew) return;
      for (let i = 0; i < a.cmds.length; i++) {
        const cmd = a.cmds[i];
        if (cmd?.subtype === 'AT_ValidateConstraint' && cmd.name) {
          const col = memory.pending.get(`${a.table}/${cmd.name}`);
          if (col) memory.validated.add(`${a.table}/${col}`);
          continue;
        }
        let column: string | undefined;
        let con: ConstraintNode | undefined;
        if (cmd?.subtype === 'AT_SetNotNull' && cmd.name) {
          column = cmd.name;
        } else if (cmd?.subtype === 'AT_AddConstraint') {
          con = constraintOf(cmd.def);
          if (con?.contype !== 'CONSTR_NOTNULL' || con.skip_validation) continue;
          column = names(con.keys)[0];
        }
        if (!column) continue;
        if (memory.validated.has(`${a.table}/${column}`)) continue;
        if (ctx.pgVersion >= 12 && (ctx.state.notNullChecks.has(`${a.table}/${column}`) || ctx.state.notNullChecks.has(`${bare(a.table)}/${column}`))) continue;
        let range: { start: number; end: number } | undefined;
        if (con) range = rangeAt(ctx, con.location);
        else {
          const seg = segments(ctx, a)?.[i];
          const t = seg?.toks.find((x, j) => j > 0 && (x.kind === 'word' || x.kind === 'quoted') && x.value === column && !isWord(x, 'alter', 'column'));
          range = t ? { start: t.start, end: t.end } : undefined;
        }
        const ck = quoteIdent(defaultConstraintName(bare(a.table), column, 'not_null'));
        const c = quoteIdent(column);
        const base = `SET NOT NULL on column ${column} of existing table ${a.table} takes an ACCESS EXCLUSIVE lock and scans the whole table for NULLs: all reads and writes of ${a.table} wait for the scan.`;
        const message =
          ctx.pgVersion >= 12
            ? `${base} Instead: ALTER TABLE ${sqlName(a)} ADD CONSTRAINT ${ck} CHECK (${c} IS NOT NULL) NOT VALID; in a later migration VALIDATE CONSTRAINT ${ck} (no blocking lock); then SET NOT NULL (no scan on PostgreSQL 12+ thanks to the validated CHECK) and DROP CONSTRAINT ${ck}.${ctx.pgVersion >= 18 ? ` On PostgreSQL 18+ you can also ADD CONSTRAINT ${ck} NOT NULL ${c} NOT VALID, then VALIDATE CONSTRAINT ${ck} in a later migration.` : ''}`
            : `${base} Before PostgreSQL 12 SET NOT NULL always scans, even with a validated CHECK: keep a CHECK (${c} IS NOT NULL) constraint instead (ADD … NOT VALID, then VALIDATE in a later migration), or run this in a low-traffic window.`;
        ctx.report({ message, ...(range ?? stmtStartRange(ctx)) });
      }
    },
  },
  {
    id: 'add-column-volatile-default',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ADD COLUMN with a volatile DEFAULT (or any DEFAULT before PostgreSQL 11) on an existing table.',
    details:
      'Since PostgreSQL 11, `ADD COLUMN … DEFAULT` with a constant or STABLE expression (`0`, `\'x\'`, `now()`, `CURRENT_TIMESTAMP`) is instant: the value is computed once and stored in the catalog. A **volatile** default (`gen_random_uuid()`, `random()`, `clock_timestamp()`, `nextval()`, …) must be computed per row, so the whole table is **rewritten** under an **ACCESS EXCLUSIVE** lock: every read and write waits for the rewrite. Before PostgreSQL 11, any non-NULL default rewrites the table.\n\n' +
      'Instead: add the column without a default, `ALTER COLUMN … SET DEFAULT …` (applies to new rows only), then backfill existing rows in batches (the quick fix does the first two steps; existing rows stay NULL until backfilled). Functions the linter does not know are reported as *may be volatile*: if they are declared IMMUTABLE or STABLE there is no rewrite. Tables created earlier in the same section are not flagged.',
    bad: 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    good: 'ALTER TABLE users ADD COLUMN token uuid, ALTER COLUMN token SET DEFAULT gen_random_uuid();\n-- then backfill in batches:\nUPDATE users SET token = gen_random_uuid() WHERE id BETWEEN 1 AND 10000 AND token IS NULL;',
    types: ['AlterTableStmt'],
    check(ctx) {
      const a = alterTable(ctx);
      if (!a || a.isNew) return;
      for (let i = 0; i < a.cmds.length; i++) {
        const cmd = a.cmds[i];
        if (cmd?.subtype !== 'AT_AddColumn') continue;
        const col = columnDefOf(cmd.def);
        const raw = col?.constraints;
        if (!raw || !col.colname) continue;
        let k = -1;
        let def: ConstraintNode | undefined;
        for (let j = 0; j < raw.length; j++) {
          const c = constraintOf(raw[j]);
          if (c?.contype === 'CONSTR_DEFAULT') {
            k = j;
            def = c;
            break;
          }
        }
        if (!def?.raw_expr) continue;
        if (as<{ isnull?: boolean }>(def.raw_expr, 'A_Const')?.isnull) continue;
        const vol = defaultVolatility(def.raw_expr);
        const old = ctx.pgVersion < 11;
        if (!old && vol.kind === 'ok') continue;
        const cons = raw.map(constraintOf);
        const seg = segments(ctx, a)?.[i];
        const ext = seg ? inlineConstraintExtent(ctx, seg, col, k) : undefined;
        const exprText = ext && ext.toks.length > 1 ? ctx.text.slice(ext.toks[1].start, ext.end) : undefined;
        const shown = exprText ?? 'the expression';
        const column = col.colname;
        const notNull = cons.some((c) => c?.contype === 'CONSTR_NOTNULL' || c?.contype === 'CONSTR_PRIMARY');
        const instead = `Instead: add the column${notNull ? ' nullable and' : ''} without a default, then ALTER COLUMN ${quoteIdent(column)} SET DEFAULT ${shown} (new rows only), and backfill existing rows in batches${notNull ? '; then make it NOT NULL without a long lock (see set-not-null)' : ''}.`;
        let message: string;
        let range: { start: number; end: number };
        if (old && vol.kind === 'ok') {
          message = `ADD COLUMN ${column} with a DEFAULT on PostgreSQL ${ctx.pgVersion} (before 11) rewrites the whole table ${a.table} while holding an ACCESS EXCLUSIVE lock: all reads and writes wait for the rewrite. ${instead}`;
          range = rangeAt(ctx, def.location);
        } else {
          const fn = vol.fn === 'a subquery' ? 'a subquery' : `${vol.fn}()`;
          const why = vol.kind === 'volatile' ? `${fn} is volatile (a different value per row)` : `${fn} may be volatile (if it is not declared IMMUTABLE or STABLE, it is evaluated per row)`;
          message = `ADD COLUMN ${column} with DEFAULT ${shown}: ${why}, so the whole table ${a.table} is rewritten while holding an ACCESS EXCLUSIVE lock — all reads and writes wait for the rewrite. ${instead}`;
          range = vol.location !== undefined ? rangeAt(ctx, vol.location) : rangeAt(ctx, def.location);
        }
        const blockers = cons.some((c) => c && c !== def && c.contype !== 'CONSTR_NULL');
        const fixes: Fix[] =
          seg && ext && exprText && !blockers && !cmd.missing_ok
            ? [
                {
                  title: 'Add the column without a default, then SET DEFAULT (existing rows stay NULL: backfill them in batches)',
                  edits: [
                    { start: ext.removeFrom, end: ext.end, text: '' },
                    { start: seg.end, end: seg.end, text: `, ALTER COLUMN ${identText(ctx, col.location, column)} SET DEFAULT ${exprText}` },
                  ],
                },
              ]
            : [];
        ctx.report({ message, ...range, fixes });
      }
    },
  },
  {
    id: 'add-column-rewrite',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ADD COLUMN of type serial, GENERATED … AS IDENTITY or GENERATED … STORED on an existing table.',
    details:
      'These columns need a value computed for every existing row (a sequence value, or the generation expression), so PostgreSQL **rewrites the whole table** (and its indexes) while holding an **ACCESS EXCLUSIVE** lock: every read and write waits for the rewrite. No data is lost.\n\n' +
      'Instead: add a plain nullable column and backfill it in batches — for a serial/identity column, create the sequence and `SET DEFAULT nextval(…)` for new rows (or, once the column is backfilled and NOT NULL, `ALTER COLUMN … ADD GENERATED BY DEFAULT AS IDENTITY` and `setval` past the largest value); for a stored generated column, keep the value up to date with a trigger, or on PostgreSQL 18+ use a VIRTUAL generated column (computed on read, no rewrite). Tables created earlier in the same section are not flagged.',
    bad: 'ALTER TABLE events ADD COLUMN seq bigserial;',
    good: 'CREATE SEQUENCE events_seq_seq;\nALTER TABLE events ADD COLUMN seq bigint, ALTER COLUMN seq SET DEFAULT nextval(\'events_seq_seq\');\n-- then backfill existing rows in batches',
    types: ['AlterTableStmt'],
    check(ctx) {
      const a = alterTable(ctx);
      if (!a || a.isNew) return;
      for (const cmd of a.cmds) {
        if (cmd?.subtype !== 'AT_AddColumn') continue;
        const col = columnDefOf(cmd.def);
        if (!col?.colname) continue;
        const serial = serialType(col.typeName);
        if (serial === undefined && !col.constraints) continue;
        if (serial !== undefined) {
          const t = { name: serial };
          const seq = quoteIdent(defaultConstraintName(bare(a.table), col.colname, 'seq'));
          ctx.report({
            message: `ADD COLUMN ${col.colname} ${t.name} fills every existing row from a sequence, so it ${addColumnRewrite(a)}. Instead: CREATE SEQUENCE ${seq}; add the column as a plain nullable ${t.name === 'bigserial' || t.name === 'serial8' ? 'bigint' : t.name === 'smallserial' || t.name === 'serial2' ? 'smallint' : 'integer'} with ALTER COLUMN ${quoteIdent(col.colname)} SET DEFAULT nextval('${seq.replace(/'/g, "''")}') for new rows, then backfill existing rows in batches.`,
            ...rangeAt(ctx, col.typeName?.location),
          });
          continue;
        }
        for (const c of col.constraints ?? []) {
          const con = constraintOf(c);
          if (con?.contype === 'CONSTR_IDENTITY') {
            ctx.report({
              message: `ADD COLUMN ${col.colname} … GENERATED AS IDENTITY assigns a value to every existing row, so it ${addColumnRewrite(a)}. Instead: add a plain nullable bigint column, backfill it in batches, make it NOT NULL (via a validated CHECK, see set-not-null), then ALTER COLUMN ${quoteIdent(col.colname)} ADD GENERATED BY DEFAULT AS IDENTITY and setval its sequence past the largest value.`,
              ...rangeAt(ctx, con.location),
            });
          } else if (con?.contype === 'CONSTR_GENERATED' && con.generated_kind === 's') {
            ctx.report({
              message: `ADD COLUMN ${col.colname} … GENERATED ALWAYS AS (…) STORED computes and stores the value for every existing row, so it ${addColumnRewrite(a)}. Instead: ${ctx.pgVersion >= 18 ? 'use a VIRTUAL generated column (PostgreSQL 18+: computed on read, no rewrite), or ' : ''}add a plain nullable column kept up to date by a trigger and backfill it in batches.`,
              ...rangeAt(ctx, con.location),
            });
          }
        }
      }
    },
  },
  {
    id: 'column-type-change',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER COLUMN … TYPE on an existing table (unless a known binary-coercible change).',
    details:
      'Changing a column\'s type usually **rewrites the whole table and rebuilds its indexes** while holding an **ACCESS EXCLUSIVE** lock: every read and write waits for the rewrite (minutes to hours on a large table). A `USING` clause always rewrites. It can also break application code that expects the old type.\n\n' +
      'Binary-coercible changes do not rewrite (only a brief lock): `varchar(n)` → `varchar(m ≥ n)`, `varchar` or `text`; `text` → `varchar`; `numeric(p,s)` → `numeric(p2 ≥ p, s)` or `numeric`; `varbit(n)` → `varbit(m ≥ n)`; `cidr` → `inet`. The linter knows the current type when the column was created earlier in the same file; otherwise it reports the change and lists these safe cases. ' +
      'For other changes: add a new column, keep it in sync (trigger), backfill in batches, and switch over in later migrations. Tables created earlier in the same section are not flagged.',
    bad: 'ALTER TABLE events ALTER COLUMN id TYPE bigint;',
    good: 'ALTER TABLE users ALTER COLUMN name TYPE varchar(200); -- was varchar(100): no rewrite',
    types: ['AlterTableStmt', 'CreateStmt', 'RenameStmt'],
    check(ctx) {
      const types = knownTypes(ctx);
      try {
        const a = alterTable(ctx);
        if (!a || a.isNew) return;
        for (const cmd of a.cmds) {
          if (cmd?.subtype !== 'AT_AlterColumnType' || !cmd.name) continue;
          const def = columnDefOf(cmd.def);
          if (!def?.typeName) continue;
          const to = typeInfo(def.typeName);
          const from = knownType(types, `${bare(a.table)}/${cmd.name}`);
          const using = def.raw_default !== undefined;
          if (!using && !def.collClause && from && noRewrite(from, to)) continue;
          const rewrite = `rewrites the whole table ${a.table} and rebuilds its indexes while holding an ACCESS EXCLUSIVE lock: all reads and writes of ${a.table} wait for the rewrite`;
          const instead = 'Instead: add a new column, keep it in sync with a trigger, backfill it in batches, and switch over in a later migration.';
          let message: string;
          if (using) message = `ALTER COLUMN ${cmd.name} TYPE ${showType(to)} USING … ${rewrite}. ${instead}`;
          else if (from) message = `ALTER COLUMN ${cmd.name} TYPE ${showType(to)} (from ${showType(from)}) ${rewrite}. ${instead}`;
          else if (SAFE_TARGETS.has(to.name) && !to.array)
            message = `ALTER COLUMN ${cmd.name} TYPE ${showType(to)} ${rewrite} — unless it is a binary-coercible change (varchar(n) → varchar(m ≥ n), varchar or text; text → varchar; numeric(p,s) → numeric(p2 ≥ p, s) or numeric; varbit(n) → varbit(m ≥ n); cidr → inet), which only takes a brief lock. The current type of ${cmd.name} is not known here: check it. ${instead}`;
          else message = `ALTER COLUMN ${cmd.name} TYPE ${showType(to)} ${rewrite}. ${instead}`;
          ctx.report({ message, ...rangeAt(ctx, def.location) });
        }
      } finally {
        rememberTypes(ctx, types);
      }
    },
  },
  {
    id: 'require-lock-timeout',
    category: 'locking',
    defaultSeverity: 'warning',
    summary: 'A statement that takes a blocking lock on an existing table with no lock_timeout set first.',
    details:
      'DDL such as ALTER TABLE, CREATE INDEX (without CONCURRENTLY), DROP, TRUNCATE, RENAME, REINDEX, CLUSTER, VACUUM FULL, CREATE TRIGGER or LOCK TABLE needs an ACCESS EXCLUSIVE, SHARE or SHARE ROW EXCLUSIVE lock. If it has to wait — behind a long-running query, a long transaction, autovacuum — it sits in the lock queue, and **every later query on the table that conflicts with it queues behind it** (all queries for ACCESS EXCLUSIVE, all writes for SHARE): a few seconds of waiting become an outage.\n\n' +
      'Set `lock_timeout` first (`SET LOCAL lock_timeout = \'5s\'` inside a transaction, `SET lock_timeout` outside), so the statement gives up quickly and the migration can be retried. Reported once per section, at the first such statement; silent when the environment configures lockTimeout (the runner sets it) and for tables created earlier in the section.',
    bad: 'ALTER TABLE users ADD COLUMN nickname text;',
    good: "SET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN nickname text;",
    // No `types`: the quick fix inserts the SET before the section's first statement, whatever its type
    // (the runner numbers the statements it judges from 0 in each section).
    check(ctx) {
      const stmt = ctx.stmt;
      const mem = lockTimeoutMemory.get(ctx);
      if (stmt.index === 0 && mem.first === undefined) mem.first = stmt.start;
      if (ctx.state.lockTimeoutSet || mem.reported || !LOCK_TYPE_SET.has(stmt.type ?? '')) return;
      const lock = locksTaken(ctx).find((l) => isStrong(l.mode));
      if (!lock) return;
      mem.reported = true;
      const text = ctx.text;
      // The start of the statement's line, above the comment lines right over it (they may be
      // `-- bulwark-ignore` comments that must stay next to their statement), never above the marker.
      const lineStart = (at: number) => {
        let ls = text.lastIndexOf('\n', at - 1) + 1;
        if (text.slice(ls, at).trim() !== '') return at;
        while (ls > ctx.section.start) {
          const prev = text.lastIndexOf('\n', ls - 2) + 1;
          if (prev < ctx.section.start || !text.slice(prev, ls).trim().startsWith('--')) break;
          ls = prev;
        }
        return ls;
      };
      let at: number;
      let set: string;
      if (ctx.state.explicitTx) {
        at = lineStart(ctx.stmt.start);
        set = "SET LOCAL lock_timeout = '5s';\n";
      } else {
        at = lineStart(mem.first ?? ctx.stmt.start);
        set = ctx.stmt.inTransaction ? "SET LOCAL lock_timeout = '5s';\n" : "SET lock_timeout = '5s';\n";
      }
      const queued = lock.mode === 'ACCESS EXCLUSIVE' ? `every later query on ${lock.table} — reads too — queues behind it` : `every later write to ${lock.table} queues behind it`;
      ctx.report({
        message: `${lock.what} needs ${lock.mode.startsWith('A') ? 'an' : 'a'} ${lock.mode} lock on existing table ${lock.table} and no lock_timeout is set: if it has to wait for the lock (behind a long query or transaction), ${queued} until it gets the lock — an outage. Set a lock_timeout first (${set.trim()}) so it fails fast and can be retried. (Reported once per section.)`,
        ...lockRange(ctx, lock),
        fixes: [ctx.insert(`Insert ${set.trim()}`, at, set)],
      });
    },
  },
  {
    id: 'lock-then-more-work',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'More work in the same transaction after a blocking lock was taken on an existing table.',
    details:
      'Locks are held until the transaction ends. Once a statement has taken ACCESS EXCLUSIVE (or SHARE) on an existing table, every later statement in the same transaction extends the time that table is blocked: a backfill, a scan, DDL on another table. Locking several tables exclusively in one transaction also risks **deadlocks** with application transactions that touch them in the other order.\n\n' +
      'Put the work on other tables (and data backfills) in separate migrations, or order the statements so the exclusive lock is taken last, just before COMMIT. Reported at the later statement, naming the locked table; tables created earlier in the section are ignored.',
    bad: 'ALTER TABLE users ADD COLUMN plan text;\nUPDATE accounts SET plan = \'free\';',
    good: '-- migration 1\nALTER TABLE users ADD COLUMN plan text;\n-- migration 2\nUPDATE accounts SET plan = \'free\';',
    types: [...LOCK_TYPES, ...DML_TYPES],
    check(ctx) {
      const m = lockAt.get(ctx.state);
      const exclusive = ctx.state.exclusiveInTx;
      if (exclusive.size === 0 && (m.seen > 0 || m.held.size > 0)) {
        // COMMIT/ROLLBACK ended the transaction: its locks are gone.
        m.byOffset.clear();
        m.held.clear();
        m.seen = 0;
      }
      if (exclusive.size !== m.seen) {
        // The framework only appends to exclusiveInTx (or clears it at COMMIT, handled above): the first
        // `seen` tables are already held.
        let k = 0;
        for (const t of exclusive.keys()) if (k++ >= m.seen) m.held.add(bare(t));
        m.seen = exclusive.size;
      }
      // Outside a transaction nothing is held and nothing is reported.
      if (!ctx.stmt.inTransaction) return;
      const locks = locksTaken(ctx);
      try {
        if (!ctx.stmt.inTransaction || exclusive.size === 0) return;
        let target: { table: string; range: { start: number; end: number }; what: string; data: boolean } | undefined;
        const data = dataTouched(ctx);
        if (data) target = { table: relationName(data.rv), range: relRange(ctx, data.rv), what: data.what, data: true };
        else {
          let other: LockTaken | undefined;
          for (const l of locks) {
            if (!m.held.has(bare(l.table))) {
              other = l;
              break;
            }
          }
          if (other) target = { table: other.table, range: lockRange(ctx, other), what: other.what, data: false };
        }
        if (!target) return;
        const shown: [string, number][] = [];
        for (const e of exclusive.entries()) {
          if (shown.length === 3) break;
          shown.push(e);
        }
        const lockOf = (table: string, offset: number) => m.byOffset.get(offset)?.find((l) => bare(l.table) === bare(table));
        const describe = ([table, offset]: [string, number]) => {
          const l = lockOf(table, offset);
          return `${l?.mode ?? 'blocking'} lock on ${table} (taken by ${l?.what ?? 'the statement'} at line ${lineOf(ctx.text, offset)})`;
        };
        const more = exclusive.size > shown.length ? ` (and ${exclusive.size - shown.length} more)` : '';
        const first = lockOf(shown[0][0], shown[0][1]);
        const blocked = first ? BLOCKED[first.mode] : 'reads and/or writes';
        const work = target.data ? `${target.what} ${DML_VERBS[target.what] ?? 'works on'} ${target.table}` : `${target.what} locks ${target.table} too`;
        ctx.report({
          message: `${work} while the ${shown.map(describe).join(' and the ')}${more} ${shown.length > 1 ? 'are' : 'is'} still held — locks last until COMMIT, so ${shown.map(([t]) => t).join(', ')}${more ? ' and the others' : ''} ${exclusive.size > 1 ? 'stay' : 'stays'} blocked (${blocked}) for as long as this statement runs${target.data ? '' : ', and holding strong locks on several tables risks deadlocks with application transactions'}. Move this statement to a separate migration, or order the statements so the blocking lock is taken last.`,
          ...target.range,
        });
      } finally {
        if (locks.length && ctx.stmt.inTransaction) {
          let all = true;
          for (const l of locks) if (!isStrong(l.mode)) all = false;
          // (The memoized list is never modified: it can be kept as it is.)
          const strong = all ? locks : locks.filter((l) => isStrong(l.mode));
          if (strong.length) {
            m.byOffset.set(ctx.stmt.start, strong);
            for (const l of strong) m.held.add(bare(l.table));
          }
        }
      }
    },
  },
  {
    id: 'vacuum-full-cluster',
    category: 'locking',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'VACUUM FULL or CLUSTER in a migration.',
    details:
      '`VACUUM FULL` and `CLUSTER` write a complete new copy of the table and its indexes while holding an **ACCESS EXCLUSIVE** lock: every read and write waits for the whole rewrite, which also needs disk space for the copy. No data is lost.\n\n' +
      'To reclaim space or reorder a table online, use the pg_repack or pg_squeeze extensions (or `REPACK … CONCURRENTLY` from PostgreSQL 19); a plain `VACUUM` does not block reads or writes. Tables created earlier in the same section are not flagged.',
    bad: 'VACUUM FULL events;',
    good: '-- outside migrations: pg_repack --table events',
    types: ['VacuumStmt', 'ClusterStmt'],
    check(ctx) {
      const v = as<{ options?: unknown[]; rels?: unknown[]; is_vacuumcmd?: boolean }>(ctx.stmt.node, 'VacuumStmt');
      if (v) {
        const full = v.is_vacuumcmd ? hasOption(v.options, 'full') : undefined;
        if (!full) return;
        const rels = (v.rels ?? []).map((r) => as<{ relation?: Rel }>(r, 'VacuumRelation')?.relation).filter((r): r is Rel => r !== undefined);
        const existing = rels.filter((r) => !ctx.state.isNew(r));
        if (rels.length && !existing.length) return;
        const what = existing.length ? existing.map(relationName).join(', ') : 'every table of the database';
        ctx.report({
          message: `VACUUM FULL rewrites ${what} (with ${existing.length === 1 ? 'its' : 'their'} indexes) while holding an ACCESS EXCLUSIVE lock: all reads and writes wait for the whole rewrite (which also needs disk space for a full copy). ${onlineRewrite(ctx)}`,
          ...rangeAt(ctx, full.location),
        });
        return;
      }
      const c = as<{ relation?: Rel }>(ctx.stmt.node, 'ClusterStmt');
      if (!c || (c.relation && ctx.state.isNew(c.relation))) return;
      const kw = keyword(ctx, 'cluster');
      const what = c.relation ? relationName(c.relation) : 'every previously clustered table';
      ctx.report({
        message: `CLUSTER rewrites ${what} and its indexes in index order while holding an ACCESS EXCLUSIVE lock: all reads and writes wait for the whole rewrite. ${onlineRewrite(ctx)}`,
        ...(kw ? { start: kw.start, end: kw.end } : stmtStartRange(ctx)),
      });
    },
  },
];
