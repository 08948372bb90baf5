import { names, RangeVar, relationName } from '../ast';
import type { FileState, RuleContext } from '../context';
import type { Rule } from '../lint';
import { parseSql } from '../parser';
import { isKw, type Lexer, lexerOf, nameEnd, type Token, tokenIndexAt, tokensOf } from '../tokens';
import type { Fix, StatementInfo } from '../types';

const IDEMPOTENCY_WHY =
  'A migration that fails part-way and is retried, or runs against a database where the object already exists (a baseline, a hotfix applied by hand), fails again on this statement.';

/** Short form for messages. */
const RETRY = 'a retry after a partial run (or a database where it already exists) fails here';
const RETRY_DROP = 'a retry after a partial run (or a database where it is already gone) fails here';

/** Idempotency matters most outside a transaction, where a failed run leaves earlier statements applied. */
function idempotencySeverity(ctx: RuleContext) {
  return ctx.stmt.inTransaction && ctx.severity === 'warning' ? 'info' : ctx.severity;
}

// ---------------------------------------------------------------------------------------------------
// Token helpers. Rules need keyword positions (where to insert `IF NOT EXISTS`, what to underline) and
// the AST only has locations for some nodes: they read the statement's tokens (../tokens), mostly lazily
// (lexerOf), so a rule that only needs the first keywords of a long statement does not tokenize the rest.
// ---------------------------------------------------------------------------------------------------

/** Index of the first token at or after `from` that is the word `w` at `depth`, or -1. */
function findKw(lx: Lexer, from: number, depth: number, w: string): number {
  for (let i = Math.max(0, from); ; i++) {
    const t = lx.get(i);
    if (!t) return -1;
    if (t.depth === depth && t.kind === 'word' && t.value === w) return i;
  }
}

/** Index of the token starting at (or the first one after) a file offset, or -1. */
function tokenAt(lx: Lexer, offset: number): number {
  for (let i = 0; ; i++) {
    const t = lx.get(i);
    if (!t) return -1;
    if (t.start >= offset) return i;
  }
}

/** nameEnd() on the lazy tokens. */
function nameEndAt(lx: Lexer, i: number): number {
  if (i < 0 || !lx.get(i)) return i;
  let j = i + 1;
  for (;;) {
    const dot = lx.get(j);
    const next = lx.get(j + 1);
    if (dot?.value === '.' && dot.kind === 'punct' && next && (next.kind === 'word' || next.kind === 'quoted')) j += 2;
    else return j;
  }
}

/** The keyword sequence `seq` as the first match of seq[0] at depth 0 after token 0 (`CREATE … <seq>`). */
function keywordSeq(lx: Lexer, seq: readonly string[]): { i: number; e: number; start: number; end: number } | undefined {
  const i = findKw(lx, 1, 0, seq[0]);
  if (i < 0) return undefined;
  for (let k = 1; k < seq.length; k++) if (!isKw(lx.get(i + k), seq[k])) return undefined;
  return { i, e: i + seq.length, start: lx.get(i)!.start, end: lx.get(i + seq.length - 1)!.end };
}

/** The token ranges of ALTER TABLE's comma-separated actions, in order (`cmds[i]` ↔ result[i]). */
export function alterSegments(ctx: RuleContext, relation: RangeVar | undefined): { from: number; to: number }[] {
  const tokens = tokensOf(ctx);
  let i = relation?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(relation.location)) : -1;
  if (i < 0) return [];
  i = nameEnd(tokens, i);
  if (tokens[i]?.value === '*') i++;
  const out: { from: number; to: number }[] = [];
  let from = i;
  for (let j = i; j < tokens.length; j++) {
    if (tokens[j].depth === 0 && tokens[j].kind === 'punct' && tokens[j].value === ',') {
      out.push({ from, to: j });
      from = j + 1;
    }
  }
  out.push({ from, to: tokens.length });
  return out;
}

/** Source text from the start of token i to the end of token j-1. */
export function sourceOf(ctx: RuleContext, tokens: Token[], i: number, j: number): string {
  if (i < 0 || j <= i || j > tokens.length) return '';
  return ctx.text.slice(tokens[i].start, tokens[j - 1].end);
}

/** sourceOf() on the lazy tokens. */
function sourceAt(ctx: RuleContext, lx: Lexer, i: number, j: number): string {
  if (i < 0 || j <= i || !lx.get(j - 1)) return '';
  return ctx.text.slice(lx.get(i)!.start, lx.get(j - 1)!.end);
}

/**
 * Keep a fix only if the statement still parses after it (a safety net: a fix must never produce invalid
 * SQL). Edits must lie inside the statement's range.
 *
 * It costs a parse per fix, so the rules call it only for the rare shapes they cannot prove valid: the
 * common fixes insert keywords at a place where the grammar allows them whatever follows (`CREATE TABLE`
 * + `IF NOT EXISTS`, checked against the exact keyword sequence and the AST), see `proven()`; the tests
 * apply each of those fixes and re-parse the result.
 */
export function validated(ctx: RuleContext, fix: Fix | undefined): Fix | undefined {
  if (!fix) return undefined;
  const base = ctx.stmt.start;
  const src = ctx.parsedText || ctx.stmt.text;
  let out = src;
  for (const e of [...fix.edits].sort((a, b) => b.start - a.start)) {
    const s = e.start - base;
    const en = e.end - base;
    if (s < 0 || en > src.length || en < s) return fix; // outside the statement: cannot check here
    out = out.slice(0, s) + e.text + out.slice(en);
  }
  const parsed = parseSql(out, ctx.cacheParses);
  return parsed.ok ? fix : undefined;
}

/** A fix whose validity the caller proved from the statement's shape (`ok`), else checked by parsing. */
export function proven(ctx: RuleContext, fix: Fix, ok: boolean): Fix | undefined {
  return ok ? fix : validated(ctx, fix);
}

/** Leading whitespace of the line holding `offset`, if only whitespace precedes it there. */
export function indentBefore(text: string, offset: number): string | undefined {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(before) ? before : undefined;
}

/** Insert a whole statement before the current one, on its own line when the current one starts a line. */
function insertStatementBefore(ctx: RuleContext, title: string, sql: string): Fix {
  const indent = indentBefore(ctx.text, ctx.stmt.start);
  return ctx.insert(title, ctx.stmt.start, indent === undefined ? `${sql}; ` : `${sql};\n${indent}`);
}

/**
 * Whether tokens [i, j) are plain names (`a`, `"A"`, `s.t`) whose text is the same in the file and in the
 * parsed text (no psql variable): copied into a guard statement (`DROP POLICY IF EXISTS <name> ON <table>`)
 * they parse wherever the original statement accepted them (same grammar categories).
 */
function plainNames(ctx: RuleContext, lx: Lexer, i: number, j: number): boolean {
  if (i < 0 || j <= i) return false;
  for (let k = i; k < j; k++) {
    const t = lx.get(k);
    if (!t) return false;
    if (t.kind === 'quoted' ? ctx.text.charCodeAt(t.start) !== 34 : t.kind !== 'word' && !(t.kind === 'punct' && t.value === '.')) return false;
  }
  return sameAsParsed(ctx, lx.get(i)!.start, lx.get(j - 1)!.end);
}

/** The file text of a range equals the parsed text (psql variables are masked in the latter). */
export function sameAsParsed(ctx: RuleContext, start: number, end: number): boolean {
  const p = ctx.parsedText;
  if (!p || p === ctx.stmt.text) return true;
  const base = ctx.stmt.start;
  return ctx.text.slice(start, end) === p.slice(start - base, end - base);
}

/**
 * A guard statement inserted before the current one. Validating it with the current statement (as
 * `validated` would) is the same as parsing the guard alone: the current statement parses, and the guard is
 * lexically closed (whole tokens) and ends with ';'. Plain names need no parse at all.
 */
function guardFix(ctx: RuleContext, drop: string, plain: boolean): Fix | undefined {
  const fix = insertStatementBefore(ctx, `Add ${drop} before it`, drop);
  return plain || parseSql(drop, ctx.cacheParses).ok ? fix : undefined;
}

function bare(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

/** names(list).join('.') without the intermediate arrays. */
function qualified(list: unknown): string {
  if (!Array.isArray(list)) return '';
  let out = '';
  for (const x of list) {
    const sv = node<{ sval?: string }>(x, 'String')?.sval;
    if (sv) out = out ? `${out}.${sv}` : sv;
  }
  return out;
}

/** A RangeVar with its persistence ('t' = temporary: gone with the session, so never a retry problem). */
type Rel = RangeVar & { relpersistence?: string };
const isTemp = (rv: Rel | undefined) => rv?.relpersistence === 't';

/**
 * The inner object of a wrapped node of the given type (`{ Type: {...} }`), like `as()` without its
 * Object.keys allocation (libpg-query wraps every node in an object with exactly one key).
 */
function node<T>(n: unknown, type: string): T | undefined {
  return n !== null && typeof n === 'object' ? ((n as Record<string, unknown>)[type] as T | undefined) : undefined;
}

/** The current statement's inner node (rules with `types` know which type it is). */
function stmtNode<T>(ctx: RuleContext): T {
  return (ctx.stmt.node as Record<string, unknown>)[ctx.stmt.type!] as T;
}

// ---------------------------------------------------------------------------------------------------
// Guards seen earlier in the section: `DROP POLICY IF EXISTS p ON t` before `CREATE POLICY p ON t`, etc.
// FileState is per section and sections are linted one after the other, so the memo belongs to the last
// FileState seen (a framework hook for rule-private state would be cleaner).
// ---------------------------------------------------------------------------------------------------

interface GuardMemo {
  dropped: Set<string>;
}
let guardState: FileState | undefined;
let guardLast: GuardMemo = { dropped: new Set() };

function guardMemo(state: FileState): GuardMemo {
  if (guardState !== state) {
    guardState = state;
    guardLast = { dropped: new Set() };
  }
  return guardLast;
}

const guardKey = (kind: string, table: string, name: string) => `${kind}:${bare(table)}/${name}`;

/** Record the policy, trigger and type drops of a DROP statement. */
function recordDrops(memo: GuardMemo, drop: { removeType?: string; objects?: unknown[] }): void {
  const kind = drop.removeType;
  if (kind !== 'OBJECT_POLICY' && kind !== 'OBJECT_TRIGGER' && kind !== 'OBJECT_TYPE') return;
  for (const o of drop.objects ?? []) {
    if (kind === 'OBJECT_TYPE') {
      const n = names(node<{ names?: unknown[] }>(o, 'TypeName')?.names);
      if (n.length) memo.dropped.add(guardKey('type', '', n[n.length - 1]));
    } else {
      const n = names(node<{ items?: unknown[] }>(o, 'List')?.items);
      if (n.length >= 2) memo.dropped.add(guardKey(kind === 'OBJECT_POLICY' ? 'policy' : 'trigger', n[n.length - 2], n[n.length - 1]));
    }
  }
}

function recordAlterDrops(memo: GuardMemo, table: string, cmds: unknown[]): void {
  for (const c of cmds) {
    const cmd = node<{ subtype?: string; name?: string }>(c, 'AlterTableCmd');
    if (cmd?.subtype === 'AT_DropConstraint' && cmd.name) memo.dropped.add(guardKey('constraint', table, cmd.name));
  }
}

// ---------------------------------------------------------------------------------------------------
// Relations created earlier in *this* section. FileState.isNew() also counts, in a down section, what the
// up section created (nothing is lost by dropping it), but for idempotency only a creation that the retry
// itself re-runs makes a later DROP or INSERT repeatable. The rules that use it list the creating statement
// types (CREATED_TYPES) in their `types`, so they see every statement that can add a name.
// ---------------------------------------------------------------------------------------------------

const CREATED_TYPES = ['CreateStmt', 'CreateTableAsStmt', 'CreateSeqStmt', 'ViewStmt', 'IndexStmt', 'RenameStmt'] as const;

interface CreatedMemo {
  names: Set<string>;
  pending?: StatementInfo;
}
let createdState: FileState | undefined;
let createdLast: CreatedMemo = { names: new Set() };

function addCreated(memo: CreatedMemo, name: string): void {
  memo.names.add(name);
  memo.names.add(bare(name));
}

/** Record what a statement created (relations, sequences, views, indexes; tables renamed from new ones). */
function recordCreated(memo: CreatedMemo, p: StatementInfo): void {
  const v = p.type ? (p.node as Record<string, Record<string, unknown>> | undefined)?.[p.type] : undefined;
  if (!v) return;
  switch (p.type) {
    case 'CreateStmt':
      if (v.relation) addCreated(memo, relationName(v.relation as RangeVar));
      return;
    case 'CreateTableAsStmt': {
      const rel = (v.into as { rel?: RangeVar } | undefined)?.rel;
      if (rel) addCreated(memo, relationName(rel));
      return;
    }
    case 'CreateSeqStmt':
      if (v.sequence) addCreated(memo, relationName(v.sequence as RangeVar));
      return;
    case 'ViewStmt':
      if (v.view) addCreated(memo, relationName(v.view as RangeVar));
      return;
    case 'IndexStmt': {
      const ix = v as { idxname?: string; relation?: RangeVar };
      if (ix.idxname) addCreated(memo, ix.relation?.schemaname ? `${ix.relation.schemaname}.${ix.idxname}` : ix.idxname);
      return;
    }
    case 'RenameStmt': {
      const r = v as { relation?: RangeVar; renameType?: string; newname?: string };
      if (r.renameType === 'OBJECT_TABLE' && r.newname && (memo.names.has(relationName(r.relation)) || memo.names.has(r.relation?.relname ?? ''))) memo.names.add(r.newname);
      return;
    }
  }
}

/** Whether a relation was created by an earlier statement of the current section. */
function createdInSection(ctx: RuleContext, name: string | undefined): boolean {
  if (createdState !== ctx.state) {
    createdState = ctx.state;
    createdLast = { names: new Set() };
  }
  const memo = createdLast;
  if (memo.pending && memo.pending !== ctx.stmt) recordCreated(memo, memo.pending);
  memo.pending = ctx.stmt;
  if (!name) return false;
  return memo.names.has(name) || memo.names.has(bare(name));
}

// ---------------------------------------------------------------------------------------------------

const DROP_KEYWORDS: Record<string, string[] | undefined> = {
  OBJECT_TABLE: ['table'],
  OBJECT_INDEX: ['index'],
  OBJECT_VIEW: ['view'],
  OBJECT_MATVIEW: ['materialized', 'view'],
  OBJECT_SEQUENCE: ['sequence'],
  OBJECT_SCHEMA: ['schema'],
  OBJECT_TYPE: ['type'],
  OBJECT_DOMAIN: ['domain'],
  OBJECT_FUNCTION: ['function'],
  OBJECT_PROCEDURE: ['procedure'],
  OBJECT_TRIGGER: ['trigger'],
  OBJECT_POLICY: ['policy'],
  OBJECT_EXTENSION: ['extension'],
  OBJECT_RULE: ['rule'],
};
/** `DROP <KEYWORDS>` for messages, per removeType. */
const DROP_WHAT: Record<string, string> = {};
for (const [k, v] of Object.entries(DROP_KEYWORDS)) DROP_WHAT[k] = `DROP ${v!.join(' ').toUpperCase()}`;
const RELATION_DROPS = new Set(['OBJECT_TABLE', 'OBJECT_INDEX', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_SEQUENCE']);

function dropObjectName(removeType: string, o: unknown): string {
  const list = node<{ items?: unknown[] }>(o, 'List');
  if (list) {
    if (removeType === 'OBJECT_TRIGGER' || removeType === 'OBJECT_POLICY' || removeType === 'OBJECT_RULE') {
      const n = names(list.items);
      return n.length >= 2 ? `${n[n.length - 1]} ON ${n.slice(0, -1).join('.')}` : n.join('.');
    }
    return qualified(list.items);
  }
  const tn = node<{ names?: unknown[] }>(o, 'TypeName');
  if (tn) return qualified(tn.names);
  const fn = node<{ objname?: unknown[] }>(o, 'ObjectWithArgs');
  if (fn) return qualified(fn.objname);
  return node<{ sval?: string }>(o, 'String')?.sval ?? '?';
}

function dropRelation(o: unknown): string | undefined {
  return qualified(node<{ items?: unknown[] }>(o, 'List')?.items) || undefined;
}

interface AlterCmd {
  subtype?: string;
  name?: string;
  def?: unknown;
  missing_ok?: boolean;
}
interface AlterTable {
  relation?: RangeVar;
  cmds?: unknown[];
  objtype?: string;
}

/** ALTER TABLE / ALTER FOREIGN TABLE (not ALTER TYPE, whose ADD/DROP ATTRIBUTE has other keywords). */
const isTableAlter = (a: AlterTable) => a.objtype === 'OBJECT_TABLE' || a.objtype === 'OBJECT_FOREIGN_TABLE';

/** `CREATE [UNLOGGED] <kw>`: the object keyword at token 1 (or 2 after UNLOGGED when allowed). */
function plainCreate(lx: Lexer, kwIndex: number, unlogged: boolean): boolean {
  return isKw(lx.get(0), 'create') && (kwIndex === 1 || (unlogged && kwIndex === 2 && isKw(lx.get(1), 'unlogged')));
}

const OR_REPLACE: Record<string, string> = {
  'CREATE FUNCTION': 'CREATE OR REPLACE FUNCTION',
  'CREATE PROCEDURE': 'CREATE OR REPLACE PROCEDURE',
  'CREATE VIEW': 'CREATE OR REPLACE VIEW',
  'CREATE TRIGGER': 'CREATE OR REPLACE TRIGGER',
};

const IF_NOT_EXISTS_TYPES = ['CreateStmt', 'CreateTableAsStmt', 'IndexStmt', 'CreateSchemaStmt', 'CreateSeqStmt', 'CreateExtensionStmt', 'AlterTableStmt'];
const UNGUARDED_TYPES = ['CreatePolicyStmt', 'CreateTrigStmt', 'CreateEnumStmt', 'CreateRangeStmt', 'CompositeTypeStmt', 'AlterTableStmt', 'DropStmt'];
const KW_TABLE = ['table'];
const KW_MATVIEW = ['materialized', 'view'];
const KW_INDEX = ['index'];
const KW_SCHEMA = ['schema'];
const KW_SEQUENCE = ['sequence'];
const KW_EXTENSION = ['extension'];

/** require-if-not-exists: report one object, with the IF NOT EXISTS fix at `insertAt` (proven valid when `ok`). */
function reportIfNotExists(
  ctx: RuleContext,
  what: string,
  name: string,
  kw: { start: number; end: number } | undefined,
  insertAt: number | undefined,
  ok: boolean,
  advice = `Write ${what} IF NOT EXISTS ${name}.`,
): void {
  const fix = insertAt === undefined ? undefined : proven(ctx, ctx.insert('Add IF NOT EXISTS', insertAt, ' IF NOT EXISTS'), ok);
  ctx.report({
    message: `${what} ${name} without IF NOT EXISTS: ${RETRY} with "already exists". ${advice}`,
    start: kw?.start ?? ctx.stmt.start,
    end: kw?.end,
    severity: idempotencySeverity(ctx),
    ...(fix ? { fixes: [fix] } : {}),
  });
}

function range(tokens: Token[], i: number, j: number): { start: number; end: number } | undefined {
  if (i < 0 || j <= i || j > tokens.length) return undefined;
  return { start: tokens[i].start, end: tokens[j - 1].end };
}

export const idempotencyRules: Rule[] = [
  {
    id: 'require-if-not-exists',
    category: 'idempotency',
    defaultSeverity: 'warning',
    summary: 'CREATE TABLE/INDEX/SCHEMA/SEQUENCE/EXTENSION/MATERIALIZED VIEW, CREATE TABLE AS and ADD COLUMN without IF NOT EXISTS.',
    details: `${IDEMPOTENCY_WHY} Add IF NOT EXISTS (reported as info inside a transaction, where a failure rolls everything back).

- An unnamed index (\`CREATE INDEX ON t (c)\`) has no IF NOT EXISTS form, and a retry silently builds a second identical index (twice the write cost): name the index.
- \`CREATE SCHEMA IF NOT EXISTS\` cannot be combined with schema elements (\`CREATE SCHEMA s CREATE TABLE …\`): create the schema on its own.
- IF NOT EXISTS only checks the name: an existing object with a different definition is kept as it is. After a failed \`CREATE INDEX CONCURRENTLY\` the leftover INVALID index satisfies IF NOT EXISTS, so drop invalid indexes before retrying.
- Temporary tables are not flagged: they disappear with the session.`,
    bad: 'CREATE TABLE users (id bigint PRIMARY KEY);',
    good: 'CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY);',
    types: IF_NOT_EXISTS_TYPES,
    check(ctx) {
      const s = ctx.stmt;
      switch (s.type) {
        case 'CreateStmt': {
          const create = stmtNode<{ relation?: Rel; if_not_exists?: boolean }>(ctx);
          if (create.if_not_exists || isTemp(create.relation)) return;
          const lx = lexerOf(ctx);
          const kw = keywordSeq(lx, KW_TABLE);
          // CREATE [UNLOGGED] TABLE IF NOT EXISTS … exists for every form (columns, OF type, PARTITION OF).
          reportIfNotExists(ctx, 'CREATE TABLE', relationName(create.relation), kw, kw?.end, kw !== undefined && plainCreate(lx, kw.i, true));
          return;
        }
        case 'CreateTableAsStmt': {
          const ctas = stmtNode<{ into?: { rel?: Rel }; objtype?: string; if_not_exists?: boolean }>(ctx);
          if (ctas.if_not_exists || isTemp(ctas.into?.rel)) return;
          const mat = ctas.objtype === 'OBJECT_MATVIEW';
          const lx = lexerOf(ctx);
          const kw = keywordSeq(lx, mat ? KW_MATVIEW : KW_TABLE);
          reportIfNotExists(ctx, mat ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE', `${relationName(ctas.into?.rel)}${mat ? '' : ' AS …'}`, kw, kw?.end, kw !== undefined && plainCreate(lx, kw.i, false));
          return;
        }
        case 'IndexStmt': {
          const ix = stmtNode<{ idxname?: string; relation?: RangeVar; if_not_exists?: boolean; concurrent?: boolean }>(ctx);
          if (ix.if_not_exists) return;
          const lx = lexerOf(ctx);
          const kw = keywordSeq(lx, KW_INDEX);
          if (!ix.idxname) {
            const table = relationName(ix.relation);
            ctx.report({
              message: `CREATE INDEX on ${table} without a name: a retry after a partial run does not fail but builds a second, identical index (twice the disk space and write cost), and an unnamed index has no IF NOT EXISTS form. Give the index a name and add IF NOT EXISTS: CREATE INDEX${ix.concurrent ? ' CONCURRENTLY' : ''} IF NOT EXISTS <name> ON ${table} ….`,
              start: kw?.start ?? s.start,
              end: kw?.end,
              severity: idempotencySeverity(ctx),
            });
            return;
          }
          let at = kw?.end;
          let afterConcurrently = false;
          if (kw && ix.concurrent && isKw(lx.get(kw.e), 'concurrently')) {
            at = lx.get(kw.e)!.end;
            afterConcurrently = true;
          }
          // CREATE [UNIQUE] INDEX [CONCURRENTLY] IF NOT EXISTS name ON …
          const ok = kw !== undefined && isKw(lx.get(0), 'create') && (kw.i === 1 || (kw.i === 2 && isKw(lx.get(1), 'unique'))) && afterConcurrently === (ix.concurrent === true);
          reportIfNotExists(ctx, 'CREATE INDEX', ix.idxname, kw, at, ok, `Write CREATE INDEX${ix.concurrent ? ' CONCURRENTLY' : ''} IF NOT EXISTS ${ix.idxname}.`);
          return;
        }
        case 'CreateSchemaStmt': {
          const schema = stmtNode<{ schemaname?: string; authrole?: { rolename?: string }; if_not_exists?: boolean; schemaElts?: unknown[] }>(ctx);
          if (schema.if_not_exists) return;
          const lx = lexerOf(ctx);
          const kw = keywordSeq(lx, KW_SCHEMA);
          const name = schema.schemaname ?? schema.authrole?.rolename ?? '';
          if (schema.schemaElts?.length) {
            reportIfNotExists(ctx, 'CREATE SCHEMA', name, kw, undefined, false,
              'IF NOT EXISTS cannot be combined with schema elements: create the schema on its own with CREATE SCHEMA IF NOT EXISTS, then its objects in separate statements (each with IF NOT EXISTS).');
          } else {
            // CREATE SCHEMA IF NOT EXISTS name / IF NOT EXISTS [name] AUTHORIZATION role.
            reportIfNotExists(ctx, 'CREATE SCHEMA', name, kw, kw?.end, kw !== undefined && plainCreate(lx, kw.i, false));
          }
          return;
        }
        case 'CreateSeqStmt': {
          const seq = stmtNode<{ sequence?: Rel; if_not_exists?: boolean }>(ctx);
          if (seq.if_not_exists || isTemp(seq.sequence)) return;
          const lx = lexerOf(ctx);
          const kw = keywordSeq(lx, KW_SEQUENCE);
          reportIfNotExists(ctx, 'CREATE SEQUENCE', relationName(seq.sequence), kw, kw?.end, kw !== undefined && plainCreate(lx, kw.i, false));
          return;
        }
        case 'CreateExtensionStmt': {
          const ext = stmtNode<{ extname?: string; if_not_exists?: boolean }>(ctx);
          if (ext.if_not_exists) return;
          const lx = lexerOf(ctx);
          const kw = keywordSeq(lx, KW_EXTENSION);
          reportIfNotExists(ctx, 'CREATE EXTENSION', ext.extname ?? '?', kw, kw?.end, kw !== undefined && plainCreate(lx, kw.i, false));
          return;
        }
        case 'AlterTableStmt': {
          const alter = stmtNode<AlterTable>(ctx);
          const cmds = alter.cmds ?? [];
          let tokens: Token[] | undefined;
          let segs: { from: number; to: number }[] = [];
          for (let k = 0; k < cmds.length; k++) {
            const cmd = node<AlterCmd>(cmds[k], 'AlterTableCmd');
            if (cmd?.subtype !== 'AT_AddColumn' || cmd.missing_ok) continue;
            if (!tokens) {
              tokens = tokensOf(ctx);
              segs = alterSegments(ctx, alter.relation);
            }
            const def = node<{ colname?: string; location?: number }>(cmd.def, 'ColumnDef');
            const col = def?.colname ?? '?';
            const seg = segs.length === cmds.length ? segs[k] : undefined;
            let kw: { start: number; end: number } | undefined;
            let ok = false;
            if (seg && isKw(tokens[seg.from], 'add')) {
              const e = isKw(tokens[seg.from + 1], 'column') ? seg.from + 2 : seg.from + 1;
              kw = range(tokens, seg.from, e);
              // ADD [COLUMN] IF NOT EXISTS <the column>: the next token is where the AST puts the column name.
              ok = isTableAlter(alter) && def?.location !== undefined && tokens[e] !== undefined && tokens[e].start === ctx.offset(def.location);
            }
            reportIfNotExists(ctx, 'ADD COLUMN', `${col} to ${relationName(alter.relation)}`, kw, kw?.end, ok,
              `Write ADD COLUMN IF NOT EXISTS ${col}.`);
          }
          return;
        }
      }
    },
  },
  {
    id: 'require-if-exists',
    category: 'idempotency',
    defaultSeverity: 'warning',
    summary: 'DROP TABLE/INDEX/VIEW/SEQUENCE/SCHEMA/TYPE/FUNCTION/TRIGGER/POLICY/… and DROP COLUMN/CONSTRAINT without IF EXISTS.',
    details: `${IDEMPOTENCY_WHY.replace('already exists', 'is already gone')} A DROP without IF EXISTS fails with "does not exist" when the object was already dropped: add IF EXISTS (reported as info inside a transaction, where a failure rolls everything back).

Dropping a table, view, sequence or index created earlier in the same section is not flagged: the retry re-creates it first.`,
    bad: 'DROP INDEX CONCURRENTLY users_email_idx;',
    good: 'DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;',
    types: ['DropStmt', 'AlterTableStmt', ...CREATED_TYPES],
    check(ctx) {
      const s = ctx.stmt;
      createdInSection(ctx, undefined); // sees every creating statement, so later ones know what it created
      if (s.type === 'DropStmt') {
        const drop = stmtNode<{ removeType?: string; objects?: unknown[]; missing_ok?: boolean; concurrent?: boolean }>(ctx);
        const seq = drop.missing_ok || !drop.removeType ? undefined : DROP_KEYWORDS[drop.removeType];
        if (!seq) return;
        const objects = drop.objects ?? [];
        if (RELATION_DROPS.has(drop.removeType!) && objects.length > 0) {
          let allNew = true;
          for (const o of objects) {
            if (!createdInSection(ctx, dropRelation(o))) {
              allNew = false;
              break;
            }
          }
          if (allNew) return;
        }
        const lx = lexerOf(ctx);
        let e = -1;
        if (isKw(lx.get(0), 'drop')) {
          e = 1 + seq.length;
          for (let k = 0; k < seq.length; k++) if (!isKw(lx.get(1 + k), seq[k])) e = -1;
        }
        let at = e < 0 ? undefined : lx.get(e - 1)!.end;
        let afterConcurrently = false;
        if (e > 0 && drop.concurrent && isKw(lx.get(e), 'concurrently')) {
          at = lx.get(e)!.end;
          afterConcurrently = true;
        }
        const what = DROP_WHAT[drop.removeType!];
        // DROP <keywords> [CONCURRENTLY] IF EXISTS … exists for every kind listed in DROP_KEYWORDS.
        const fix = at === undefined ? undefined : proven(ctx, ctx.insert('Add IF EXISTS', at, ' IF EXISTS'), afterConcurrently === (drop.concurrent === true));
        const kw = e < 0 ? undefined : { start: lx.get(1)!.start, end: lx.get(e - 1)!.end };
        let objList = '';
        for (let k = 0; k < objects.length; k++) objList += (k ? ', ' : '') + dropObjectName(drop.removeType!, objects[k]);
        ctx.report({
          message: `${what} ${objList} without IF EXISTS: ${RETRY_DROP} with "does not exist". Write ${what}${drop.concurrent ? ' CONCURRENTLY' : ''} IF EXISTS ${objList}.`,
          start: kw?.start ?? s.start,
          end: kw?.end,
          severity: idempotencySeverity(ctx),
          ...(fix ? { fixes: [fix] } : {}),
        });
        return;
      }
      if (s.type !== 'AlterTableStmt') return;
      const alter = stmtNode<AlterTable>(ctx);
      const cmds = alter.cmds ?? [];
      let tokens: Token[] | undefined;
      let segs: { from: number; to: number }[] = [];
      let table = '';
      for (let k = 0; k < cmds.length; k++) {
        const cmd = node<AlterCmd>(cmds[k], 'AlterTableCmd');
        if (!cmd || cmd.missing_ok || (cmd.subtype !== 'AT_DropColumn' && cmd.subtype !== 'AT_DropConstraint')) continue;
        if (!tokens) {
          tokens = tokensOf(ctx);
          segs = alterSegments(ctx, alter.relation);
          table = relationName(alter.relation);
        }
        const isCol = cmd.subtype === 'AT_DropColumn';
        const seg = segs.length === cmds.length ? segs[k] : undefined;
        let kw: { start: number; end: number } | undefined;
        let ok = false;
        if (seg && isKw(tokens[seg.from], 'drop')) {
          const second = tokens[seg.from + 1];
          const e = isKw(second, 'column') || isKw(second, 'constraint') ? seg.from + 2 : seg.from + 1;
          kw = range(tokens, seg.from, e);
          // DROP [COLUMN] IF EXISTS c / DROP CONSTRAINT IF EXISTS c, when the next token is that name.
          const nameTok = tokens[e];
          ok = isTableAlter(alter) && (isCol ? !isKw(second, 'constraint') : isKw(second, 'constraint')) && nameTok !== undefined && cmd.name !== undefined &&
            nameTok.value === cmd.name && (nameTok.kind === 'word' || (nameTok.kind === 'quoted' && ctx.text.charCodeAt(nameTok.start) === 34));
        }
        const fix = kw ? proven(ctx, ctx.insert('Add IF EXISTS', kw.end, ' IF EXISTS'), ok) : undefined;
        const what = isCol ? 'DROP COLUMN' : 'DROP CONSTRAINT';
        const message = `${what} ${cmd.name ?? '?'} on ${table} without IF EXISTS: ${RETRY_DROP} with "does not exist". Write ${what} IF EXISTS ${cmd.name ?? ''}.`;
        ctx.report({
          // " ." (from a missing name) becomes "." — only the names can produce one, so test them, not the message.
          message: mayHaveSpaceDot(cmd.name, table) ? message.replace(/ \./, '.') : message,
          start: kw?.start ?? s.start,
          end: kw?.end,
          severity: idempotencySeverity(ctx),
          ...(fix ? { fixes: [fix] } : {}),
        });
      }
    },
  },
  {
    id: 'require-or-replace',
    category: 'idempotency',
    defaultSeverity: 'warning',
    summary: 'CREATE FUNCTION/PROCEDURE/VIEW (and TRIGGER from PostgreSQL 14) without OR REPLACE.',
    details: `${IDEMPOTENCY_WHY} Functions, procedures and views (and triggers from PostgreSQL 14) have a CREATE OR REPLACE form that makes the statement repeatable, and also lets a later migration change the body without a drop (reported as info inside a transaction, where a failure rolls everything back).

Limits of OR REPLACE: a function's return type and argument names cannot change (drop it first), and a view can only gain columns at the end with the same names and types for the existing ones. \`CREATE OR REPLACE CONSTRAINT TRIGGER\` does not exist (see \`unguarded-create\`). Before PostgreSQL 14, triggers are covered by \`unguarded-create\`.`,
    bad: 'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;',
    good: 'CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;',
    types: ['CreateFunctionStmt', 'ViewStmt', 'CreateTrigStmt'],
    check(ctx) {
      const s = ctx.stmt;
      let what: string;
      let name = '';
      let kwWord = '';
      if (s.type === 'CreateFunctionStmt') {
        const fn = stmtNode<{ replace?: boolean; is_procedure?: boolean; funcname?: unknown[] }>(ctx);
        if (fn.replace) return;
        kwWord = fn.is_procedure ? 'procedure' : 'function';
        what = fn.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
        name = qualified(fn.funcname);
      } else if (s.type === 'ViewStmt') {
        const view = stmtNode<{ replace?: boolean; view?: Rel }>(ctx);
        if (view.replace || isTemp(view.view)) return;
        kwWord = 'view';
        what = 'CREATE VIEW';
        name = relationName(view.view);
      } else {
        const trig = stmtNode<{ replace?: boolean; isconstraint?: boolean; trigname?: string; relation?: RangeVar }>(ctx);
        if (trig.replace || trig.isconstraint || ctx.pgVersion < 14) return;
        kwWord = 'trigger';
        what = 'CREATE TRIGGER';
        name = `${trig.trigname ?? '?'} on ${relationName(trig.relation)}`;
      }
      const lx = lexerOf(ctx);
      const i = findKw(lx, 1, 0, kwWord);
      const create = lx.get(0);
      let fix: Fix | undefined;
      if (isKw(create, 'create')) {
        // CREATE OR REPLACE FUNCTION / PROCEDURE / [RECURSIVE] VIEW / TRIGGER: the kind right after CREATE.
        const second = lx.get(1);
        const ok = isKw(second, kwWord) || (kwWord === 'view' && isKw(second, 'recursive'));
        fix = proven(ctx, ctx.insert('Add OR REPLACE', create!.end, ' OR REPLACE'), ok);
      }
      const kwTok = i < 0 ? undefined : lx.get(i);
      ctx.report({
        message: `${what} ${name} without OR REPLACE: ${RETRY} with "already exists". Write ${OR_REPLACE[what]}.`,
        start: kwTok ? kwTok.start : s.start,
        end: kwTok ? kwTok.end : undefined,
        severity: idempotencySeverity(ctx),
        ...(fix ? { fixes: [fix] } : {}),
      });
    },
  },
  {
    id: 'unguarded-create',
    category: 'idempotency',
    defaultSeverity: 'warning',
    summary: 'CREATE POLICY, CREATE TYPE, ADD CONSTRAINT (and CREATE TRIGGER before PostgreSQL 14) with no guard: they have no IF NOT EXISTS form.',
    details: `${IDEMPOTENCY_WHY} These statements have no IF NOT EXISTS / OR REPLACE form, so guard them (reported as info inside a transaction, where a failure rolls everything back):

- policies, triggers, CHECK and FOREIGN KEY constraints: drop them first with \`DROP POLICY IF EXISTS p ON t\`, \`DROP TRIGGER IF EXISTS tg ON t\`, \`ALTER TABLE t DROP CONSTRAINT IF EXISTS c\` (inside a transaction the drop and re-create are atomic; outside one, a re-run briefly leaves the table without the policy, trigger or constraint);
- types: a drop would fail (or, with CASCADE, drop columns) once the type is in use, so guard with \`DO $$ BEGIN CREATE TYPE …; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\`;
- PRIMARY KEY, UNIQUE and EXCLUDE constraints: dropping them rebuilds the index and fails when foreign keys depend on them, so check the catalog in a DO block: \`IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = 't'::regclass AND conname = 'c') THEN … END IF\`.

An earlier \`DROP … IF EXISTS\` of the same object in the section counts as the guard.`,
    bad: "CREATE POLICY tenant_isolation ON orders USING (tenant_id = current_setting('app.tenant')::bigint);",
    good: "DROP POLICY IF EXISTS tenant_isolation ON orders;\nCREATE POLICY tenant_isolation ON orders USING (tenant_id = current_setting('app.tenant')::bigint);",
    types: UNGUARDED_TYPES,
    check(ctx) {
      const s = ctx.stmt;
      const memo = guardMemo(ctx.state);
      switch (s.type) {
        case 'DropStmt':
          recordDrops(memo, stmtNode(ctx));
          return;
        case 'CreatePolicyStmt': {
          const policy = stmtNode<{ policy_name?: string; table?: RangeVar }>(ctx);
          if (!policy.policy_name) return;
          const table = relationName(policy.table);
          if (memo.dropped.has(guardKey('policy', table, policy.policy_name))) return;
          const lx = lexerOf(ctx);
          const kw = findKw(lx, 1, 0, 'policy');
          const tIdx = policy.table?.location !== undefined ? tokenAt(lx, ctx.offset(policy.table.location)) : -1;
          const tEnd = nameEndAt(lx, tIdx);
          const nameSrc = kw >= 0 ? sourceAt(ctx, lx, kw + 1, kw + 2) : '';
          const tableSrc = tIdx >= 0 ? sourceAt(ctx, lx, tIdx, tEnd) : '';
          const fix = nameSrc && tableSrc ? guardFix(ctx, `DROP POLICY IF EXISTS ${nameSrc} ON ${tableSrc}`, plainNames(ctx, lx, kw + 1, kw + 2) && plainNames(ctx, lx, tIdx, tEnd)) : undefined;
          ctx.report({
            message: `CREATE POLICY ${policy.policy_name} on ${table} has no IF NOT EXISTS form: ${RETRY} with "already exists". Guard it with DROP POLICY IF EXISTS ${policy.policy_name} ON ${table} before it (or a DO block that checks pg_policies).`,
            start: kw >= 0 ? lx.get(kw)!.start : s.start,
            end: kw >= 0 ? lx.get(kw)!.end : undefined,
            severity: idempotencySeverity(ctx),
            ...(fix ? { fixes: [fix] } : {}),
          });
          return;
        }
        case 'CreateTrigStmt': {
          const trig = stmtNode<{ replace?: boolean; isconstraint?: boolean; trigname?: string; relation?: RangeVar }>(ctx);
          if (!trig.trigname || trig.replace || (ctx.pgVersion >= 14 && !trig.isconstraint)) return;
          const table = relationName(trig.relation);
          if (memo.dropped.has(guardKey('trigger', table, trig.trigname))) return;
          const lx = lexerOf(ctx);
          const kw = findKw(lx, 1, 0, 'trigger');
          const tIdx = trig.relation?.location !== undefined ? tokenAt(lx, ctx.offset(trig.relation.location)) : -1;
          const tEnd = nameEndAt(lx, tIdx);
          const nameSrc = kw >= 0 ? sourceAt(ctx, lx, kw + 1, kw + 2) : '';
          const tableSrc = tIdx >= 0 ? sourceAt(ctx, lx, tIdx, tEnd) : '';
          const fix = nameSrc && tableSrc ? guardFix(ctx, `DROP TRIGGER IF EXISTS ${nameSrc} ON ${tableSrc}`, plainNames(ctx, lx, kw + 1, kw + 2) && plainNames(ctx, lx, tIdx, tEnd)) : undefined;
          const why = trig.isconstraint ? 'a constraint trigger has no OR REPLACE form' : `CREATE OR REPLACE TRIGGER needs PostgreSQL 14 (target: ${ctx.pgVersion})`;
          ctx.report({
            message: `CREATE ${trig.isconstraint ? 'CONSTRAINT ' : ''}TRIGGER ${trig.trigname} on ${table} is not repeatable (${why}): ${RETRY} with "already exists". Guard it with DROP TRIGGER IF EXISTS ${trig.trigname} ON ${table} before it.`,
            start: kw >= 0 ? lx.get(kw)!.start : s.start,
            end: kw >= 0 ? lx.get(kw)!.end : undefined,
            severity: idempotencySeverity(ctx),
            ...(fix ? { fixes: [fix] } : {}),
          });
          return;
        }
        case 'CreateEnumStmt':
        case 'CreateRangeStmt':
        case 'CompositeTypeStmt': {
          const typeName = s.type === 'CompositeTypeStmt' ? relationName(stmtNode<{ typevar?: RangeVar }>(ctx).typevar) : qualified(stmtNode<{ typeName?: unknown[] }>(ctx).typeName);
          if (!typeName) return;
          if (memo.dropped.has(guardKey('type', '', bare(typeName)))) return;
          const lx = lexerOf(ctx);
          const kw = findKw(lx, 1, 0, 'type');
          ctx.report({
            message: `CREATE TYPE ${typeName} has no IF NOT EXISTS form: ${RETRY} with "already exists". Wrap it in DO $$ BEGIN CREATE TYPE …; EXCEPTION WHEN duplicate_object THEN NULL; END $$; (a DROP TYPE guard would fail, or cascade to columns, once the type is in use).`,
            start: kw >= 0 ? lx.get(kw)!.start : s.start,
            end: kw >= 0 ? lx.get(kw)!.end : undefined,
            severity: idempotencySeverity(ctx),
          });
          return;
        }
        case 'AlterTableStmt': {
          unguardedConstraints(ctx, memo, stmtNode<AlterTable>(ctx));
        }
      }
    },
  },
  {
    id: 'insert-without-on-conflict',
    category: 'idempotency',
    defaultSeverity: 'warning',
    summary: 'INSERT of seed data into an existing table without ON CONFLICT.',
    details: `${IDEMPOTENCY_WHY} An INSERT run twice fails on a unique key ("duplicate key value violates unique constraint"), or silently inserts the rows a second time when there is none. Add \`ON CONFLICT DO NOTHING\` (or \`ON CONFLICT (key) DO UPDATE SET …\` to keep the data current) — it only skips rows that collide with a unique index or primary key, so the table needs one on the natural key — or filter existing rows (\`INSERT … SELECT … WHERE NOT EXISTS (SELECT FROM t WHERE …)\`; an INSERT … SELECT that reads the target table is assumed to do this). Reported as info inside a transaction, where a failure rolls everything back.

Inserts into a table created earlier in the same section are not flagged: the table is new and empty.`,
    bad: "INSERT INTO roles (name) VALUES ('admin'), ('member');",
    good: "INSERT INTO roles (name) VALUES ('admin'), ('member') ON CONFLICT DO NOTHING;",
    types: ['InsertStmt', ...CREATED_TYPES],
    check(ctx) {
      const s = ctx.stmt;
      if (s.type !== 'InsertStmt') {
        createdInSection(ctx, undefined);
        return;
      }
      const ins = stmtNode<{ relation?: RangeVar; selectStmt?: unknown; onConflictClause?: unknown; returningClause?: unknown }>(ctx);
      const isNew = createdInSection(ctx, relationName(ins.relation));
      if (ins.onConflictClause || !ins.selectStmt || isNew) return;
      // An INSERT … SELECT that reads the target is assumed to filter existing rows. Only the SELECT part
      // counts (not a CTE), so this walks just that part, stopping at the first match (cheaper than the
      // shared ctx.nodes() index, which no other rule builds for INSERTs).
      if (readsRelation(ins.selectStmt, ins.relation?.relname)) return;
      const tokens = tokensOf(ctx);
      const table = relationName(ins.relation);
      const tIdx = ins.relation?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(ins.relation.location)) : -1;
      const at = tIdx >= 0 ? range(tokens, tIdx, nameEnd(tokens, tIdx)) : undefined;
      let before: Token | undefined;
      if (ins.returningClause) {
        let r = -1;
        for (let i = tokens.length - 1; i >= 0; i--) if (tokens[i].depth === 0 && isKw(tokens[i], 'returning')) { r = i; break; }
        if (r > 0) before = tokens[r - 1];
      } else if (tokens.length) {
        before = tokens[tokens.length - 1];
      }
      let fix: Fix | undefined;
      if (before) {
        // INSERT … VALUES (…), (…) [ON CONFLICT DO NOTHING] [RETURNING …]: right after the last row.
        const sel = node<{ valuesLists?: unknown[]; sortClause?: unknown; limitCount?: unknown; limitOffset?: unknown; lockingClause?: unknown; withClause?: unknown }>(ins.selectStmt, 'SelectStmt');
        const ok = sel !== undefined && sel.valuesLists !== undefined && !sel.sortClause && !sel.limitCount && !sel.limitOffset && !sel.lockingClause && !sel.withClause &&
          before.kind === 'punct' && before.value === ')' && before.depth === 0;
        fix = proven(ctx, ctx.insert('Add ON CONFLICT DO NOTHING', before.end, ' ON CONFLICT DO NOTHING'), ok);
      }
      ctx.report({
        message: `INSERT into ${table} without ON CONFLICT: run twice (a retry after a partial run, or a database that already has these rows), it fails on a unique key or inserts the rows a second time. Add ON CONFLICT DO NOTHING (it needs a unique index or primary key on the natural key) or insert only missing rows (… WHERE NOT EXISTS (SELECT FROM ${table} WHERE …)).`,
        start: at?.start ?? s.start,
        end: at?.end,
        severity: idempotencySeverity(ctx),
        ...(fix ? { fixes: [fix] } : {}),
      });
    },
  },
];

/**
 * Whether the DROP COLUMN/CONSTRAINT message built from `name` and `table` can contain " ." (the constant
 * parts cannot): a missing or empty name, or a name/table that starts with ".", contains " ." or (name) ends with " ".
 */
function mayHaveSpaceDot(name: string | undefined, table: string): boolean {
  return !name || name.charCodeAt(0) === 46 || name.includes(' .') || name.endsWith(' ') || table.charCodeAt(0) === 46 || table.includes(' .');
}

/**
 * unguarded-create on ALTER TABLE: ADD CONSTRAINT without an earlier DROP CONSTRAINT IF EXISTS (earlier in
 * the section, or earlier in this statement: each DROP CONSTRAINT is recorded as the loop passes it).
 */
function unguardedConstraints(ctx: RuleContext, memo: GuardMemo, alter: AlterTable): void {
  const s = ctx.stmt;
  const cmds = alter.cmds ?? [];
  const table = relationName(alter.relation);
  let tokens: Token[] | undefined;
  let segs: { from: number; to: number }[] = [];
  let k = 0;
  try {
    for (; k < cmds.length; k++) {
      const cmd = node<AlterCmd>(cmds[k], 'AlterTableCmd');
      if (cmd?.subtype === 'AT_DropConstraint') {
        if (cmd.name) memo.dropped.add(guardKey('constraint', table, cmd.name));
        continue;
      }
      if (cmd?.subtype !== 'AT_AddConstraint') continue;
      const con = node<{ contype?: string; conname?: string }>(cmd.def, 'Constraint');
      if (!con) continue;
      if (con.conname && memo.dropped.has(guardKey('constraint', table, con.conname))) continue;
      if (!tokens) {
        tokens = tokensOf(ctx);
        segs = alterSegments(ctx, alter.relation);
      }
      const sev = idempotencySeverity(ctx);
      const seg = segs.length === cmds.length ? segs[k] : undefined;
      let kw: { start: number; end: number } | undefined;
      if (seg && isKw(tokens[seg.from], 'add')) kw = range(tokens, seg.from, isKw(tokens[seg.from + 1], 'constraint') ? seg.from + 2 : seg.from + 1);
      const kind = (con.contype ?? '').replace('CONSTR_', '').replace('PRIMARY', 'PRIMARY KEY').replace('FOREIGN', 'FOREIGN KEY');
      if (!con.conname) {
        ctx.report({
          message: `ADD ${kind} on ${table} without a constraint name: a retry fails, or adds a second copy of the constraint under a generated name. Name it (ADD CONSTRAINT name …) and guard it with ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS name before it.`,
          start: kw?.start ?? s.start,
          end: kw?.end,
          severity: sev,
        });
        continue;
      }
      const indexBacked = con.contype === 'CONSTR_PRIMARY' || con.contype === 'CONSTR_UNIQUE' || con.contype === 'CONSTR_EXCLUSION';
      let fix: Fix | undefined;
      if (!indexBacked && seg) {
        const lx = lexerOf(ctx);
        const conIdx = findKw(lx, seg.from, 0, 'constraint');
        const tIdx = alter.relation?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(alter.relation.location)) : -1;
        const only = tIdx > 0 && isKw(tokens[tIdx - 1], 'only') ? 'ONLY ' : '';
        const nameSrc = conIdx >= 0 && conIdx < seg.to ? sourceOf(ctx, tokens, conIdx + 1, conIdx + 2) : '';
        const tEnd = tIdx >= 0 ? nameEnd(tokens, tIdx) : -1;
        const tableSrc = tIdx >= 0 ? sourceOf(ctx, tokens, tIdx, tEnd) : '';
        if (nameSrc && tableSrc) {
          fix = guardFix(ctx, `ALTER TABLE ${only}${tableSrc} DROP CONSTRAINT IF EXISTS ${nameSrc}`, plainNames(ctx, lx, conIdx + 1, conIdx + 2) && plainNames(ctx, lx, tIdx, tEnd));
        }
      }
      ctx.report({
        message: indexBacked
          ? `ADD CONSTRAINT ${con.conname} (${kind}) on ${table} has no IF NOT EXISTS form: ${RETRY} with "already exists". Guard it with a DO block that checks pg_constraint (dropping a ${kind} constraint first would rebuild its index and fails when foreign keys depend on it).`
          : `ADD CONSTRAINT ${con.conname} on ${table} has no IF NOT EXISTS form: ${RETRY} with "already exists". Guard it with ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${con.conname} before it (or a DO block that checks pg_constraint).`,
        start: kw?.start ?? s.start,
        end: kw?.end,
        severity: sev,
        ...(fix ? { fixes: [fix] } : {}),
      });
    }
  } finally {
    // A command that threw: still record the later drops, as a complete pass would have.
    if (k < cmds.length) recordAlterDrops(memo, table, cmds.slice(k + 1));
  }
}

/** Whether a RangeVar named `target` occurs under `n` (an INSERT's SELECT). No allocation (unlike as()). */
function readsRelation(n: unknown, target: string | undefined): boolean {
  if (n === null || typeof n !== 'object') return false;
  if (Array.isArray(n)) {
    for (const x of n) if (readsRelation(x, target)) return true;
    return false;
  }
  const o = n as Record<string, unknown>;
  let only: string | undefined;
  let count = 0;
  for (const k in o) {
    only = k;
    if (++count > 1) break;
  }
  if (count === 1 && only === 'RangeVar') {
    const rv = o.RangeVar as RangeVar | undefined;
    if (rv && rv.relname === target) return true;
  }
  for (const k in o) if (readsRelation(o[k], target)) return true;
  return false;
}
