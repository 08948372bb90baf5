
/**
 * The real PostgreSQL parser (libpg-query, PostgreSQL 18 grammar, compiled to WASM). It is loaded once,
 * asynchronously (the WASM file sits beside the bundle), and then used synchronously: linting on every
 * keystroke cannot await.
 */
import { indexToByteOffset } from '../sql/text';

/** The parts of libpg-query's Emscripten module Bulwark calls. */
interface PgQueryWasm {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(queryPtr: number): number;
  _wasm_free_parse_result(resultPtr: number): void;
  _wasm_parse_plpgsql(queryPtr: number): number;
  _wasm_free_string(ptr: number): void;
}

let wasm: PgQueryWasm | undefined;
let loading: Promise<void> | undefined;

export function loadParser(): Promise<void> {
  if (wasm) return Promise.resolve();
  loading ??= (async () => {
    // libpg-query's own Emscripten module (its WASM build of PostgreSQL's parser), called directly rather
    // than through the package's wrapper: strings cross into WASM memory with the native TextEncoder /
    // TextDecoder instead of JavaScript byte loops (a tenth of the parse time on migration files).
    // Required lazily so that commands which never lint do not pay for loading the WASM module.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const factory = require('libpg-query/wasm/libpg-query.js') as () => Promise<PgQueryWasm>;
    wasm = await factory();
  })();
  return loading;
}

export function parserLoaded(): boolean {
  return wasm !== undefined;
}

function parser(): PgQueryWasm {
  if (!wasm) throw new Error('internal: the SQL parser is not loaded; await loadParser() first');
  return wasm;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Copy `text` into WASM memory as a NUL-terminated UTF-8 string; the caller frees it. */
function toWasm(m: PgQueryWasm, text: string): number {
  const max = text.length * 3 + 1;
  const ptr = m._malloc(max);
  // HEAPU8 is replaced when the memory grows (which _malloc can do): read it after the call.
  const { written } = encoder.encodeInto(text, m.HEAPU8.subarray(ptr, ptr + max - 1));
  m.HEAPU8[ptr + written] = 0;
  return ptr;
}

function fromWasm(m: PgQueryWasm, ptr: number): string {
  const heap = m.HEAPU8;
  const end = heap.indexOf(0, ptr);
  return decoder.decode(heap.subarray(ptr, end < 0 ? heap.length : end));
}

/** The parse tree's JSON, or PostgreSQL's error (message and 0-based cursor, in characters). */
function parseRaw(sql: string): { json: string } | { message: string; cursor?: number } {
  const m = parser();
  const queryPtr = toWasm(m, sql);
  let resultPtr = 0;
  try {
    resultPtr = m._wasm_parse_query_raw(queryPtr);
    if (!resultPtr) throw new Error('the SQL parser ran out of memory');
    // struct PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error; }
    const heap32 = m.HEAPU32;
    const treePtr = heap32[resultPtr >> 2];
    const errorPtr = heap32[(resultPtr + 8) >> 2];
    if (errorPtr) {
      // struct PgQueryError { char *message; char *funcname; char *filename; int lineno; int cursorpos; … }
      const messagePtr = heap32[errorPtr >> 2];
      const cursorpos = heap32[(errorPtr + 16) >> 2] | 0;
      return { message: messagePtr ? fromWasm(m, messagePtr) : 'syntax error', cursor: cursorpos > 0 ? cursorpos - 1 : 0 };
    }
    return { json: treePtr ? fromWasm(m, treePtr) : '{}' };
  } finally {
    m._free(queryPtr);
    if (resultPtr) m._wasm_free_parse_result(resultPtr);
  }
}

export type AstNode = Record<string, unknown>;

export interface ParsedStatement {
  /** The statement node, e.g. `{ CreateStmt: {...} }`. */
  stmt: AstNode;
  /** UTF-8 byte offset and length inside the parsed text (0 fields are omitted by libpg-query). */
  location: number;
  length?: number;
}

export type ParseOutcome =
  | {
      ok: true;
      statements: ParsedStatement[];
      /**
       * UTF-8 byte offset of this text inside what the parser was given (parseStatements parses many texts
       * in one call): the AST's locations (`location`, `list_start`, … PostgreSQL's ParseLoc fields) count
       * from there. 0 when the text was parsed alone.
       */
      base: number;
    }
  | { ok: false; message: string; /** UTF-8 byte offset */ cursor?: number };

/**
 * Parse results by statement text, for the editor: re-linting a file after a keystroke re-parses only the
 * statement that changed (parsing dominates lint time); results are treated as immutable by every rule.
 * Bounded by the total size of the cached statements, dropping the oldest first.
 *
 * A one-pass lint (the CLI, `bulwark lint` in CI) parses without it (`cache: false`): every statement is
 * new there, and holding the trees in a long-lived Map is expensive beyond the memory. The Map's tables
 * end up in V8's old generation, so each young collection must treat every tree they point to as alive
 * (even after the cache dropped them) and copies them out: measured on the fixture corpus, 5–8 MB promoted
 * and 5–12 ms pauses per collection with the cache, 0.3 MB and ~1 ms without.
 */
const cache = new Map<string, ParseOutcome>();
let cachedChars = 0;
const CACHE_CHARS = 8 * 1024 * 1024;

/** What the parse caches hold (for tests). */
export function parseCacheSize(): { statements: number; plpgsql: number } {
  return { statements: cache.size, plpgsql: plCache.size };
}

export function clearParseCache(): void {
  cache.clear();
  plCache.clear();
  cachedChars = 0;
}

export function parseSql(sql: string, useCache = true): ParseOutcome {
  if (!useCache) return parseUncached(sql);
  const hit = cached(sql);
  if (hit) return hit;
  const r = parseUncached(sql);
  remember(sql, r);
  return r;
}

function cached(sql: string): ParseOutcome | undefined {
  const hit = cache.get(sql);
  if (hit) {
    // Refresh its position so frequently used statements stay.
    cache.delete(sql);
    cache.set(sql, hit);
  }
  return hit;
}

function remember(sql: string, r: ParseOutcome): void {
  cache.set(sql, r);
  cachedChars += sql.length;
  if (cachedChars > CACHE_CHARS) {
    for (const k of cache.keys()) {
      cache.delete(k);
      cachedChars -= k.length;
      if (cachedChars <= CACHE_CHARS * 0.75) break;
    }
  }
}

type RawTree = { stmts?: { stmt: AstNode; stmt_location?: number; stmt_len?: number }[] };

function parseUncached(sql: string): ParseOutcome {
  const r = parseRaw(sql);
  if (!('json' in r)) return { ok: false, ...r };
  const tree = JSON.parse(r.json) as RawTree;
  return {
    ok: true,
    statements: (tree.stmts ?? []).map((s) => ({ stmt: s.stmt, location: s.stmt_location ?? 0, ...(s.stmt_len ? { length: s.stmt_len } : {}) })),
    base: 0,
  };
}

/**
 * Parse the statements of a file (each text one statement, as the splitter cut them) with the outcomes
 * parseSql gives each, in as few calls into the parser as possible: the texts not in the cache are joined
 * with `;` lines and parsed together. Every call has a fixed cost (WASM entry and exit, PostgreSQL's
 * memory contexts, a JSON document to decode and parse), which weighs on the short statements migrations
 * are made of: on the fixture corpus the parse takes ~10 % less.
 *
 * The joined result is used only if it gives back exactly one statement per text, each within its own
 * text: a `;` that the grammar reads inside a statement (`CREATE RULE … DO (a; b)`), or a text holding
 * two statements, fails that check and the texts are parsed one by one. A syntax error stops the joined
 * parse: the texts before the one holding it are joined again, that text and the ones after it are parsed
 * one by one (each error then has its own message and position, as if parsed alone).
 */
export function parseStatements(texts: readonly string[], useCache = true): ParseOutcome[] {
  const out: (ParseOutcome | undefined)[] = new Array(texts.length);
  const todo: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    const hit = useCache ? cached(texts[i]) : undefined;
    if (hit) out[i] = hit;
    else todo.push(i);
  }
  parseJoined(texts, todo, out, true);
  for (const i of todo) {
    const joined = out[i];
    if (!joined) out[i] = parseSql(texts[i], useCache);
    else if (useCache) remember(texts[i], joined);
  }
  return out as ParseOutcome[];
}

const SEPARATOR = '\n;\n';

/** Fills `out` for the texts `idx` it parsed joined; leaves the others undefined (parsed alone later). */
function parseJoined(texts: readonly string[], idx: number[], out: (ParseOutcome | undefined)[], retry: boolean): void {
  if (idx.length < 2) return;
  const charStart: number[] = [];
  const byteStart: number[] = [];
  const byteEnd: number[] = [];
  let chars = 0;
  let bytes = 0;
  for (const i of idx) {
    const n = utf8Length(texts[i]);
    charStart.push(chars);
    byteStart.push(bytes);
    byteEnd.push(bytes + n);
    chars += texts[i].length + SEPARATOR.length;
    bytes += n + SEPARATOR.length;
  }
  const r = parseRaw(idx.map((i) => texts[i]).join(SEPARATOR));
  if (!('json' in r)) {
    if (!retry) return;
    // The cursor counts characters of the joined text: the text holding it (with the separator after it).
    let k = idx.length - 1;
    while (k > 0 && charStart[k] > (r.cursor ?? 0)) k--;
    parseJoined(texts, idx.slice(0, k), out, false);
    return;
  }
  const stmts = (JSON.parse(r.json) as RawTree).stmts ?? [];
  if (stmts.length !== idx.length) return;
  const last = idx.length - 1;
  for (let k = 0; k <= last; k++) {
    // A statement after a `;` starts right after it (on the newline before its text) and ends at the next
    // `;` (the separator's, one byte after its text); the last one runs to the end (no length).
    const s = stmts[k];
    const loc = s.stmt_location ?? 0;
    if (loc > byteStart[k] || (k > 0 && loc < byteStart[k] - 1)) return;
    if (k === last ? s.stmt_len : loc + (s.stmt_len ?? 0) !== byteEnd[k] + 1) return;
  }
  for (let k = 0; k <= last; k++) out[idx[k]] = { ok: true, statements: [{ stmt: stmts[k].stmt, location: 0 }], base: byteStart[k] };
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Bytes the text takes in UTF-8 (what AST locations count). */
function utf8Length(t: string): number {
  return NON_ASCII.test(t) ? indexToByteOffset(t, t.length) : t.length;
}

export interface PlpgsqlOutcome {
  ok: boolean;
  /** The PL/pgSQL function tree (plpgsql_funcs). */
  functions?: AstNode[];
  message?: string;
  cursor?: number;
}

const plCache = new Map<string, PlpgsqlOutcome>();

/** Parse a CREATE FUNCTION / DO statement's PL/pgSQL body with the PL/pgSQL grammar (cached like parseSql). */
export function parsePlpgsql(sql: string, useCache = true): PlpgsqlOutcome {
  const hit = plCache.get(sql);
  if (hit) return hit;
  const r = parsePlpgsqlUncached(sql);
  if (!useCache) return r;
  if (plCache.size >= 2000) plCache.delete(plCache.keys().next().value as string);
  plCache.set(sql, r);
  return r;
}

function parsePlpgsqlUncached(sql: string): PlpgsqlOutcome {
  const m = parser();
  const queryPtr = toWasm(m, sql);
  let resultPtr = 0;
  try {
    resultPtr = m._wasm_parse_plpgsql(queryPtr);
    const text = resultPtr ? fromWasm(m, resultPtr) : 'the PL/pgSQL parser ran out of memory';
    // Success is a JSON object; anything else is the error message.
    if (!text.startsWith('{')) return { ok: false, message: text };
    const r = JSON.parse(text) as { plpgsql_funcs?: AstNode[] };
    return { ok: true, functions: r.plpgsql_funcs ?? [] };
  } finally {
    m._free(queryPtr);
    if (resultPtr) m._wasm_free_string(resultPtr);
  }
}
