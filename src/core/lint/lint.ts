import { maskPsqlVariables, splitStatements } from '../sql/split';
import { codePointPositionToIndex } from '../sql/text';
import { as, names, RangeVar, relationName, unwrap } from './ast';
import { FileState, LintSettings, RuleContext, SectionInfo } from './context';
import { AstNode, ParseOutcome, parsePlpgsql, parseSql, parseStatements } from './parser';
import type { Finding, RuleDoc, RuleSetting, Severity, StatementInfo } from './types';

export interface Rule extends RuleDoc {
  /** Judge the current statement (`ctx.stmt`), reporting with `ctx.report`. */
  check?(ctx: RuleContext): void;
  /** Called once at the end of each section (e.g. a BEGIN never committed). */
  finish?(ctx: RuleContext): void;
  /** Also run on statements inside DO blocks (they execute at migration time). Default false. */
  embedded?: boolean;
  /**
   * The statement node types the rule judges (e.g. ['AlterTableStmt', 'IndexStmt']); the runner skips
   * the rule for other statements. Leave unset only for rules that look at every statement: the
   * linter runs on every keystroke.
   */
  types?: readonly string[];
}

export const DEFAULT_PG_VERSION = 17;

export const DEFAULT_SETTINGS: LintSettings = {
  pgVersion: DEFAULT_PG_VERSION,
  assumeInTransaction: true,
  lockTimeoutByRunner: false,
  rules: {},
};

const MARKER = /^--[ \t]*migrate:(up|down)\b(.*)$/gm;

/** Bulwark/dbmate sections, or the whole file as one section (with the configured transaction assumption). */
export function sectionsOf(text: string, assumeInTransaction: boolean): SectionInfo[] {
  const markers: { dir: 'up' | 'down'; start: number; end: number; lineEnd: number; text: string; transaction: boolean }[] = [];
  MARKER.lastIndex = 0;
  for (let m = MARKER.exec(text); m; m = MARKER.exec(text)) {
    let lineText = m[0];
    if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
    const nl = text.indexOf('\n', m.index);
    markers.push({
      dir: m[1] as 'up' | 'down',
      start: m.index,
      end: m.index + lineText.length,
      lineEnd: nl < 0 ? text.length : nl + 1,
      text: lineText,
      transaction: !/\btransaction:false\b/.test(m[2]),
    });
  }
  if (markers.length === 0) return [{ kind: 'file', transaction: assumeInTransaction, start: 0, end: text.length }];
  return markers.map((mk, i) => ({
    kind: mk.dir,
    transaction: mk.transaction,
    start: mk.lineEnd,
    end: i + 1 < markers.length ? markers[i + 1].start : text.length,
    marker: { start: mk.start, end: mk.end, text: mk.text },
  }));
}

interface Ignore {
  start: number;
  end: number;
  rules: string[] | 'all';
  file: boolean;
  used: Set<string>;
  /** The statement it applies to (statement-level ignores). */
  target?: { start: number; end: number };
}

const IGNORE = /^--\s*bulwark-ignore(-file)?(?:\s+(.*?))?\s*$/;

function parseIgnores(text: string): Ignore[] {
  const out: Ignore[] = [];
  for (const c of splitStatements(text).comments) {
    if (c.kind !== 'line') continue;
    const m = IGNORE.exec(c.text.trim());
    if (!m) continue;
    const list = (m[2] ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    out.push({ start: c.start, end: c.end, rules: list.length ? list : 'all', file: Boolean(m[1]), used: new Set() });
  }
  return out;
}

const TX_START = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const TX_END = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

export interface LintResult {
  findings: Finding[];
  /** Number of statements parsed (for benchmarks and tests). */
  statements: number;
}

export interface LintOptions {
  /**
   * Keep parse results for the next lint (default true: the editor re-lints the same text on every
   * keystroke). A one-pass lint of many files passes false: see the parse cache in ./parser.
   */
  cache?: boolean;
}

/**
 * Lint one file's SQL. Pure and synchronous (the parser must have been loaded with loadParser()).
 * Offsets in findings are UTF-16 indexes into `text`.
 */
export function lintText(text: string, rules: readonly Rule[], partial: Partial<LintSettings> = {}, options: LintOptions = {}): LintResult {
  const useCache = options.cache !== false;
  const settings: LintSettings = { ...DEFAULT_SETTINGS, ...partial, rules: { ...(partial.rules ?? {}) } };
  const findings: Finding[] = [];
  const { active, dispatch, embeddedDispatch } = dispatchFor(rules, settings.rules);
  const meta = (id: string): Severity | 'off' => effectiveSeverity(rules.find((r) => r.id === id), settings.rules[id]);
  const ignores = text.includes('bulwark-ignore') ? parseIgnores(text) : [];
  const stmtRanges: { start: number; end: number }[] = [];
  let count = 0;

  let upCreated: Set<string> | undefined;
  for (const section of sectionsOf(text, settings.assumeInTransaction)) {
    const state = new FileState();
    state.lockTimeoutSet = state.lockTimeoutByRunner = settings.lockTimeoutByRunner;
    // A down section undoes its up section: what the up created is "new" to it (dropping it loses nothing
    // that existed before the migration).
    if (section.kind === 'down' && upCreated) for (const n of upCreated) state.created.add(n);
    if (section.kind === 'up') upCreated = state.created;
    const sectionText = text.slice(section.start, section.end);
    const split = splitStatements(sectionText);
    const ctx = new RuleContext(text, settings, section, state, (f) => findings.push(f), useCache);
    for (const e of split.errors) {
      const sev = meta('syntax-error');
      if (sev !== 'off') findings.push({ rule: 'syntax-error', severity: sev, message: `syntax error: ${e.message}`, start: section.start + e.offset, end: section.start + e.offset + 1 });
    }
    let index = 0;
    // Parsed all at once (see parseStatements), psql variables masked; statements the splitter already
    // reported (unterminated quote or comment) are not parsed: that would report them twice.
    const parsedTexts = split.statements.map((s) =>
      s.kind !== 'sql' || (split.errors.length > 0 && split.errors.some((e) => e.offset >= s.start && e.offset <= s.end)) ? undefined : maskPsqlVariables(s.text),
    );
    const outcomes = parseStatements(parsedTexts.filter((t): t is string => t !== undefined), useCache);
    let next = 0;
    for (const [i, s] of split.statements.entries()) {
      const start = section.start + s.start;
      const end = section.start + s.end;
      stmtRanges.push({ start, end: section.start + s.terminatorEnd });
      const parsedText = parsedTexts[i];
      if (parsedText === undefined) continue;
      const parsed: ParseOutcome = outcomes[next++];
      count++;
      if (!parsed.ok) {
        const sev = meta('syntax-error');
        if (sev !== 'off') {
          // libpg-query's cursor is a 0-based count of characters (code points), unlike AST locations (bytes).
          const at = parsed.cursor !== undefined ? start + codePointPositionToIndex(parsedText, parsed.cursor + 1) : start;
          findings.push({ rule: 'syntax-error', severity: sev, message: parsed.message, start: Math.min(at, end), end: Math.min(Math.max(ctx.wordAtIn(at, end), at + 1), Math.max(end, at + 1)) });
        }
        continue;
      }
      for (const p of parsed.statements) {
        const u = unwrap(p.stmt);
        const info: StatementInfo = {
          node: p.stmt, type: u?.[0], text: s.text, start, end, terminatorEnd: section.start + s.terminatorEnd,
          inTransaction: section.transaction || state.explicitTx, index: index++,
        };
        runRules(ctx, info, parsedText, parsed.base, dispatch, false);
        track(ctx, info);
        if (info.type === 'DoStmt') lintDoBlock(ctx, info, parsedText, parsed.base, embeddedDispatch);
      }
    }
    ctx.stmt = { text: '', start: section.end, end: section.end, terminatorEnd: section.end, inTransaction: false, index };
    for (const { rule, severity } of active) {
      if (!rule.finish) continue;
      ctx.ruleId = rule.id;
      ctx.severity = severity;
      try {
        rule.finish(ctx);
      } catch (e) {
        internalError(findings, rule.id, section.start, e);
      }
    }
  }

  // Suppressions: `-- bulwark-ignore a, b` applies to the next statement; `-- bulwark-ignore-file a` to the file.
  for (const ig of ignores) if (!ig.file) ig.target = stmtRanges.find((r) => r.start >= ig.end);
  const kept = findings.filter((f) => {
    for (const ig of ignores) {
      const applies = ig.file || (ig.target && f.start >= ig.target.start && f.start <= ig.target.end);
      if (!applies) continue;
      if (ig.rules === 'all' || ig.rules.includes(f.rule)) {
        ig.used.add(f.rule);
        return false;
      }
    }
    return true;
  });
  const unusedSev = ignores.length > 0 ? meta('unused-ignore') : 'off';
  if (unusedSev !== 'off') {
    const known = new Set(rules.map((r) => r.id));
    for (const ig of ignores) {
      const list = ig.rules === 'all' ? [] : ig.rules;
      for (const id of list) {
        if (!known.has(id)) {
          kept.push({ rule: 'unused-ignore', severity: unusedSev, message: `unknown rule "${id}" in ${ig.file ? 'bulwark-ignore-file' : 'bulwark-ignore'}`, start: ig.start, end: ig.end, fixes: [removeIgnoreFix(text, ig)] });
        } else if (!ig.used.has(id)) {
          kept.push({ rule: 'unused-ignore', severity: unusedSev, message: `this ignore suppresses nothing: ${ig.file ? 'no statement in the file' : 'the next statement'} does not trigger "${id}"`, start: ig.start, end: ig.end, fixes: [removeIgnoreFix(text, ig)] });
        }
      }
      if (ig.rules === 'all' && ig.used.size === 0) {
        kept.push({ rule: 'unused-ignore', severity: unusedSev, message: 'this ignore suppresses nothing', start: ig.start, end: ig.end, fixes: [removeIgnoreFix(text, ig)] });
      }
    }
  }
  kept.sort((a, b) => a.start - b.start || a.end - b.end || (a.rule < b.rule ? -1 : 1));
  return { findings: kept, statements: count };
}

function removeIgnoreFix(text: string, ig: Ignore) {
  const lineStart = text.lastIndexOf('\n', ig.start - 1) + 1;
  const onlyComment = text.slice(lineStart, ig.start).trim() === '';
  const nl = text.indexOf('\n', ig.end);
  return onlyComment
    ? { title: 'Remove the unused ignore comment', edits: [{ start: lineStart, end: nl < 0 ? text.length : nl + 1, text: '' }] }
    : { title: 'Remove the unused ignore comment', edits: [{ start: ig.start, end: ig.end, text: '' }] };
}

function effectiveSeverity(rule: Rule | undefined, setting: RuleSetting | undefined): Severity | 'off' {
  if (setting) return setting;
  return rule?.defaultSeverity ?? 'off';
}

type Active = { rule: Rule; severity: Severity }[];

/**
 * The active rules and their dispatch tables for a rule list and rule settings, kept for the next lint with
 * the same ones (the editor and the CLI lint file after file with the same configuration).
 */
let lastDispatch: { rules: readonly Rule[]; settings: Record<string, RuleSetting>; active: Active; dispatch: Dispatch; embeddedDispatch: Dispatch } | undefined;

function dispatchFor(rules: readonly Rule[], settings: Record<string, RuleSetting>) {
  if (lastDispatch && lastDispatch.rules === rules && sameSettings(lastDispatch.settings, settings)) return lastDispatch;
  const active = rules
    .map((r) => ({ rule: r, severity: effectiveSeverity(r, settings[r.id]) }))
    .filter((x): x is { rule: Rule; severity: Severity } => x.severity !== 'off');
  lastDispatch = { rules, settings: { ...settings }, active, dispatch: new Dispatch(active), embeddedDispatch: new Dispatch(active.filter((x) => x.rule.embedded)) };
  return lastDispatch;
}

function sameSettings(a: Record<string, RuleSetting>, b: Record<string, RuleSetting>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** The active rules that judge each statement type (rules without `types` judge every type). */
class Dispatch {
  private readonly byType = new Map<string, Active>();
  constructor(private readonly active: Active) {}
  for(type: string | undefined): Active {
    const key = type ?? '';
    let l = this.byType.get(key);
    if (!l) {
      l = this.active.filter(({ rule }) => rule.check && (!rule.types || (type !== undefined && rule.types.includes(type))));
      this.byType.set(key, l);
    }
    return l;
  }
}

function runRules(ctx: RuleContext, info: StatementInfo, parsedText: string, base: number, dispatch: Dispatch, embedded: boolean) {
  ctx.stmt = info;
  ctx.parsedText = parsedText;
  ctx.locationBase = base;
  for (const { rule, severity } of dispatch.for(info.type)) {
    if (!rule.check || (embedded && !rule.embedded)) continue;
    ctx.ruleId = rule.id;
    ctx.severity = severity;
    try {
      rule.check(ctx);
    } catch (e) {
      internalError(ctx.findingsSink, rule.id, info.start, e);
    }
  }
}

function internalError(sink: Finding[] | ((f: Finding) => void), rule: string, at: number, e: unknown) {
  const f: Finding = { rule: 'internal-error', severity: 'info', message: `rule ${rule} failed on this statement: ${e instanceof Error ? e.message : String(e)}`, start: at, end: at + 1 };
  if (Array.isArray(sink)) sink.push(f);
  else sink(f);
}

/**
 * DO blocks run at migration time, so the SQL inside them is linted too (with the rules that opt in:
 * idempotency rules stay silent there, since DO blocks are how guards like IF NOT EXISTS are written).
 * Function bodies are not linted: they run later, when called.
 */
function lintDoBlock(ctx: RuleContext, info: StatementInfo, parsedText: string, base: number, embeddedRules: Dispatch) {
  const doStmt = as<{ args?: unknown[] }>(info.node, 'DoStmt');
  let language = 'plpgsql';
  let body: { text: string; location?: number } | undefined;
  for (const a of doStmt?.args ?? []) {
    const d = as<{ defname?: string; arg?: unknown }>(a, 'DefElem');
    const sval = as<{ sval?: string }>(d?.arg, 'String')?.sval;
    if (d?.defname === 'language' && sval) language = sval.toLowerCase();
    if (d?.defname === 'as' && sval !== undefined) body = { text: sval };
  }
  if (language !== 'plpgsql' || !body) return;
  const bodyStart = parsedText.indexOf(body.text);
  if (bodyStart < 0) return;
  const fn = parsePlpgsql(`CREATE FUNCTION bulwark_do_block() RETURNS void LANGUAGE plpgsql AS $bulwark$${body.text}$bulwark$`, ctx.cacheParses);
  if (!fn.ok) return;
  const queries: string[] = [];
  const collect = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(collect);
    if (!n || typeof n !== 'object') return;
    for (const [k, v] of Object.entries(n)) {
      if (k === 'PLpgSQL_stmt_execsql') {
        const q = (v as { sqlstmt?: { PLpgSQL_expr?: { query?: string } } }).sqlstmt?.PLpgSQL_expr?.query;
        if (q) queries.push(q);
      }
      collect(v);
    }
  };
  collect(fn.functions);
  let searchFrom = bodyStart;
  for (const q of queries) {
    const at = parsedText.indexOf(q, searchFrom);
    if (at < 0) continue;
    searchFrom = at + q.length;
    const parsed = parseSql(q, ctx.cacheParses);
    if (!parsed.ok) continue;
    for (const p of parsed.statements) {
      const start = info.start + at;
      const sub: StatementInfo = { node: p.stmt, type: unwrap(p.stmt)?.[0], text: q, start, end: start + q.length, terminatorEnd: start + q.length, inTransaction: true, index: info.index, embedded: true };
      runRules(ctx, sub, q, parsed.base, embeddedRules, true);
      track(ctx, sub);
    }
  }
  ctx.stmt = info;
  ctx.parsedText = parsedText;
  ctx.locationBase = base;
}

/** Update what the file has done, after the rules judged the statement. */
function track(ctx: RuleContext, info: StatementInfo): void {
  const st = ctx.state;
  const node = info.node;
  switch (info.type) {
    case 'TransactionStmt': {
      const kind = (as<{ kind?: string }>(node, 'TransactionStmt')?.kind) ?? '';
      if (TX_START.has(kind)) {
        st.explicitTx = true;
        st.explicitTxStart = info.start;
      } else if (TX_END.has(kind)) {
        st.explicitTx = false;
        st.endTransaction();
      }
      return;
    }
    case 'CreateStmt':
      st.markCreated(as<{ relation?: RangeVar }>(node, 'CreateStmt')?.relation);
      return;
    case 'CreateTableAsStmt':
      st.markCreated(as<{ into?: { rel?: RangeVar } }>(node, 'CreateTableAsStmt')?.into?.rel);
      return;
    case 'CreateSeqStmt':
      st.markCreated(as<{ sequence?: RangeVar }>(node, 'CreateSeqStmt')?.sequence);
      return;
    case 'ViewStmt':
      st.markCreated(as<{ view?: RangeVar }>(node, 'ViewStmt')?.view);
      return;
    case 'IndexStmt': {
      const ix = as<{ idxname?: string; relation?: RangeVar; concurrent?: boolean }>(node, 'IndexStmt');
      if (ix?.idxname) st.markCreated(ix.relation?.schemaname ? `${ix.relation.schemaname}.${ix.idxname}` : ix.idxname);
      if (ix && !ix.concurrent && !st.isNew(ix.relation) && info.inTransaction) st.exclusiveInTx.set(relationName(ix.relation), info.start);
      return;
    }
    case 'VariableSetStmt': {
      const v = as<{ name?: string; kind?: string; args?: unknown[]; is_local?: boolean }>(node, 'VariableSetStmt');
      if (v?.name === 'lock_timeout') {
        const arg = v.args?.[0];
        const c = as<{ ival?: { ival?: number }; sval?: { sval?: string } }>(arg, 'A_Const');
        const zero = c !== undefined && ((c.ival !== undefined && !c.ival.ival) || c.sval?.sval === '0');
        // SET LOCAL outside a transaction does nothing (PostgreSQL only warns): it sets no timeout.
        const noop = v.is_local === true && !info.inTransaction;
        if (!noop) st.lockTimeoutSet = (v.kind === 'VAR_SET_VALUE' && !zero) || st.lockTimeoutByRunner;
        // SET LOCAL ends with an explicit transaction (a section the runner wraps is one transaction).
        st.lockTimeoutLocal = v.is_local === true && st.explicitTx;
      }
      return;
    }
    case 'AlterTableStmt': {
      const a = as<{ relation?: RangeVar; cmds?: unknown[] }>(node, 'AlterTableStmt');
      const table = relationName(a?.relation);
      const isNew = st.isNew(a?.relation);
      let exclusive = false;
      for (const c of a?.cmds ?? []) {
        const cmd = as<{ subtype?: string; name?: string; def?: unknown }>(c, 'AlterTableCmd');
        if (!cmd) continue;
        if (cmd.subtype !== 'AT_ValidateConstraint' && cmd.subtype !== 'AT_SetStatistics' && cmd.subtype !== 'AT_SetOptions' && cmd.subtype !== 'AT_ResetOptions') exclusive = true;
        if (cmd.subtype === 'AT_AddConstraint') {
          const con = as<{ contype?: string; conname?: string; skip_validation?: boolean; raw_expr?: unknown }>(cmd.def, 'Constraint');
          if (con?.skip_validation && con.conname && info.inTransaction) st.notValidInTx.add(`${table}/${con.conname}`);
          const col = notNullCheckColumn(con?.raw_expr);
          if (con?.contype === 'CONSTR_CHECK' && col) {
            if (con.skip_validation) st.pendingNotNull.set(`${table}/${con.conname ?? ''}`, col);
            else st.notNullChecks.add(`${table}/${col}`);
          }
        }
        if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
          const col = st.pendingNotNull.get(`${table}/${cmd.name}`);
          if (col) st.notNullChecks.add(`${table}/${col}`);
        }
      }
      if (exclusive && !isNew && info.inTransaction) st.exclusiveInTx.set(table, info.start);
      return;
    }
    case 'RenameStmt': {
      const r = as<{ relation?: RangeVar; renameType?: string; newname?: string }>(node, 'RenameStmt');
      if (r?.relation && (r.renameType === 'OBJECT_TABLE') && r.newname) {
        if (st.isNew(r.relation)) st.markCreated(r.newname);
      }
      if (r?.relation && !st.isNew(r.relation) && info.inTransaction) st.exclusiveInTx.set(relationName(r.relation), info.start);
      return;
    }
    case 'DropStmt':
    case 'TruncateStmt': {
      const rels: RangeVar[] = [];
      if (info.type === 'TruncateStmt') for (const r of as<{ relations?: unknown[] }>(node, 'TruncateStmt')?.relations ?? []) { const rv = as<RangeVar>(r, 'RangeVar'); if (rv) rels.push(rv); }
      else {
        const d = as<{ removeType?: string; objects?: unknown[] }>(node, 'DropStmt');
        if (d?.removeType === 'OBJECT_TABLE') for (const o of d.objects ?? []) { const n = names(as<{ items?: unknown[] }>(o, 'List')?.items); if (n.length) rels.push({ relname: n[n.length - 1], ...(n.length > 1 ? { schemaname: n[n.length - 2] } : {}) }); }
      }
      for (const rv of rels) if (!st.isNew(rv) && info.inTransaction) st.exclusiveInTx.set(relationName(rv), info.start);
      return;
    }
  }
}

/** `col IS NOT NULL` → 'col'. */
export function notNullCheckColumn(expr: unknown): string | undefined {
  const t = as<{ nulltesttype?: string; arg?: unknown }>(expr, 'NullTest');
  if (!t || t.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const ref = as<{ fields?: unknown[] }>(t.arg, 'ColumnRef');
  const n = names(ref?.fields);
  return n[n.length - 1];
}

export type { AstNode };
