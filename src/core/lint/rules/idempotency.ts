import { as, names, RangeVar, relationName } from '../ast';
import type { FileState, RuleContext } from '../context';
import type { Rule } from '../lint';
import { parseSql } from '../parser';
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
// the AST only has locations for some nodes; a regex over the statement text would also match inside
// comments and strings. This is a small lexer over the statement (psql variables masked), following
// PostgreSQL's scan.l for what matters here: comments (nested), strings ('', E'', U&'', dollar quotes),
// quoted identifiers, words folded as the server folds them (ASCII only), and parenthesis depth.
// ---------------------------------------------------------------------------------------------------

export interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'param' | 'punct';
  /** File offsets (UTF-16). */
  start: number;
  end: number;
  /** word: ASCII-lower-cased; quoted: the identifier ("" unescaped); otherwise the text. */
  value: string;
  /** Parenthesis depth (a '(' and its ')' have the depth outside them). */
  depth: number;
}

const tokenCache = new WeakMap<StatementInfo, Token[]>();

/** Tokens of the current statement (cached per statement). */
export function tokensOf(ctx: RuleContext): Token[] {
  let t = tokenCache.get(ctx.stmt);
  if (!t) {
    t = lexSql(ctx.parsedText || ctx.stmt.text, ctx.stmt.start);
    tokenCache.set(ctx.stmt, t);
  }
  return t;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const NUMBER = /(?:0[xXoObB][0-9A-Fa-f_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/y;

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function lexSql(text: string, base = 0): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let depth = 0;
  let i = 0;
  const push = (kind: Token['kind'], start: number, end: number, value: string, d = depth) => out.push({ kind, start: base + start, end: base + end, value, depth: d });
  /** End of a quoted run starting at `i` (the opening quote), with doubled quotes as escapes. */
  const quotedEnd = (from: number, q: string, backslash: boolean): number => {
    let j = from + 1;
    while (j < n) {
      const c = text[j];
      if (backslash && c === '\\') j += 2;
      else if (c === q) {
        if (text[j + 1] === q) j += 2;
        else return j + 1;
      } else j++;
    }
    return n;
  };
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      let level = 1;
      i += 2;
      while (i < n && level > 0) {
        if (text[i] === '/' && text[i + 1] === '*') { level++; i += 2; }
        else if (text[i] === '*' && text[i + 1] === '/') { level--; i += 2; }
        else i++;
      }
    } else if (c === "'") {
      const e = quotedEnd(i, "'", false);
      push('string', i, e, text.slice(i, e));
      i = e;
    } else if (c === '"') {
      const e = quotedEnd(i, '"', false);
      push('quoted', i, e, text.slice(i + 1, Math.max(i + 1, e - 1)).replace(/""/g, '"'));
      i = e;
    } else if ((c === 'e' || c === 'E') && text[i + 1] === "'") {
      const e = quotedEnd(i + 1, "'", true);
      push('string', i, e, text.slice(i, e));
      i = e;
    } else if ((c === 'u' || c === 'U') && text[i + 1] === '&' && (text[i + 2] === "'" || text[i + 2] === '"')) {
      const q = text[i + 2];
      const e = quotedEnd(i + 2, q, false);
      if (q === '"') push('quoted', i, e, text.slice(i + 3, Math.max(i + 3, e - 1)).replace(/""/g, '"'));
      else push('string', i, e, text.slice(i, e));
      i = e;
    } else if ('bBxXnN'.includes(c) && text[i + 1] === "'") {
      const e = quotedEnd(i + 1, "'", false);
      push('string', i, e, text.slice(i, e));
      i = e;
    } else if (WORD_START.test(c)) {
      let e = i + 1;
      while (e < n && WORD_PART.test(text[e])) e++;
      push('word', i, e, asciiLower(text.slice(i, e)));
      i = e;
    } else if (c === '$') {
      if (/[0-9]/.test(text[i + 1] ?? '')) {
        let e = i + 1;
        while (e < n && /[0-9]/.test(text[e])) e++;
        push('param', i, e, text.slice(i, e));
        i = e;
        continue;
      }
      DOLLAR_TAG.lastIndex = i;
      const m = DOLLAR_TAG.exec(text);
      if (m) {
        const close = text.indexOf(m[0], i + m[0].length);
        const e = close < 0 ? n : close + m[0].length;
        push('string', i, e, text.slice(i, e));
        i = e;
      } else {
        push('punct', i, i + 1, '$');
        i++;
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const e = m && m[0].length > 0 ? i + m[0].length : i + 1;
      push('number', i, e, text.slice(i, e));
      i = e;
    } else if (c === '(') {
      push('punct', i, i + 1, '(');
      depth++;
      i++;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
      push('punct', i, i + 1, ')');
      i++;
    } else if (c === ':' && text[i + 1] === ':') {
      push('punct', i, i + 2, '::');
      i += 2;
    } else {
      push('punct', i, i + 1, c);
      i++;
    }
  }
  return out;
}

export function isWord(t: Token | undefined, ...words: string[]): boolean {
  return t !== undefined && t.kind === 'word' && words.includes(t.value);
}

/** Index of the first token at or after `from` that is one of `words` at `depth`. */
export function findWord(tokens: Token[], from: number, depth: number, ...words: string[]): number {
  for (let i = Math.max(0, from); i < tokens.length; i++) if (tokens[i].depth === depth && isWord(tokens[i], ...words)) return i;
  return -1;
}

/** Index of the token starting at (or the first one after) a file offset. */
export function tokenIndexAt(tokens: Token[], offset: number): number {
  for (let i = 0; i < tokens.length; i++) if (tokens[i].start >= offset) return i;
  return -1;
}

/** Index just past a (possibly qualified) name starting at token `i`: `a`, `"A".b`, `s.t.c`. */
export function nameEnd(tokens: Token[], i: number): number {
  if (i < 0 || i >= tokens.length) return i;
  let j = i + 1;
  while (tokens[j]?.value === '.' && tokens[j].kind === 'punct' && tokens[j + 1] && (tokens[j + 1].kind === 'word' || tokens[j + 1].kind === 'quoted')) j += 2;
  return j;
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

/**
 * Keep a fix only if the statement still parses after it (a safety net: a fix must never produce invalid
 * SQL). Edits must lie inside the statement's range.
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
  const parsed = parseSql(out);
  return parsed.ok ? fix : undefined;
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

function range(tokens: Token[], i: number, j: number): { start: number; end: number } | undefined {
  if (i < 0 || j <= i || j > tokens.length) return undefined;
  return { start: tokens[i].start, end: tokens[j - 1].end };
}

/** The tokens of a keyword sequence right at index i (e.g. ['materialized','view']), or -1. */
function seqEnd(tokens: Token[], i: number, seq: string[]): number {
  for (let k = 0; k < seq.length; k++) if (!isWord(tokens[i + k], seq[k])) return -1;
  return i + seq.length;
}

function bare(name: string): string {
  return name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
}

const qualified = (list: unknown): string => names(list).join('.');

/** A RangeVar with its persistence ('t' = temporary: gone with the session, so never a retry problem). */
type Rel = RangeVar & { relpersistence?: string };
const isTemp = (rv: Rel | undefined) => rv?.relpersistence === 't';

// ---------------------------------------------------------------------------------------------------
// Guards seen earlier in the section: `DROP POLICY IF EXISTS p ON t` before `CREATE POLICY p ON t`, etc.
// FileState is per section, so it keys a module-level memo (a framework hook for rule-private state would
// be cleaner).
// ---------------------------------------------------------------------------------------------------

interface GuardMemo {
  dropped: Set<string>;
  seen: WeakSet<StatementInfo>;
}
const guardMemos = new WeakMap<FileState, GuardMemo>();

function guardMemo(state: FileState): GuardMemo {
  let m = guardMemos.get(state);
  if (!m) guardMemos.set(state, (m = { dropped: new Set(), seen: new WeakSet() }));
  return m;
}

const guardKey = (kind: string, table: string, name: string) => `${kind}:${bare(table)}/${name}`;

/** Record the drops of this statement (once per statement). */
function recordDrops(ctx: RuleContext): void {
  const memo = guardMemo(ctx.state);
  if (memo.seen.has(ctx.stmt)) return;
  memo.seen.add(ctx.stmt);
  const drop = as<{ removeType?: string; objects?: unknown[] }>(ctx.stmt.node, 'DropStmt');
  if (drop) {
    for (const o of drop.objects ?? []) {
      if (drop.removeType === 'OBJECT_POLICY' || drop.removeType === 'OBJECT_TRIGGER') {
        const n = names(as<{ items?: unknown[] }>(o, 'List')?.items);
        if (n.length >= 2) memo.dropped.add(guardKey(drop.removeType === 'OBJECT_POLICY' ? 'policy' : 'trigger', n[n.length - 2], n[n.length - 1]));
      } else if (drop.removeType === 'OBJECT_TYPE') {
        const n = names(as<{ names?: unknown[] }>(o, 'TypeName')?.names);
        if (n.length) memo.dropped.add(guardKey('type', '', n[n.length - 1]));
      }
    }
  }
}

/** Drops inside the same ALTER TABLE before command `upTo` (`DROP CONSTRAINT IF EXISTS c, ADD CONSTRAINT c …`). */
function droppedConstraint(ctx: RuleContext, table: string, con: string, cmds: unknown[], upTo: number): boolean {
  if (guardMemo(ctx.state).dropped.has(guardKey('constraint', table, con))) return true;
  for (let k = 0; k < upTo; k++) {
    const c = as<{ subtype?: string; name?: string }>(cmds[k], 'AlterTableCmd');
    if (c?.subtype === 'AT_DropConstraint' && c.name === con) return true;
  }
  return false;
}

function recordAlterDrops(ctx: RuleContext, table: string, cmds: unknown[]): void {
  for (const c of cmds) {
    const cmd = as<{ subtype?: string; name?: string }>(c, 'AlterTableCmd');
    if (cmd?.subtype === 'AT_DropConstraint' && cmd.name) guardMemo(ctx.state).dropped.add(guardKey('constraint', table, cmd.name));
  }
}

// ---------------------------------------------------------------------------------------------------
// Relations created earlier in *this* section. FileState.isNew() also counts, in a down section, what the
// up section created (nothing is lost by dropping it), but for idempotency only a creation that the retry
// itself re-runs makes a later DROP or INSERT repeatable.
// ---------------------------------------------------------------------------------------------------

interface CreatedMemo {
  names: Set<string>;
  pending?: StatementInfo;
}
const createdMemos = new WeakMap<FileState, CreatedMemo>();

function relationsCreatedBy(node: unknown): string[] {
  const rv: (RangeVar | undefined)[] = [
    as<{ relation?: RangeVar }>(node, 'CreateStmt')?.relation,
    as<{ into?: { rel?: RangeVar } }>(node, 'CreateTableAsStmt')?.into?.rel,
    as<{ sequence?: RangeVar }>(node, 'CreateSeqStmt')?.sequence,
    as<{ view?: RangeVar }>(node, 'ViewStmt')?.view,
  ];
  const out = rv.filter((r): r is RangeVar => r !== undefined).map((r) => relationName(r));
  const ix = as<{ idxname?: string; relation?: RangeVar }>(node, 'IndexStmt');
  if (ix?.idxname) out.push(ix.relation?.schemaname ? `${ix.relation.schemaname}.${ix.idxname}` : ix.idxname);
  return out;
}

/** Whether a relation was created by an earlier statement of the current section. */
function createdInSection(ctx: RuleContext, name: string | undefined): boolean {
  let memo = createdMemos.get(ctx.state);
  if (!memo) createdMemos.set(ctx.state, (memo = { names: new Set() }));
  if (memo.pending && memo.pending !== ctx.stmt) {
    const p = memo.pending;
    for (const n of relationsCreatedBy(p.node)) {
      memo.names.add(n);
      memo.names.add(bare(n));
    }
    const r = as<{ relation?: RangeVar; renameType?: string; newname?: string }>(p.node, 'RenameStmt');
    if (r?.renameType === 'OBJECT_TABLE' && r.newname && (memo.names.has(relationName(r.relation)) || memo.names.has(r.relation?.relname ?? ''))) memo.names.add(r.newname);
  }
  memo.pending = ctx.stmt;
  if (!name) return false;
  return memo.names.has(name) || memo.names.has(bare(name));
}

// ---------------------------------------------------------------------------------------------------

const IF_NOT_EXISTS_TYPES = new Set(['CreateStmt', 'CreateTableAsStmt', 'IndexStmt', 'CreateSchemaStmt', 'CreateSeqStmt', 'CreateExtensionStmt', 'AlterTableStmt']);
const UNGUARDED_TYPES = new Set(['CreatePolicyStmt', 'CreateTrigStmt', 'CreateEnumStmt', 'CreateRangeStmt', 'CompositeTypeStmt', 'AlterTableStmt']);

const DROP_KEYWORDS: Record<string, string[]> = {
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
const RELATION_DROPS = new Set(['OBJECT_TABLE', 'OBJECT_INDEX', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_SEQUENCE']);

function dropObjectName(removeType: string, o: unknown): string {
  const list = as<{ items?: unknown[] }>(o, 'List');
  if (list) {
    const n = names(list.items);
    if (removeType === 'OBJECT_TRIGGER' || removeType === 'OBJECT_POLICY' || removeType === 'OBJECT_RULE') {
      return n.length >= 2 ? `${n[n.length - 1]} ON ${n.slice(0, -1).join('.')}` : n.join('.');
    }
    return n.join('.');
  }
  const tn = as<{ names?: unknown[] }>(o, 'TypeName');
  if (tn) return qualified(tn.names);
  const fn = as<{ objname?: unknown[] }>(o, 'ObjectWithArgs');
  if (fn) return qualified(fn.objname);
  return as<{ sval?: string }>(o, 'String')?.sval ?? '?';
}

function dropRelation(o: unknown): string | undefined {
  const n = names(as<{ items?: unknown[] }>(o, 'List')?.items);
  return n.length ? n.join('.') : undefined;
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
    check(ctx) {
      const s = ctx.stmt;
      if (!IF_NOT_EXISTS_TYPES.has(s.type ?? '')) return;
      const tokens = tokensOf(ctx);
      /** `advice`: what to write instead (default: `<what> IF NOT EXISTS`). */
      const report = (what: string, name: string, kw: { start: number; end: number } | undefined, insertAt: number | undefined, advice = `Write ${what} IF NOT EXISTS ${name}.`) => {
        const fix = insertAt === undefined ? undefined : validated(ctx, ctx.insert('Add IF NOT EXISTS', insertAt, ' IF NOT EXISTS'));
        ctx.report({
          message: `${what} ${name} without IF NOT EXISTS: ${RETRY} with "already exists". ${advice}`,
          start: kw?.start ?? s.start,
          end: kw?.end,
          severity: idempotencySeverity(ctx),
          ...(fix ? { fixes: [fix] } : {}),
        });
      };
      /** The object keyword(s) of `CREATE … <seq>`: first match at depth 0. */
      const keyword = (...seq: string[]) => {
        const i = findWord(tokens, 1, 0, seq[0]);
        const e = i < 0 ? -1 : seqEnd(tokens, i, seq);
        return e < 0 ? undefined : { i, e, range: range(tokens, i, e)! };
      };

      const create = as<{ relation?: Rel; if_not_exists?: boolean }>(s.node, 'CreateStmt');
      if (create && !create.if_not_exists && !isTemp(create.relation)) {
        const kw = keyword('table');
        report('CREATE TABLE', relationName(create.relation), kw?.range, kw?.range.end);
        return;
      }
      const ctas = as<{ into?: { rel?: Rel }; objtype?: string; if_not_exists?: boolean }>(s.node, 'CreateTableAsStmt');
      if (ctas && !ctas.if_not_exists && !isTemp(ctas.into?.rel)) {
        const mat = ctas.objtype === 'OBJECT_MATVIEW';
        const kw = mat ? keyword('materialized', 'view') : keyword('table');
        report(mat ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE', `${relationName(ctas.into?.rel)}${mat ? '' : ' AS …'}`, kw?.range, kw?.range.end);
        return;
      }
      const ix = as<{ idxname?: string; relation?: RangeVar; if_not_exists?: boolean; concurrent?: boolean }>(s.node, 'IndexStmt');
      if (ix && !ix.if_not_exists) {
        const kw = keyword('index');
        let at = kw?.range.end;
        if (kw && ix.concurrent && isWord(tokens[kw.e], 'concurrently')) at = tokens[kw.e].end;
        if (!ix.idxname) {
          const table = relationName(ix.relation);
          ctx.report({
            message: `CREATE INDEX on ${table} without a name: a retry after a partial run does not fail but builds a second, identical index (twice the disk space and write cost), and an unnamed index has no IF NOT EXISTS form. Give the index a name and add IF NOT EXISTS: CREATE INDEX${ix.concurrent ? ' CONCURRENTLY' : ''} IF NOT EXISTS <name> ON ${table} ….`,
            start: kw?.range.start ?? s.start,
            end: kw?.range.end,
            severity: idempotencySeverity(ctx),
          });
        } else {
          report('CREATE INDEX', ix.idxname, kw?.range, at, `Write CREATE INDEX${ix.concurrent ? ' CONCURRENTLY' : ''} IF NOT EXISTS ${ix.idxname}.`);
        }
        return;
      }
      const schema = as<{ schemaname?: string; authrole?: { rolename?: string }; if_not_exists?: boolean; schemaElts?: unknown[] }>(s.node, 'CreateSchemaStmt');
      if (schema && !schema.if_not_exists) {
        const kw = keyword('schema');
        const name = schema.schemaname ?? schema.authrole?.rolename ?? '';
        if (schema.schemaElts?.length) {
          report('CREATE SCHEMA', name, kw?.range, undefined,
            'IF NOT EXISTS cannot be combined with schema elements: create the schema on its own with CREATE SCHEMA IF NOT EXISTS, then its objects in separate statements (each with IF NOT EXISTS).');
        } else {
          report('CREATE SCHEMA', name, kw?.range, kw?.range.end);
        }
        return;
      }
      const seq = as<{ sequence?: Rel; if_not_exists?: boolean }>(s.node, 'CreateSeqStmt');
      if (seq && !seq.if_not_exists && !isTemp(seq.sequence)) {
        const kw = keyword('sequence');
        report('CREATE SEQUENCE', relationName(seq.sequence), kw?.range, kw?.range.end);
        return;
      }
      const ext = as<{ extname?: string; if_not_exists?: boolean }>(s.node, 'CreateExtensionStmt');
      if (ext && !ext.if_not_exists) {
        const kw = keyword('extension');
        report('CREATE EXTENSION', ext.extname ?? '?', kw?.range, kw?.range.end);
        return;
      }
      const alter = as<{ relation?: RangeVar; cmds?: unknown[] }>(s.node, 'AlterTableStmt');
      if (alter) {
        const cmds = alter.cmds ?? [];
        const segs = alterSegments(ctx, alter.relation);
        cmds.forEach((c, k) => {
          const cmd = as<{ subtype?: string; def?: unknown; missing_ok?: boolean }>(c, 'AlterTableCmd');
          if (cmd?.subtype !== 'AT_AddColumn' || cmd.missing_ok) return;
          const col = as<{ colname?: string }>(cmd.def, 'ColumnDef')?.colname ?? '?';
          const seg = segs.length === cmds.length ? segs[k] : undefined;
          let kw: { start: number; end: number } | undefined;
          if (seg && isWord(tokens[seg.from], 'add')) {
            const e = isWord(tokens[seg.from + 1], 'column') ? seg.from + 2 : seg.from + 1;
            kw = range(tokens, seg.from, e);
          }
          report('ADD COLUMN', `${col} to ${relationName(alter.relation)}`, kw, kw?.end,
            `Write ADD COLUMN IF NOT EXISTS ${col}.`);
        });
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
    check(ctx) {
      const s = ctx.stmt;
      createdInSection(ctx, undefined); // sees every statement, so later ones know what this one created
      if (s.type !== 'DropStmt' && s.type !== 'AlterTableStmt') return;
      const tokens = tokensOf(ctx);
      const drop = as<{ removeType?: string; objects?: unknown[]; missing_ok?: boolean; concurrent?: boolean }>(s.node, 'DropStmt');
      if (drop && !drop.missing_ok && drop.removeType && DROP_KEYWORDS[drop.removeType]) {
        const objects = drop.objects ?? [];
        if (RELATION_DROPS.has(drop.removeType) && objects.length > 0 && objects.every((o) => createdInSection(ctx, dropRelation(o)))) return;
        const seq = DROP_KEYWORDS[drop.removeType];
        const e = isWord(tokens[0], 'drop') ? seqEnd(tokens, 1, seq) : -1;
        let at = e < 0 ? undefined : tokens[e - 1].end;
        if (e > 0 && drop.concurrent && isWord(tokens[e], 'concurrently')) at = tokens[e].end;
        const what = `DROP ${seq.join(' ').toUpperCase()}`;
        const fix = at === undefined ? undefined : validated(ctx, ctx.insert('Add IF EXISTS', at, ' IF EXISTS'));
        const kw = e < 0 ? undefined : range(tokens, 1, e);
        const objList = objects.map((o) => dropObjectName(drop.removeType!, o)).join(', ');
        ctx.report({
          message: `${what} ${objList} without IF EXISTS: ${RETRY_DROP} with "does not exist". Write ${what}${drop.concurrent ? ' CONCURRENTLY' : ''} IF EXISTS ${objList}.`,
          start: kw?.start ?? s.start,
          end: kw?.end,
          severity: idempotencySeverity(ctx),
          ...(fix ? { fixes: [fix] } : {}),
        });
        return;
      }
      const alter = as<{ relation?: RangeVar; cmds?: unknown[] }>(s.node, 'AlterTableStmt');
      if (!alter) return;
      const cmds = alter.cmds ?? [];
      const segs = alterSegments(ctx, alter.relation);
      const table = relationName(alter.relation);
      cmds.forEach((c, k) => {
        const cmd = as<{ subtype?: string; name?: string; missing_ok?: boolean }>(c, 'AlterTableCmd');
        if (!cmd || cmd.missing_ok || (cmd.subtype !== 'AT_DropColumn' && cmd.subtype !== 'AT_DropConstraint')) return;
        const isCol = cmd.subtype === 'AT_DropColumn';
        const seg = segs.length === cmds.length ? segs[k] : undefined;
        let kw: { start: number; end: number } | undefined;
        if (seg && isWord(tokens[seg.from], 'drop')) {
          const e = isWord(tokens[seg.from + 1], 'column', 'constraint') ? seg.from + 2 : seg.from + 1;
          kw = range(tokens, seg.from, e);
        }
        const fix = kw ? validated(ctx, ctx.insert('Add IF EXISTS', kw.end, ' IF EXISTS')) : undefined;
        const what = isCol ? 'DROP COLUMN' : 'DROP CONSTRAINT';
        ctx.report({
          message: `${what} ${cmd.name ?? '?'} on ${table} without IF EXISTS: ${RETRY_DROP} with "does not exist". Write ${what} IF EXISTS ${cmd.name ?? ''}.`.replace(/ \./, '.'),
          start: kw?.start ?? s.start,
          end: kw?.end,
          severity: idempotencySeverity(ctx),
          ...(fix ? { fixes: [fix] } : {}),
        });
      });
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
    check(ctx) {
      const s = ctx.stmt;
      if (s.type !== 'CreateFunctionStmt' && s.type !== 'ViewStmt' && s.type !== 'CreateTrigStmt') return;
      const tokens = tokensOf(ctx);
      let what: string | undefined;
      let name = '';
      let kwWord = '';
      const fn = as<{ replace?: boolean; is_procedure?: boolean; funcname?: unknown[] }>(s.node, 'CreateFunctionStmt');
      const view = as<{ replace?: boolean; view?: Rel }>(s.node, 'ViewStmt');
      const trig = as<{ replace?: boolean; isconstraint?: boolean; trigname?: string; relation?: RangeVar }>(s.node, 'CreateTrigStmt');
      if (fn && !fn.replace) {
        kwWord = fn.is_procedure ? 'procedure' : 'function';
        what = fn.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
        name = qualified(fn.funcname);
      } else if (view && !view.replace && !isTemp(view.view)) {
        kwWord = 'view';
        what = 'CREATE VIEW';
        name = relationName(view.view);
      } else if (trig && !trig.replace && !trig.isconstraint && ctx.pgVersion >= 14) {
        kwWord = 'trigger';
        what = 'CREATE TRIGGER';
        name = `${trig.trigname ?? '?'} on ${relationName(trig.relation)}`;
      }
      if (!what) return;
      const i = findWord(tokens, 1, 0, kwWord);
      const fix = isWord(tokens[0], 'create') ? validated(ctx, ctx.insert('Add OR REPLACE', tokens[0].end, ' OR REPLACE')) : undefined;
      ctx.report({
        message: `${what} ${name} without OR REPLACE: ${RETRY} with "already exists". Write ${what.replace('CREATE', 'CREATE OR REPLACE')}.`,
        start: i < 0 ? s.start : tokens[i].start,
        end: i < 0 ? undefined : tokens[i].end,
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
    check(ctx) {
      const s = ctx.stmt;
      const memo = guardMemo(ctx.state);
      const sev = idempotencySeverity(ctx);
      try {
        if (!UNGUARDED_TYPES.has(s.type ?? '')) return;
        const tokens = tokensOf(ctx);
        const policy = as<{ policy_name?: string; table?: RangeVar }>(s.node, 'CreatePolicyStmt');
        if (policy?.policy_name) {
          const table = relationName(policy.table);
          if (memo.dropped.has(guardKey('policy', table, policy.policy_name))) return;
          const kw = findWord(tokens, 1, 0, 'policy');
          const tIdx = policy.table?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(policy.table.location)) : -1;
          const nameSrc = kw >= 0 ? sourceOf(ctx, tokens, kw + 1, kw + 2) : '';
          const tableSrc = tIdx >= 0 ? sourceOf(ctx, tokens, tIdx, nameEnd(tokens, tIdx)) : '';
          const drop = nameSrc && tableSrc ? `DROP POLICY IF EXISTS ${nameSrc} ON ${tableSrc}` : undefined;
          const fix = drop ? validated(ctx, insertStatementBefore(ctx, `Add ${drop} before it`, drop)) : undefined;
          ctx.report({
            message: `CREATE POLICY ${policy.policy_name} on ${table} has no IF NOT EXISTS form: ${RETRY} with "already exists". Guard it with DROP POLICY IF EXISTS ${policy.policy_name} ON ${table} before it (or a DO block that checks pg_policies).`,
            start: kw >= 0 ? tokens[kw].start : s.start,
            end: kw >= 0 ? tokens[kw].end : undefined,
            severity: sev,
            ...(fix ? { fixes: [fix] } : {}),
          });
          return;
        }
        const trig = as<{ replace?: boolean; isconstraint?: boolean; trigname?: string; relation?: RangeVar }>(s.node, 'CreateTrigStmt');
        if (trig?.trigname && !trig.replace && (ctx.pgVersion < 14 || trig.isconstraint)) {
          const table = relationName(trig.relation);
          if (memo.dropped.has(guardKey('trigger', table, trig.trigname))) return;
          const kw = findWord(tokens, 1, 0, 'trigger');
          const tIdx = trig.relation?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(trig.relation.location)) : -1;
          const nameSrc = kw >= 0 ? sourceOf(ctx, tokens, kw + 1, kw + 2) : '';
          const tableSrc = tIdx >= 0 ? sourceOf(ctx, tokens, tIdx, nameEnd(tokens, tIdx)) : '';
          const drop = nameSrc && tableSrc ? `DROP TRIGGER IF EXISTS ${nameSrc} ON ${tableSrc}` : undefined;
          const fix = drop ? validated(ctx, insertStatementBefore(ctx, `Add ${drop} before it`, drop)) : undefined;
          const why = trig.isconstraint ? 'a constraint trigger has no OR REPLACE form' : `CREATE OR REPLACE TRIGGER needs PostgreSQL 14 (target: ${ctx.pgVersion})`;
          ctx.report({
            message: `CREATE ${trig.isconstraint ? 'CONSTRAINT ' : ''}TRIGGER ${trig.trigname} on ${table} is not repeatable (${why}): ${RETRY} with "already exists". Guard it with DROP TRIGGER IF EXISTS ${trig.trigname} ON ${table} before it.`,
            start: kw >= 0 ? tokens[kw].start : s.start,
            end: kw >= 0 ? tokens[kw].end : undefined,
            severity: sev,
            ...(fix ? { fixes: [fix] } : {}),
          });
          return;
        }
        let typeName: string | undefined;
        const en = as<{ typeName?: unknown[] }>(s.node, 'CreateEnumStmt');
        const rg = as<{ typeName?: unknown[] }>(s.node, 'CreateRangeStmt');
        const comp = as<{ typevar?: RangeVar }>(s.node, 'CompositeTypeStmt');
        if (en) typeName = qualified(en.typeName);
        else if (rg) typeName = qualified(rg.typeName);
        else if (comp) typeName = relationName(comp.typevar);
        if (typeName) {
          if (memo.dropped.has(guardKey('type', '', bare(typeName)))) return;
          const kw = findWord(tokens, 1, 0, 'type');
          ctx.report({
            message: `CREATE TYPE ${typeName} has no IF NOT EXISTS form: ${RETRY} with "already exists". Wrap it in DO $$ BEGIN CREATE TYPE …; EXCEPTION WHEN duplicate_object THEN NULL; END $$; (a DROP TYPE guard would fail, or cascade to columns, once the type is in use).`,
            start: kw >= 0 ? tokens[kw].start : s.start,
            end: kw >= 0 ? tokens[kw].end : undefined,
            severity: sev,
          });
          return;
        }
        const alter = as<{ relation?: RangeVar; cmds?: unknown[] }>(s.node, 'AlterTableStmt');
        if (alter) {
          const cmds = alter.cmds ?? [];
          const table = relationName(alter.relation);
          const segs = alterSegments(ctx, alter.relation);
          cmds.forEach((c, k) => {
            const cmd = as<{ subtype?: string; def?: unknown }>(c, 'AlterTableCmd');
            if (cmd?.subtype !== 'AT_AddConstraint') return;
            const con = as<{ contype?: string; conname?: string }>(cmd.def, 'Constraint');
            if (!con) return;
            if (con.conname && droppedConstraint(ctx, table, con.conname, cmds, k)) return;
            const seg = segs.length === cmds.length ? segs[k] : undefined;
            let kw: { start: number; end: number } | undefined;
            if (seg && isWord(tokens[seg.from], 'add')) kw = range(tokens, seg.from, isWord(tokens[seg.from + 1], 'constraint') ? seg.from + 2 : seg.from + 1);
            const kind = (con.contype ?? '').replace('CONSTR_', '').replace('PRIMARY', 'PRIMARY KEY').replace('FOREIGN', 'FOREIGN KEY');
            if (!con.conname) {
              ctx.report({
                message: `ADD ${kind} on ${table} without a constraint name: a retry fails, or adds a second copy of the constraint under a generated name. Name it (ADD CONSTRAINT name …) and guard it with ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS name before it.`,
                start: kw?.start ?? s.start,
                end: kw?.end,
                severity: sev,
              });
              return;
            }
            const indexBacked = con.contype === 'CONSTR_PRIMARY' || con.contype === 'CONSTR_UNIQUE' || con.contype === 'CONSTR_EXCLUSION';
            let fix: Fix | undefined;
            if (!indexBacked && seg) {
              const conIdx = findWord(tokens, seg.from, 0, 'constraint');
              const tIdx = alter.relation?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(alter.relation.location)) : -1;
              const only = tIdx > 0 && isWord(tokens[tIdx - 1], 'only') ? 'ONLY ' : '';
              const nameSrc = conIdx >= 0 && conIdx < seg.to ? sourceOf(ctx, tokens, conIdx + 1, conIdx + 2) : '';
              const tableSrc = tIdx >= 0 ? sourceOf(ctx, tokens, tIdx, nameEnd(tokens, tIdx)) : '';
              if (nameSrc && tableSrc) {
                const drop = `ALTER TABLE ${only}${tableSrc} DROP CONSTRAINT IF EXISTS ${nameSrc}`;
                fix = validated(ctx, insertStatementBefore(ctx, `Add ${drop} before it`, drop));
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
          });
        }
      } finally {
        recordDrops(ctx);
        const alter = as<{ relation?: RangeVar; cmds?: unknown[] }>(s.node, 'AlterTableStmt');
        if (alter) recordAlterDrops(ctx, relationName(alter.relation), alter.cmds ?? []);
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
    check(ctx) {
      const s = ctx.stmt;
      const ins = as<{ relation?: RangeVar; selectStmt?: unknown; onConflictClause?: unknown; returningClause?: unknown }>(s.node, 'InsertStmt');
      const isNew = createdInSection(ctx, ins ? relationName(ins.relation) : undefined);
      if (!ins || ins.onConflictClause || !ins.selectStmt || isNew) return;
      const target = ins.relation?.relname;
      let readsTarget = false;
      const visit = (n: unknown): void => {
        if (readsTarget || !n || typeof n !== 'object') return;
        if (Array.isArray(n)) return n.forEach(visit);
        const rv = as<RangeVar>(n, 'RangeVar');
        if (rv && rv.relname === target) {
          readsTarget = true;
          return;
        }
        for (const v of Object.values(n)) visit(v);
      };
      visit(ins.selectStmt);
      if (readsTarget) return;
      const tokens = tokensOf(ctx);
      const table = relationName(ins.relation);
      const tIdx = ins.relation?.location !== undefined ? tokenIndexAt(tokens, ctx.offset(ins.relation.location)) : -1;
      const at = tIdx >= 0 ? range(tokens, tIdx, nameEnd(tokens, tIdx)) : undefined;
      let insertAt: number | undefined;
      if (ins.returningClause) {
        let r = -1;
        for (let i = tokens.length - 1; i >= 0; i--) if (tokens[i].depth === 0 && isWord(tokens[i], 'returning')) { r = i; break; }
        if (r > 0) insertAt = tokens[r - 1].end;
      } else if (tokens.length) {
        insertAt = tokens[tokens.length - 1].end;
      }
      const fix = insertAt === undefined ? undefined : validated(ctx, ctx.insert('Add ON CONFLICT DO NOTHING', insertAt, ' ON CONFLICT DO NOTHING'));
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
