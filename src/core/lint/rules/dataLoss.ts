import { names, RangeVar, relationName, TypeNameNode, unwrap } from '../ast';
import type { FileState, RuleContext } from '../context';
import type { Rule } from '../lint';
import { dataLossTokensOf, findWords, isKw, isName, isWord, type Token, tokenIndexAt, tokenStartingAt } from '../tokens';
import type { Fix, StatementInfo } from '../types';

/* ------------------------------------------------------------------------------------------------------
 * Performance: the linter runs on every keystroke. Every rule declares the statement `types` it judges;
 * checks start with cheap AST tests on the statement node, and the statement is only tokenized (below)
 * once something is to be reported (tokens place findings and fixes).
 * ---------------------------------------------------------------------------------------------------- */

/** The current statement's node if it is of `type` (the runner sets `stmt.type` to the node's only key). */
function stmtNode<T>(ctx: RuleContext, type: string): T | undefined {
  const s = ctx.stmt;
  return s.type === type ? ((s.node as Record<string, unknown>)[type] as T) : undefined;
}

/** `as()` without allocating: the inner object of a one-key wrapped node of the given type. */
function inner<T>(node: unknown, type: string): T | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as Record<string, unknown>)[type];
  if (v === undefined) return undefined;
  // A wrapped node has exactly one key (as `unwrap` requires).
  for (const k in node as object) if (k !== type) return undefined;
  return v as T;
}

/* ------------------------------------------------------------------------------------------------------
 * Tokens. Many AST nodes carry no location (DROP TABLE's names, DROP COLUMN's column, RENAME's old name),
 * so findings are placed with the statement's tokens (../tokens: dataLossTokensOf), which skip comments,
 * strings, quoted identifiers and dollar quotes, so a keyword inside any of those is never matched.
 * ---------------------------------------------------------------------------------------------------- */

/** `a`, `s.a`, `"S"."A"` from token i: the parts, the range, and the index after it. */
export function qualifiedNameAt(toks: Token[], i: number): { parts: string[]; start: number; end: number; next: number } | undefined {
  if (!isName(toks[i])) return undefined;
  const parts = [toks[i].value];
  let j = i + 1;
  while (toks[j]?.value === '.' && toks[j].kind === 'punct' && isName(toks[j + 1])) {
    parts.push(toks[j + 1].value);
    j += 2;
  }
  return { parts, start: toks[i].start, end: toks[j - 1].end, next: j };
}

/** Skip `IF EXISTS` / `IF NOT EXISTS` at token i. */
function skipIfExists(toks: Token[], i: number): number {
  if (!isKw(toks[i], 'if')) return i;
  if (isKw(toks[i + 1], 'exists')) return i + 2;
  if (isKw(toks[i + 1], 'not') && isKw(toks[i + 2], 'exists')) return i + 3;
  return i;
}

/**
 * The comma-separated names after a keyword sequence, e.g. `DROP TABLE [IF EXISTS] a, s.b`: their
 * ranges in order (to match the AST's objects, which carry no locations).
 */
export function namesAfter(ctx: RuleContext, keywords: string[]): { start: number; end: number; text: string }[] {
  const toks = dataLossTokensOf(ctx);
  const i = findWords(toks, keywords);
  if (i < 0) return [];
  const out: { start: number; end: number; text: string }[] = [];
  let j = skipIfExists(toks, i + keywords.length);
  for (;;) {
    const q = qualifiedNameAt(toks, j);
    if (!q) break;
    out.push({ start: q.start, end: q.end, text: ctx.text.slice(q.start, q.end) });
    if (toks[q.next]?.value !== ',' || toks[q.next].kind !== 'punct') break;
    j = q.next + 1;
  }
  return out;
}

/** The range of the (qualified) name starting at an AST location, e.g. a RangeVar's. */
export function nameRangeAt(ctx: RuleContext, location: number | undefined): { start: number; end: number } {
  const at = ctx.offset(location);
  const toks = dataLossTokensOf(ctx);
  const i = tokenStartingAt(toks, at);
  const q = i >= 0 ? qualifiedNameAt(toks, i) : undefined;
  return q ? { start: q.start, end: q.end } : ctx.wordAt(at);
}

/** The first keyword of the statement (e.g. DROP, TRUNCATE), a fallback finding range. */
function firstWord(ctx: RuleContext): { start: number; end: number } {
  const t = dataLossTokensOf(ctx)[0];
  return t ? { start: t.start, end: t.end } : { start: ctx.stmt.start, end: ctx.stmt.end };
}

/* ------------------------------------------------------------------------------------------------------
 * Identifiers and type names.
 * ---------------------------------------------------------------------------------------------------- */

const RESERVED = new Set(
  ('all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column concurrently ' +
    'constraint create cross current_catalog current_date current_role current_schema current_time current_timestamp current_user default ' +
    'deferrable desc distinct do else end except false fetch for foreign freeze from full grant group having ilike in initially inner intersect ' +
    'into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps ' +
    'placing primary references returning right select session_user similar some symmetric system_user table tablesample then to trailing true ' +
    'union unique user using variadic verbose when where window with').split(' '),
);

/** An identifier as SQL text: bare when PostgreSQL would read it back unchanged, else double-quoted. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The type is the built-in one (unqualified or pg_catalog), not a user type of the same name elsewhere. */
export function builtinType(t: TypeNameNode | undefined): string | undefined {
  if (!t) return undefined;
  // typeInfo(t).name / .schema, without building the names and modifiers arrays.
  let last: string | undefined;
  let prev: string | undefined;
  let count = 0;
  if (Array.isArray(t.names)) {
    for (const x of t.names) {
      const sval = inner<{ sval?: string }>(x, 'String')?.sval ?? '';
      if (sval === '') continue;
      prev = last;
      last = sval;
      count++;
    }
  }
  return count < 2 || prev === 'pg_catalog' ? (last ?? '') : undefined;
}

/** Where a column's type is written: the name words, the modifiers, a time-zone clause, array bounds. */
export interface TypeSpan {
  start: number;
  /** End of the type name words (`character varying`, `pg_catalog.int4`). */
  nameEnd: number;
  /** Start of the last word of the name (`json` in `pg_catalog.json`). */
  lastNameStart: number;
  /** The modifiers' text with parentheses (`(20)`), or ''. */
  mods: string;
  /** End of the base type: the name, the modifiers and `with[out] time zone`, before any array bounds. */
  baseEnd: number;
  /** End including array bounds (`[]`, `ARRAY[3]`). */
  end: number;
}

const INTERVAL_FIELDS = new Set(['year', 'month', 'day', 'hour', 'minute', 'second', 'to']);

/** A TypeName's exact text range, from its `location` (e.g. `character varying(20)[]`, `timestamp(3) without time zone`). */
export function typeSpan(ctx: RuleContext, t: TypeNameNode | undefined): TypeSpan | undefined {
  if (t?.location === undefined || t.location < 0) return undefined;
  const toks = dataLossTokensOf(ctx);
  const at = ctx.offset(t.location);
  const i = tokenStartingAt(toks, at);
  if (i < 0 || !isName(toks[i])) return undefined;
  const first = toks[i];
  let lastNameStart = first.start;
  let j: number;
  if (first.kind === 'word' && first.value === 'double' && isKw(toks[i + 1], 'precision')) {
    j = i + 2;
  } else if (isWord(first, 'character', 'char', 'nchar', 'bit', 'national')) {
    j = i + 1;
    if (first.value === 'national' && isWord(toks[j], 'character', 'char')) j++;
    if (isKw(toks[j], 'varying')) j++;
  } else {
    const q = qualifiedNameAt(toks, i);
    if (!q) return undefined;
    j = q.next;
    lastNameStart = toks[j - 1].start;
  }
  const nameEnd = toks[j - 1].end;
  if (first.kind === 'word' && first.value === 'interval') while (toks[j]?.kind === 'word' && INTERVAL_FIELDS.has(toks[j].value)) j++;
  let mods = '';
  if (toks[j]?.kind === 'punct' && toks[j].value === '(') {
    let depth = 0;
    let k = j;
    for (; k < toks.length; k++) {
      if (toks[k].kind !== 'punct') continue;
      if (toks[k].value === '(') depth++;
      else if (toks[k].value === ')' && --depth === 0) break;
    }
    if (k >= toks.length) return undefined;
    mods = ctx.text.slice(toks[j].start, toks[k].end);
    j = k + 1;
  }
  if (isWord(first, 'timestamp', 'time') && isWord(toks[j], 'with', 'without') && isWord(toks[j + 1], 'time') && isWord(toks[j + 2], 'zone')) j += 3;
  const baseEnd = toks[j - 1].end;
  // Array bounds: `[]`, `[3][4]`, `ARRAY`, `ARRAY[3]`.
  if (isKw(toks[j], 'array')) j++;
  while (toks[j]?.kind === 'punct' && toks[j].value === '[') {
    let k = j + 1;
    while (k < toks.length && !(toks[k].kind === 'punct' && toks[k].value === ']')) k++;
    if (k >= toks.length) break;
    j = k + 1;
  }
  return { start: first.start, nameEnd, lastNameStart, mods, baseEnd, end: toks[j - 1].end };
}

/* ------------------------------------------------------------------------------------------------------
 * Columns declared by a statement (CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE).
 * ---------------------------------------------------------------------------------------------------- */

export interface ConstraintNode {
  contype?: string;
  conname?: string;
  keys?: unknown[];
  raw_expr?: unknown;
  location?: number;
}

export interface ColumnDefNode {
  colname?: string;
  typeName?: TypeNameNode;
  constraints?: unknown[];
  location?: number;
}

export interface DeclaredColumn {
  where: 'create' | 'add' | 'alter-type';
  table: RangeVar | undefined;
  column: string;
  def: ColumnDefNode;
  constraints: ConstraintNode[];
  /** Part of the primary key (column constraint, or the table's PRIMARY KEY in the same CREATE TABLE). */
  primaryKey: boolean;
  /** builtinType(def.typeName): the built-in type's name, '' without a name, undefined for other types. */
  builtin: string | undefined;
}

function constraintsOf(d: ColumnDefNode): ConstraintNode[] {
  const out: ConstraintNode[] = [];
  for (const c of d.constraints ?? []) {
    const x = inner<ConstraintNode>(c, 'Constraint');
    if (x !== undefined) out.push(x);
  }
  return out;
}

function hasPrimary(cs: ConstraintNode[]): boolean {
  for (const c of cs) if (c.contype === 'CONSTR_PRIMARY') return true;
  return false;
}

const NO_COLUMNS: readonly DeclaredColumn[] = Object.freeze([]);
/** One-entry cache: the rules judging columns run one after the other on the same statement. */
let columnsOf: StatementInfo | undefined;
let columns: readonly DeclaredColumn[] = NO_COLUMNS;

/** The columns the current statement declares (computed once per statement: several rules judge them). */
export function declaredColumns(ctx: RuleContext): readonly DeclaredColumn[] {
  const stmt = ctx.stmt;
  if (stmt.type !== 'CreateStmt' && stmt.type !== 'AlterTableStmt') return NO_COLUMNS;
  if (columnsOf !== stmt) {
    columns = computeDeclaredColumns(ctx);
    columnsOf = stmt;
  }
  return columns;
}

/** Does the statement declare a column of the built-in `type`? (declaredColumns() without allocating.) */
function declaresBuiltin(ctx: RuleContext, type: string): boolean {
  const create = stmtNode<{ tableElts?: unknown[] }>(ctx, 'CreateStmt');
  if (create) {
    for (const e of create.tableElts ?? []) {
      const d = inner<ColumnDefNode>(e, 'ColumnDef');
      if (d?.colname && builtinType(d.typeName) === type) return true;
    }
  }
  const alter = stmtNode<{ cmds?: unknown[]; objtype?: string }>(ctx, 'AlterTableStmt');
  if (alter && (alter.objtype === 'OBJECT_TABLE' || alter.objtype === 'OBJECT_FOREIGN_TABLE')) {
    for (const c of alter.cmds ?? []) {
      const cmd = inner<{ subtype?: string; name?: string; def?: unknown }>(c, 'AlterTableCmd');
      if (!cmd) continue;
      const add = cmd.subtype === 'AT_AddColumn';
      if (!add && (cmd.subtype !== 'AT_AlterColumnType' || !cmd.name)) continue;
      const d = inner<ColumnDefNode>(cmd.def, 'ColumnDef');
      if (d && (!add || d.colname) && builtinType(d.typeName) === type) return true;
    }
  }
  return false;
}

function computeDeclaredColumns(ctx: RuleContext): readonly DeclaredColumn[] {
  let out: DeclaredColumn[] | undefined;
  const create = stmtNode<{ relation?: RangeVar; tableElts?: unknown[] }>(ctx, 'CreateStmt');
  if (create) {
    let pk: Set<string> | undefined;
    for (const e of create.tableElts ?? []) {
      const c = inner<ConstraintNode>(e, 'Constraint');
      if (c?.contype === 'CONSTR_PRIMARY') for (const k of names(c.keys)) (pk ??= new Set()).add(k);
    }
    for (const e of create.tableElts ?? []) {
      const d = inner<ColumnDefNode>(e, 'ColumnDef');
      if (!d?.colname) continue;
      const cs = constraintsOf(d);
      (out ??= []).push({ where: 'create', table: create.relation, column: d.colname, def: d, constraints: cs, primaryKey: pk?.has(d.colname) || hasPrimary(cs), builtin: builtinType(d.typeName) });
    }
  }
  const alter = stmtNode<{ relation?: RangeVar; cmds?: unknown[]; objtype?: string }>(ctx, 'AlterTableStmt');
  if (alter && (alter.objtype === 'OBJECT_TABLE' || alter.objtype === 'OBJECT_FOREIGN_TABLE')) {
    for (const c of alter.cmds ?? []) {
      const cmd = inner<{ subtype?: string; name?: string; def?: unknown }>(c, 'AlterTableCmd');
      if (!cmd || (cmd.subtype !== 'AT_AddColumn' && cmd.subtype !== 'AT_AlterColumnType')) continue;
      const d = inner<ColumnDefNode>(cmd.def, 'ColumnDef');
      if (!d) continue;
      if (cmd.subtype === 'AT_AddColumn' && d.colname) {
        const cs = constraintsOf(d);
        (out ??= []).push({ where: 'add', table: alter.relation, column: d.colname, def: d, constraints: cs, primaryKey: hasPrimary(cs), builtin: builtinType(d.typeName) });
      } else if (cmd.subtype === 'AT_AlterColumnType' && cmd.name) {
        (out ??= []).push({ where: 'alter-type', table: alter.relation, column: cmd.name, def: d, constraints: [], primaryKey: false, builtin: builtinType(d.typeName) });
      }
    }
  }
  return out ?? NO_COLUMNS;
}

/** A replacement of a file range (a one-edit fix). */
export function replace(title: string, start: number, end: number, text: string): Fix {
  return { title, edits: [{ start, end, text }] };
}

/* ------------------------------------------------------------------------------------------------------
 * What the section created that FileState does not track: schemas, enum types, databases, columns added
 * to existing tables, and views (for the rename-table compatibility view). Keyed by the section's
 * FileState; a statement is recorded when the next one is judged, so a statement never exempts itself.
 * The bookkeeping is done once per statement (not once per rule), and only statement types that create or
 * rename objects record anything.
 * ---------------------------------------------------------------------------------------------------- */

interface PendingRename {
  start: number;
  end: number;
  oldName: string;
  message: string;
  fixes: Fix[];
  severity: RuleContext['severity'];
}

interface Created {
  state: FileState;
  schemas: ReadonlySet<string>;
  types: ReadonlySet<string>;
  databases: ReadonlySet<string>;
  /** `table/column`, with the table bare and qualified. */
  columns: ReadonlySet<string>;
  views: ReadonlySet<string>;
  renames?: PendingRename[];
  current?: StatementInfo;
}

/** The facts of a kind a section has not recorded yet (shared: most sections record few kinds). */
const NONE: ReadonlySet<string> = new Set<string>();

/** The section's set of a kind of facts, for recording. */
function factSet(c: Created, kind: 'schemas' | 'types' | 'databases' | 'columns' | 'views'): Set<string> {
  let set = c[kind];
  if (set === NONE) c[kind] = set = new Set<string>();
  return set as Set<string>;
}

const createdBySection = new WeakMap<FileState, Created>();

function addType(c: Created, parts: string[]): void {
  if (!parts.length) return;
  const set = factSet(c, 'types');
  set.add(parts.join('.'));
  set.add(parts[parts.length - 1]);
}

function addRelation(c: Created, r: RangeVar): void {
  if (!r.relname && !r.schemaname) return;
  const set = factSet(c, 'views');
  if (r.relname) set.add(r.relname);
  if (r.schemaname && r.relname) set.add(`${r.schemaname}.${r.relname}`);
  else if (r.schemaname) set.add(r.schemaname);
}

function hasQualified(set: ReadonlySet<string>, parts: string[]): boolean {
  return parts.length > 0 && (set.has(parts.join('.')) || set.has(parts[parts.length - 1]));
}

function addColumn(c: Created, table: RangeVar | undefined, column: string): void {
  const columns = factSet(c, 'columns');
  columns.add(`${relationName(table)}/${column}`);
  if (table?.schemaname) columns.add(`${table.relname ?? '?'}/${column}`);
}

function hasColumn(c: Created, table: RangeVar | undefined, column: string): boolean {
  if (c.columns.size === 0) return false;
  return c.columns.has(`${relationName(table)}/${column}`) || (!!table?.schemaname && c.columns.has(`${table.relname ?? '?'}/${column}`));
}

/** Record what a statement created (only statement types that create or rename objects add anything). */
function record(c: Created, stmt: StatementInfo): void {
  const type = stmt.type;
  if (type === undefined) return;
  const node = (stmt.node as Record<string, unknown>)[type];
  switch (type) {
    case 'CreateSchemaStmt': {
      const schema = node as { schemaname?: string } | undefined;
      if (schema?.schemaname) factSet(c, 'schemas').add(schema.schemaname);
      return;
    }
    case 'CreateEnumStmt':
      if (node) addType(c, names((node as { typeName?: unknown[] }).typeName));
      return;
    case 'CreatedbStmt': {
      const db = node as { dbname?: string } | undefined;
      if (db?.dbname) factSet(c, 'databases').add(db.dbname);
      return;
    }
    case 'ViewStmt': {
      const view = (node as { view?: RangeVar } | undefined)?.view;
      if (view) addRelation(c, view);
      return;
    }
    case 'CreateTableAsStmt': {
      const mv = node as { into?: { rel?: RangeVar }; objtype?: string } | undefined;
      if (mv?.objtype === 'OBJECT_MATVIEW' && mv.into?.rel) addRelation(c, mv.into.rel);
      return;
    }
    case 'AlterTableStmt': {
      const alter = node as { relation?: RangeVar; cmds?: unknown[] } | undefined;
      for (const cmd of alter?.cmds ?? []) {
        const a = inner<{ subtype?: string; def?: unknown }>(cmd, 'AlterTableCmd');
        if (a?.subtype !== 'AT_AddColumn') continue;
        const d = inner<ColumnDefNode>(a.def, 'ColumnDef');
        if (d?.colname) addColumn(c, alter?.relation, d.colname);
      }
      return;
    }
    case 'RenameStmt': {
      const ren = node as { renameType?: string; relation?: RangeVar; subname?: string; newname?: string } | undefined;
      if (ren?.renameType === 'OBJECT_COLUMN' && ren.subname && ren.newname && hasColumn(c, ren.relation, ren.subname)) addColumn(c, ren.relation, ren.newname);
      if (ren?.renameType === 'OBJECT_SCHEMA' && ren.subname && ren.newname && c.schemas.has(ren.subname)) factSet(c, 'schemas').add(ren.newname);
      return;
    }
  }
}

/**
 * The section's extra "created earlier" facts, as of the start of the current statement. One tracker per
 * section, shared by every rule: the previous statement is recorded once, when a rule that reads the facts
 * first asks during a later statement (so a statement never exempts itself). The rules that read a fact
 * list the statement types that record it in their `types`, so those statements are always seen.
 */
let lastCreated: Created | undefined;

function created(ctx: RuleContext): Created {
  let c = lastCreated;
  if (c?.state !== ctx.state) {
    c = createdBySection.get(ctx.state);
    if (!c) {
      c = { state: ctx.state, schemas: NONE, types: NONE, databases: NONE, columns: NONE, views: NONE };
      createdBySection.set(ctx.state, c);
    }
    lastCreated = c;
  }
  if (c.current !== ctx.stmt) {
    if (c.current) record(c, c.current);
    c.current = ctx.stmt;
  }
  return c;
}

function columnIsNew(ctx: RuleContext, table: RangeVar | undefined, column: string): boolean {
  if (ctx.state.isNew(table)) return true;
  return hasColumn(created(ctx), table, column);
}

/* ------------------------------------------------------------------------------------------------------
 * The rules.
 * ---------------------------------------------------------------------------------------------------- */

const RUNNING_APPS = 'During a deploy the previous app version keeps running against the migrated database';

interface DropStmtNode {
  removeType?: string;
  objects?: unknown[];
  behavior?: string;
  missing_ok?: boolean;
}

/** `DROP TABLE a, s.b` objects → name parts. */
function dropObjectNames(d: DropStmtNode): string[][] {
  const out: string[][] = [];
  for (const o of d.objects ?? []) {
    const list = inner<{ items?: unknown[] }>(o, 'List');
    if (list) {
      out.push(names(list.items));
      continue;
    }
    const s = inner<{ sval?: string }>(o, 'String')?.sval;
    out.push(s ? [s] : []);
  }
  return out;
}

function rv(parts: string[]): RangeVar {
  return parts.length > 1 ? { schemaname: parts[parts.length - 2], relname: parts[parts.length - 1] } : { relname: parts[0] };
}

interface DmlNode {
  relation?: RangeVar;
  whereClause?: unknown;
  withClause?: { ctes?: unknown[] };
}

/** The statements whose data-modifying CTEs run now (the types dmlStatements looks into). */
const DML_TYPES: readonly string[] = ['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'];

/** DELETE/UPDATE statements that run now: the statement itself and data-modifying CTEs (not function or rule bodies). */
function dmlStatements(ctx: RuleContext, type: 'DeleteStmt' | 'UpdateStmt'): DmlNode[] | undefined {
  const t = ctx.stmt.type;
  return t === undefined ? undefined : collectDml(t, (ctx.stmt.node as Record<string, unknown>)[t], type, undefined);
}

/** Visit a wrapped node `{ [key]: node }`: itself if of `type`, then its WITH clause's CTEs, in order. */
function collectDml(key: string, node: unknown, type: string, out: DmlNode[] | undefined): DmlNode[] | undefined {
  if (key === type) (out ??= []).push(node as DmlNode);
  if (key === 'SelectStmt' || key === 'InsertStmt' || key === 'UpdateStmt' || key === 'DeleteStmt' || key === 'MergeStmt') {
    const ctes = (node as DmlNode | undefined)?.withClause?.ctes;
    if (ctes) {
      for (const cte of ctes) {
        const u = unwrap(inner<{ ctequery?: unknown }>(cte, 'CommonTableExpr')?.ctequery);
        if (u) out = collectDml(u[0], u[1], type, out);
      }
    }
  }
  return out;
}

/** Is a DEFAULT expression the null constant (`DEFAULT NULL`, `DEFAULT NULL::int`)? */
function isNullDefault(expr: unknown): boolean {
  const cast = inner<{ arg?: unknown }>(expr, 'TypeCast');
  if (cast) return isNullDefault(cast.arg);
  return inner<{ isnull?: boolean }>(expr, 'A_Const')?.isnull === true;
}

const NOT_NULL = ['not', 'null'];
const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

/** Range of the NOT NULL column constraint at `location` (`[CONSTRAINT name] NOT NULL`). */
function notNullRange(ctx: RuleContext, location: number | undefined): { start: number; end: number } | undefined {
  if (location === undefined) return undefined;
  const toks = dataLossTokensOf(ctx);
  const i = tokenStartingAt(toks, ctx.offset(location));
  if (i < 0) return undefined;
  const j = findWords(toks, NOT_NULL, i);
  if (j < 0 || j > i + 2) return undefined;
  return { start: toks[i].start, end: toks[j + 1].end };
}

const ENUM_TX_NOTE =
  'Before PostgreSQL 12, ALTER TYPE … ADD VALUE cannot run inside a transaction block; from 12 on it can, but the new value cannot be used (inserted, compared) until the transaction commits.';

const DROP = ['drop'];
const DROP_TABLE = ['drop', 'table'];
const DROP_SCHEMA = ['drop', 'schema'];
const DROP_DATABASE = ['drop', 'database'];
const ALTER_SCHEMA = ['alter', 'schema'];
const RENAME = ['rename'];
const RENAME_VALUE = ['rename', 'value'];
const ADD_VALUE = ['add', 'value'];
const PRIMARY_KEY = ['primary', 'key'];
const RENAMED_KINDS = new Map([
  ['OBJECT_TABLE', 'table'],
  ['OBJECT_VIEW', 'view'],
  ['OBJECT_MATVIEW', 'materialized view'],
  ['OBJECT_FOREIGN_TABLE', 'foreign table'],
]);

export const dataLossRules: Rule[] = [
  {
    id: 'ban-drop-table',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'DROP TABLE of an existing table.',
    details:
      'The table and every row in it are gone (only a backup brings them back), and running app versions that still query it fail with `relation does not exist`. DROP TABLE takes an ACCESS EXCLUSIVE lock; with CASCADE it also drops views and foreign keys that depend on it.\n\n' +
      'Instead: stop using the table in the code and deploy that first; back the data up (or rename it away and keep it for a while); drop it in a later migration. Dropping a table created earlier in the same migration is fine and not reported.',
    bad: 'DROP TABLE users;',
    good: '-- after the code no longer uses users, and a backup:\n-- bulwark-ignore ban-drop-table\nDROP TABLE users;',
    types: ['DropStmt'],
    check(ctx) {
      const d = stmtNode<DropStmtNode>(ctx, 'DropStmt');
      if (d?.removeType !== 'OBJECT_TABLE') return;
      const objects = dropObjectNames(d);
      let any = false;
      for (const parts of objects) if (parts.length && !ctx.state.isNew(rv(parts))) any = true;
      if (!any) return;
      const ranges = namesAfter(ctx, DROP_TABLE);
      objects.forEach((parts, i) => {
        if (!parts.length || ctx.state.isNew(rv(parts))) return;
        const name = parts.join('.');
        const r = ranges[i] ?? firstWord(ctx);
        ctx.report({
          message:
            `DROP TABLE ${name} deletes the table and all its rows, and running app versions that still query ${name} fail` +
            `${d.behavior === 'DROP_CASCADE' ? ' (CASCADE also drops the views and foreign keys that depend on it)' : ''}. ` +
            `Stop using ${name} in the code and deploy that first, back the data up, then drop it in a later migration.`,
          start: r.start,
          end: r.end,
        });
      });
    },
  },
  {
    id: 'ban-drop-column',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'ALTER TABLE … DROP COLUMN on an existing table.',
    details:
      'The column\'s data is lost, and running app versions that select or insert it break: ORMs usually list every column they know in SELECT and INSERT, so `column does not exist` errors start the moment the migration commits. DROP COLUMN takes an ACCESS EXCLUSIVE lock (brief: the table is not rewritten).\n\n' +
      'Instead: remove the column from the code first (e.g. mark it ignored in the ORM), deploy, then drop it in a later migration. A column added earlier in the same migration, or any column of a table created in it, is not reported.',
    bad: 'ALTER TABLE users DROP COLUMN legacy_name;',
    good: '-- once no deployed code reads or writes users.legacy_name:\n-- bulwark-ignore ban-drop-column\nALTER TABLE users DROP COLUMN legacy_name;',
    // RenameStmt: renames of added columns are tracked (see created()).
    types: ['AlterTableStmt', 'RenameStmt'],
    check(ctx) {
      created(ctx);
      const a = stmtNode<{ relation?: RangeVar; cmds?: unknown[]; objtype?: string }>(ctx, 'AlterTableStmt');
      if (!a || a.objtype !== 'OBJECT_TABLE') return;
      // Cheap AST pass first: is any dropped column reported?
      let any = false;
      for (const c of a.cmds ?? []) {
        const cmd = inner<{ subtype?: string; name?: string }>(c, 'AlterTableCmd');
        if (cmd?.subtype === 'AT_DropColumn' && cmd.name && !columnIsNew(ctx, a.relation, cmd.name)) {
          any = true;
          break;
        }
      }
      if (!any) return;
      const toks = dataLossTokensOf(ctx);
      // Search after the table name (DROP is not a reserved word: a table may be called "drop").
      let from = tokenIndexAt(toks, ctx.offset(a.relation?.location)) + 1;
      const table = relationName(a.relation);
      for (const c of a.cmds ?? []) {
        const cmd = inner<{ subtype?: string; name?: string; behavior?: string }>(c, 'AlterTableCmd');
        if (cmd?.subtype !== 'AT_DropColumn' || !cmd.name) continue;
        // Find `DROP [COLUMN] [IF EXISTS] name` for this command (commands appear in order).
        let range: { start: number; end: number } | undefined;
        for (let i = findWords(toks, DROP, from); i >= 0; i = findWords(toks, DROP, i + 1)) {
          let j = i + 1;
          if (isKw(toks[j], 'column')) j++;
          j = skipIfExists(toks, j);
          if (isName(toks[j]) && toks[j].value === cmd.name) {
            range = { start: toks[j].start, end: toks[j].end };
            from = j + 1;
            break;
          }
        }
        if (columnIsNew(ctx, a.relation, cmd.name)) continue;
        const r = range ?? nameRangeAt(ctx, a.relation?.location);
        ctx.report({
          message:
            `Dropping ${table}.${cmd.name} deletes its data, and running app versions that still select or insert ${cmd.name} fail (ORMs list every column they know)` +
            `${cmd.behavior === 'DROP_CASCADE' ? '; CASCADE also drops the views, indexes and constraints that use it' : ''}. ` +
            `Remove ${cmd.name} from the code first (ignore it in the ORM), deploy, then drop it in a later migration.`,
          start: r.start,
          end: r.end,
        });
      }
    },
  },
  {
    id: 'ban-drop-schema',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'DROP SCHEMA.',
    details:
      'With CASCADE, every table, view, function and type in the schema is dropped with all its data; without it, the statement fails if the schema is not empty. Running app versions that use the schema fail.\n\n' +
      'Instead: move or drop the objects you mean to drop explicitly (each one is then reviewed on its own), after the code stops using them; drop the empty schema last. A schema created earlier in the same migration is not reported.',
    bad: 'DROP SCHEMA reporting CASCADE;',
    good: '-- after moving or deliberately dropping its objects:\n-- bulwark-ignore ban-drop-schema\nDROP SCHEMA reporting;',
    // CreateSchemaStmt, RenameStmt: tracked schemas (see created()).
    types: ['DropStmt', 'CreateSchemaStmt', 'RenameStmt'],
    check(ctx) {
      const c = created(ctx);
      const d = stmtNode<DropStmtNode>(ctx, 'DropStmt');
      if (d?.removeType !== 'OBJECT_SCHEMA') return;
      const objects = dropObjectNames(d);
      let any = false;
      for (const parts of objects) if (parts[0] && !c.schemas.has(parts[0])) any = true;
      if (!any) return;
      const ranges = namesAfter(ctx, DROP_SCHEMA);
      const cascade = d.behavior === 'DROP_CASCADE';
      objects.forEach((parts, i) => {
        const name = parts[0];
        if (!name || c.schemas.has(name)) return;
        const r = ranges[i] ?? firstWord(ctx);
        ctx.report({
          message: cascade
            ? `DROP SCHEMA ${name} CASCADE drops every table, view, function and type in ${name} with all their data, and running app versions that use them fail. Drop the objects you mean to drop explicitly, after the code stops using them, then drop the empty schema.`
            : `DROP SCHEMA ${name} drops the schema (it fails if anything is still in it), and running app versions that use ${name} fail. Make sure nothing uses it, then drop it in a migration of its own.`,
          start: r.start,
          end: r.end,
        });
      });
    },
  },
  {
    id: 'ban-drop-database',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'DROP DATABASE.',
    details:
      'Every object and row in the database is gone, and with `WITH (FORCE)` the connected sessions are terminated. It cannot run inside a transaction block. A schema migration should never drop a database: do it by hand, deliberately, after a backup.',
    bad: 'DROP DATABASE analytics;',
    good: '-- done by hand by an operator, after a backup, not in a migration',
    // CreatedbStmt: tracked databases (see created()).
    types: ['DropdbStmt', 'CreatedbStmt'],
    check(ctx) {
      const c = created(ctx);
      const d = stmtNode<{ dbname?: string }>(ctx, 'DropdbStmt');
      if (!d?.dbname || c.databases.has(d.dbname)) return;
      const r = namesAfter(ctx, DROP_DATABASE)[0] ?? firstWord(ctx);
      ctx.report({
        message: `DROP DATABASE ${d.dbname} deletes the whole database with all its data, and every app connected to it fails. Never do this in a migration: drop it by hand, deliberately, after a backup.`,
        start: r.start,
        end: r.end,
      });
    },
  },
  {
    id: 'ban-truncate',
    category: 'data-loss',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'TRUNCATE of an existing table.',
    details:
      'TRUNCATE deletes every row at once (not MVCC-safe: concurrent transactions with an older snapshot see the table empty) and takes an ACCESS EXCLUSIVE lock, blocking reads and writes until the migration commits. In a schema migration it is almost always a mistake or a dev-only reset.\n\n' +
      'Instead: if the data really must go, back it up and ignore this rule on that statement; to remove some rows, DELETE with a WHERE, in batches. A table created earlier in the same migration is not reported. (TRUNCATE … CASCADE is reported by `ban-truncate-cascade`.)',
    bad: 'TRUNCATE audit_log;',
    good: "DELETE FROM audit_log WHERE created_at < now() - interval '90 days';",
    types: ['TruncateStmt'],
    check(ctx) {
      const t = stmtNode<{ relations?: unknown[]; behavior?: string }>(ctx, 'TruncateStmt');
      if (!t || t.behavior === 'DROP_CASCADE') return;
      for (const r of t.relations ?? []) {
        const rel = inner<RangeVar>(r, 'RangeVar');
        if (!rel || ctx.state.isNew(rel)) continue;
        const name = relationName(rel);
        const range = nameRangeAt(ctx, rel.location);
        ctx.report({
          message: `TRUNCATE ${name} deletes all its rows and takes an ACCESS EXCLUSIVE lock (reads and writes blocked until commit). If the data must really go, back it up and suppress this deliberately; to remove some rows, DELETE with a WHERE in batches.`,
          start: range.start,
          end: range.end,
        });
      }
    },
  },
  {
    id: 'ban-truncate-cascade',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'TRUNCATE … CASCADE.',
    details:
      'CASCADE also truncates every table that has a foreign key to the named tables, recursively: tables the statement never names lose all their rows. It takes ACCESS EXCLUSIVE locks on all of them.\n\n' +
      'Instead: name every table you mean to empty (without CASCADE, TRUNCATE fails if another table references one of them, which is the safety net you want). The quick fix removes CASCADE.',
    bad: 'TRUNCATE users CASCADE;',
    good: 'TRUNCATE users, sessions;',
    types: ['TruncateStmt'],
    check(ctx) {
      const t = stmtNode<{ relations?: unknown[]; behavior?: string }>(ctx, 'TruncateStmt');
      if (!t || t.behavior !== 'DROP_CASCADE') return;
      const rels: RangeVar[] = [];
      for (const r of t.relations ?? []) {
        const rel = inner<RangeVar>(r, 'RangeVar');
        if (rel !== undefined) rels.push(rel);
      }
      if (rels.length > 0 && rels.every((r) => ctx.state.isNew(r))) return;
      const toks = dataLossTokensOf(ctx);
      let k = toks.length - 1;
      while (k >= 0 && !isKw(toks[k], 'cascade')) k--;
      const list = rels.map(relationName).join(', ');
      const fixes: Fix[] = [];
      let range = firstWord(ctx);
      if (k >= 0) {
        range = { start: toks[k].start, end: toks[k].end };
        let s = toks[k].start;
        while (s > ctx.stmt.start && /\s/.test(ctx.text[s - 1])) s--;
        fixes.push(replace('Remove CASCADE (fail instead of emptying unnamed tables)', s, toks[k].end, ''));
      }
      ctx.report({
        message: `TRUNCATE ${list} CASCADE also empties every table with a foreign key to ${list}, tables this statement does not name. Name each table you mean to empty and drop CASCADE, so TRUNCATE fails instead if another table still references them.`,
        start: range.start,
        end: range.end,
        fixes,
      });
    },
  },
  {
    id: 'delete-without-where',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'DELETE without WHERE on an existing table.',
    details:
      'Every row is deleted, and each deleted row stays locked until the migration commits, so concurrent updates of those rows wait; the dead rows bloat the table until VACUUM. Usually a missing WHERE.\n\n' +
      'Instead: add the WHERE you meant; to remove a large set, delete in batches outside the schema migration; if emptying the table is intended, use TRUNCATE deliberately. A table created earlier in the same migration is not reported.',
    bad: 'DELETE FROM sessions;',
    good: "DELETE FROM sessions WHERE expires_at < now();",
    types: DML_TYPES,
    check(ctx) {
      const dml = dmlStatements(ctx, 'DeleteStmt');
      if (!dml) return;
      for (const d of dml) {
        if (d.whereClause || !d.relation || ctx.state.isNew(d.relation)) continue;
        const name = relationName(d.relation);
        const r = nameRangeAt(ctx, d.relation.location);
        ctx.report({
          message: `DELETE without WHERE deletes every row of ${name} and keeps them all locked until the migration commits (blocking concurrent writes to them). Add the WHERE you meant, delete in batches outside the schema migration, or use TRUNCATE deliberately if emptying ${name} is the goal.`,
          start: r.start,
          end: r.end,
        });
      }
    },
  },
  {
    id: 'update-without-where',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'UPDATE without WHERE on an existing table.',
    details:
      'Every row is rewritten: a new row version for each (the table and its indexes bloat until VACUUM), a burst of WAL (replicas lag), and every row stays locked until the migration commits, so the app\'s writes to the table wait for the whole migration. A backfill inside a schema migration also keeps the DDL locks taken earlier in the transaction.\n\n' +
      'Instead: run the backfill outside the schema migration, in batches (`UPDATE … WHERE id BETWEEN …` with a commit per batch), or add the WHERE you meant. A table created earlier in the same migration is not reported.',
    bad: "UPDATE users SET status = 'active';",
    good: "UPDATE users SET status = 'active' WHERE id BETWEEN 1 AND 10000 AND status IS NULL; -- one batch, outside the DDL migration",
    types: DML_TYPES,
    check(ctx) {
      const dml = dmlStatements(ctx, 'UpdateStmt');
      if (!dml) return;
      for (const u of dml) {
        if (u.whereClause || !u.relation || ctx.state.isNew(u.relation)) continue;
        const name = relationName(u.relation);
        const r = nameRangeAt(ctx, u.relation.location);
        ctx.report({
          message: `UPDATE without WHERE rewrites every row of ${name}: table and index bloat, a WAL burst, and every row locked until the migration commits (the app's writes to ${name} wait). Run the backfill in batches outside the schema migration, or add the WHERE you meant.`,
          start: r.start,
          end: r.end,
        });
      }
    },
  },
  {
    id: 'rename-column',
    category: 'data-loss',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER TABLE … RENAME COLUMN on an existing table.',
    details:
      `${RUNNING_APPS}, and it still uses the old column name: its queries fail with \`column does not exist\` until every instance runs the new code. The rename itself is instant (ACCESS EXCLUSIVE lock, no rewrite).\n\n` +
      'Instead (expand/contract): add the new column, keep both in sync (dual writes from the app, or a trigger), backfill, switch reads, and drop the old column in a later migration; or rename only in the ORM mapping. A column added earlier in the same migration is not reported.',
    bad: 'ALTER TABLE users RENAME COLUMN name TO full_name;',
    good: 'ALTER TABLE users ADD COLUMN full_name text;\n-- dual writes or a trigger, backfill, switch reads; drop name later',
    // AlterTableStmt: added columns are tracked (see created()).
    types: ['RenameStmt', 'AlterTableStmt'],
    check(ctx) {
      created(ctx);
      const r = stmtNode<{ renameType?: string; relationType?: string; relation?: RangeVar; subname?: string; newname?: string }>(ctx, 'RenameStmt');
      if (r?.renameType !== 'OBJECT_COLUMN' || !r.subname || !r.relation) return;
      if (r.relationType !== 'OBJECT_TABLE' && r.relationType !== 'OBJECT_VIEW' && r.relationType !== 'OBJECT_MATVIEW' && r.relationType !== 'OBJECT_FOREIGN_TABLE') return;
      if (columnIsNew(ctx, r.relation, r.subname)) return;
      const toks = dataLossTokensOf(ctx);
      let range: { start: number; end: number } | undefined;
      const i = findWords(toks, RENAME, tokenIndexAt(toks, ctx.offset(r.relation.location)) + 1);
      if (i > 0) {
        const j = isKw(toks[i + 1], 'column') ? i + 2 : i + 1;
        if (isName(toks[j])) range = { start: toks[j].start, end: toks[j].end };
      }
      range ??= nameRangeAt(ctx, r.relation.location);
      const table = relationName(r.relation);
      ctx.report({
        message: `Renaming ${table}.${r.subname} to ${r.newname ?? '?'} breaks the running app version, which still uses ${r.subname} until the deploy finishes. Expand/contract instead: add ${r.newname ?? 'the new column'}, keep both in sync (dual writes or a trigger), backfill, switch the code, then drop ${r.subname} later.`,
        start: range.start,
        end: range.end,
      });
    },
  },
  {
    id: 'rename-table',
    category: 'data-loss',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER TABLE … RENAME TO on an existing table (or view).',
    details:
      `${RUNNING_APPS}, and it still queries the old name: \`relation does not exist\` errors until every instance runs the new code. The rename itself is instant (ACCESS EXCLUSIVE lock, no rewrite).\n\n` +
      'Instead: in the same migration, create a view with the old name (`CREATE VIEW old AS SELECT * FROM new`; a simple view is updatable, so old code can still read and write through it), deploy the new code, and drop the view in a later migration. The quick fix adds that view; with it, the rename is not reported. A table created earlier in the same migration is not reported.',
    bad: 'ALTER TABLE users RENAME TO customers;',
    good: 'ALTER TABLE users RENAME TO customers;\nCREATE VIEW users AS SELECT * FROM customers;',
    // ViewStmt, CreateTableAsStmt: tracked (materialized) views, which silence a rename (see finish).
    types: ['RenameStmt', 'ViewStmt', 'CreateTableAsStmt'],
    check(ctx) {
      const c = created(ctx);
      const r = stmtNode<{ renameType?: string; relation?: RangeVar; newname?: string }>(ctx, 'RenameStmt');
      const kind = r?.renameType ? RENAMED_KINDS.get(r.renameType) : undefined;
      if (!r || !kind || !r.relation?.relname || !r.newname) return;
      if (ctx.state.isNew(r.relation)) return;
      const old = relationName(r.relation);
      const toks = dataLossTokensOf(ctx);
      const at = ctx.offset(r.relation.location);
      const q = qualifiedNameAt(toks, tokenStartingAt(toks, at));
      const range = q ? { start: q.start, end: q.end } : ctx.wordAt(at);
      const oldText = ctx.text.slice(range.start, range.end);
      // The new name stays in the old one's schema: keep the schema as written.
      const schemaText = q && q.parts.length > 1 ? ctx.text.slice(q.start, toks[q.next - 1].start) : '';
      const newText = `${schemaText}${quoteIdent(r.newname)}`;
      const view = `CREATE VIEW ${oldText} AS SELECT * FROM ${newText}`;
      const terminated = ctx.text[ctx.stmt.terminatorEnd - 1] === ';';
      const fix = terminated
        ? ctx.insert(`Keep a compatibility view named ${old}`, ctx.stmt.terminatorEnd, `\n${view};`)
        : ctx.insert(`Keep a compatibility view named ${old}`, ctx.stmt.end, `;\n${view}`);
      // Reported at the end of the section: a compatibility view created after the rename silences it.
      (c.renames ??= []).push({
        start: range.start,
        end: range.end,
        oldName: r.relation.relname,
        severity: ctx.severity,
        fixes: [fix],
        message: `Renaming ${kind} ${old} to ${r.newname} breaks the running app version, which still queries ${old} until the deploy finishes. Keep a view with the old name in the same migration (${view}; it is updatable, so old code can still read and write), and drop it after the deploy.`,
      });
    },
    finish(ctx) {
      // Nothing renamed in the section: nothing to judge (and no need to record its last statement).
      if (!createdBySection.get(ctx.state)?.renames?.length) return;
      const c = created(ctx);
      for (const p of c.renames!.splice(0)) {
        if (hasQualified(c.views, [p.oldName])) continue;
        ctx.report({ message: p.message, start: p.start, end: p.end, fixes: p.fixes, severity: p.severity });
      }
    },
  },
  {
    id: 'rename-schema',
    category: 'data-loss',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER SCHEMA … RENAME TO.',
    details:
      `${RUNNING_APPS}, and it still uses the old schema name (in qualified names and in search_path): its queries fail until every instance runs the new code. Functions whose bodies name the old schema break too, since bodies are not updated.\n\n` +
      'Instead: create the new schema and move objects over time, or keep the old name; a schema created earlier in the same migration is not reported.',
    bad: 'ALTER SCHEMA billing RENAME TO payments;',
    good: '-- keep the schema name, or migrate objects to a new schema in steps',
    // CreateSchemaStmt: tracked schemas (see created()).
    types: ['RenameStmt', 'CreateSchemaStmt'],
    check(ctx) {
      const c = created(ctx);
      const r = stmtNode<{ renameType?: string; subname?: string; newname?: string }>(ctx, 'RenameStmt');
      if (r?.renameType !== 'OBJECT_SCHEMA' || !r.subname) return;
      if (c.schemas.has(r.subname)) return;
      const range = namesAfter(ctx, ALTER_SCHEMA)[0] ?? firstWord(ctx);
      ctx.report({
        message: `Renaming schema ${r.subname} to ${r.newname ?? '?'} breaks the running app version (and function bodies, search_path settings) that still use ${r.subname}. Keep the name, or create the new schema and move objects over in steps, switching the code first.`,
        start: range.start,
        end: range.end,
      });
    },
  },
  {
    id: 'rename-enum-value',
    category: 'data-loss',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'ALTER TYPE … RENAME VALUE on an existing enum.',
    details:
      `${RUNNING_APPS}, and it still reads and writes the old label: inserts fail with \`invalid input value for enum\` and comparisons with the old label stop matching.\n\n` +
      'Instead: add the new value (`ALTER TYPE … ADD VALUE`), make the code accept both, backfill the rows, switch the code to the new value, and stop using the old one (enum values cannot be dropped; recreating the type is a larger migration). An enum created earlier in the same migration is not reported.',
    bad: "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';",
    good: "ALTER TYPE order_status ADD VALUE 'dispatched' AFTER 'shipped';\n-- accept both in code, backfill, then stop writing 'shipped'",
    // CreateEnumStmt: tracked enum types (see created()).
    types: ['AlterEnumStmt', 'CreateEnumStmt'],
    check(ctx) {
      const c = created(ctx);
      const e = stmtNode<{ typeName?: unknown[]; oldVal?: string; newVal?: string }>(ctx, 'AlterEnumStmt');
      if (!e?.oldVal) return;
      const parts = names(e.typeName);
      if (hasQualified(c.types, parts)) return;
      const toks = dataLossTokensOf(ctx);
      const i = findWords(toks, RENAME_VALUE);
      const range = i >= 0 && toks[i + 2]?.kind === 'string' ? { start: toks[i + 2].start, end: toks[i + 2].end } : firstWord(ctx);
      const type = parts.join('.');
      ctx.report({
        message: `Renaming ${type} value '${e.oldVal}' to '${e.newVal ?? '?'}' breaks the running app version, which still writes and compares '${e.oldVal}'. Add '${e.newVal ?? 'the new value'}' instead, accept both in the code, backfill, then stop using '${e.oldVal}'.`,
        start: range.start,
        end: range.end,
      });
    },
  },
  {
    id: 'adding-required-field',
    category: 'data-loss',
    defaultSeverity: 'error',
    embedded: true,
    summary: 'ADD COLUMN … NOT NULL without a DEFAULT on an existing table.',
    details:
      'The new column is NULL in every existing row, so the statement fails on any non-empty table (`column … contains null values`), often only in production, where the table has rows. Even when it succeeds, running app versions that INSERT without the new column break (`null value violates not-null constraint`).\n\n' +
      'Instead: add the column nullable (or with a constant DEFAULT: from PostgreSQL 11 that is metadata-only), backfill it in batches, then add the NOT NULL safely (`CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT`, then `SET NOT NULL`). A PRIMARY KEY on a new column implies NOT NULL and fails the same way. Tables created earlier in the same migration, identity/generated/serial columns and columns with a non-null DEFAULT are not reported.',
    bad: 'ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;',
    good: 'ALTER TABLE users ADD COLUMN tenant_id bigint;\n-- backfill, then: CHECK (tenant_id IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL',
    types: ['AlterTableStmt'],
    check(ctx) {
      for (const col of declaredColumns(ctx)) {
        if (col.where !== 'add' || ctx.state.isNew(col.table)) continue;
        const cs = col.constraints;
        let nn: ConstraintNode | undefined;
        let pk: ConstraintNode | undefined;
        let exempt = false;
        for (const c of cs) {
          const t = c.contype;
          if (t === 'CONSTR_IDENTITY' || t === 'CONSTR_GENERATED' || (t === 'CONSTR_DEFAULT' && !isNullDefault(c.raw_expr))) exempt = true;
          else if (t === 'CONSTR_NOTNULL') nn ??= c;
          else if (t === 'CONSTR_PRIMARY') pk ??= c;
        }
        if (exempt || (!nn && !pk)) continue;
        const type = col.builtin;
        if (type && SERIAL_TYPES.has(type)) continue;
        const table = relationName(col.table);
        if (nn) {
          const range = notNullRange(ctx, nn.location);
          const fixes: Fix[] = [];
          if (range) {
            let s = range.start;
            while (s > ctx.stmt.start && /[ \t]/.test(ctx.text[s - 1])) s--;
            fixes.push(replace(`Add ${col.column} as nullable (backfill, then SET NOT NULL in a later migration)`, s, range.end, ''));
          }
          ctx.report({
            message: `Adding ${table}.${col.column} as NOT NULL without a DEFAULT fails on any non-empty table ("contains null values"), and running app versions that INSERT without ${col.column} break. Add it nullable (or with a constant DEFAULT), backfill, then add NOT NULL safely (CHECK … NOT VALID, VALIDATE, SET NOT NULL).`,
            ...(range ?? nameRangeAt(ctx, col.def.location)),
            fixes,
          });
        } else if (pk) {
          const toks = dataLossTokensOf(ctx);
          const i = findWords(toks, PRIMARY_KEY, tokenIndexAt(toks, ctx.offset(pk.location)));
          const range = i >= 0 ? { start: toks[i].start, end: toks[i + 1].end } : nameRangeAt(ctx, col.def.location);
          ctx.report({
            message: `Adding ${table}.${col.column} as a PRIMARY KEY without a DEFAULT makes it NOT NULL, so it fails on any non-empty table ("contains null values"). Add the column nullable (or as an identity column), backfill, then build a unique index CONCURRENTLY and add the primary key USING INDEX.`,
            ...range,
          });
        }
      }
    },
  },
  {
    id: 'prefer-jsonb',
    category: 'data-loss',
    defaultSeverity: 'warning',
    embedded: true,
    summary: 'A column of type json (use jsonb).',
    details:
      '`json` stores the text as written and reparses it on every access. It has no equality operator, so `SELECT DISTINCT`, `UNION`, `GROUP BY` and comparisons on the column fail (`could not identify an equality operator for type json`), and it cannot be indexed with GIN. `jsonb` is parsed once, compares, and indexes.\n\n' +
      'Instead: use `jsonb` (the quick fix replaces the type). Only keep `json` when you must preserve key order, duplicate keys or whitespace exactly.',
    bad: 'CREATE TABLE events (id bigint PRIMARY KEY, payload json);',
    good: 'CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb);',
    types: ['CreateStmt', 'AlterTableStmt'],
    check(ctx) {
      if (!declaresBuiltin(ctx, 'json')) return;
      for (const col of declaredColumns(ctx)) {
        if (col.builtin !== 'json') continue;
        const span = typeSpan(ctx, col.def.typeName);
        const range = span ? { start: span.start, end: span.end } : nameRangeAt(ctx, col.def.location);
        const table = relationName(col.table);
        ctx.report({
          message: `${table}.${col.column} is json: it has no equality operator (DISTINCT, UNION, GROUP BY on it fail), cannot be GIN-indexed and is reparsed on every access. Use jsonb.`,
          ...range,
          ...(span ? { fixes: [replace('Use jsonb', span.lastNameStart, span.nameEnd, 'jsonb')] } : {}),
        });
      }
    },
  },
  {
    id: 'enum-value-without-position',
    category: 'data-loss',
    defaultSeverity: 'info',
    embedded: true,
    summary: 'ALTER TYPE … ADD VALUE without BEFORE or AFTER.',
    details:
      'The value is appended at the end, and an enum\'s declaration order is its sort order: `ORDER BY`, `<`, `>`, `min()`/`max()` on the column all use it. Appending is right only if the new value really sorts last.\n\n' +
      `Say where it goes with \`BEFORE 'x'\` or \`AFTER 'x'\`. ${ENUM_TX_NOTE}`,
    bad: "ALTER TYPE order_status ADD VALUE 'cancelled';",
    good: "ALTER TYPE order_status ADD VALUE 'cancelled' AFTER 'pending';",
    types: ['AlterEnumStmt'],
    check(ctx) {
      const e = stmtNode<{ typeName?: unknown[]; oldVal?: string; newVal?: string; newValNeighbor?: string }>(ctx, 'AlterEnumStmt');
      if (!e?.newVal || e.oldVal !== undefined || e.newValNeighbor !== undefined) return;
      const type = names(e.typeName).join('.');
      const toks = dataLossTokensOf(ctx);
      const i = findWords(toks, ADD_VALUE);
      const j = i >= 0 ? skipIfExists(toks, i + 2) : -1;
      const range = j >= 0 && toks[j]?.kind === 'string' ? { start: toks[j].start, end: toks[j].end } : firstWord(ctx);
      const old = ctx.pgVersion < 12 && ctx.stmt.inTransaction ? ` On PostgreSQL ${ctx.pgVersion} ADD VALUE also cannot run inside a transaction block.` : '';
      ctx.report({
        message: `'${e.newVal}' is appended at the end of ${type}, which makes it sort after every existing value (ORDER BY, <, >). Add BEFORE '…' or AFTER '…' to place it; the new value is not usable until this transaction commits.${old}`,
        start: range.start,
        end: range.end,
      });
    },
  },
];
