import type { ParseResult } from 'libpg-query';

/**
 * The real PostgreSQL parser (libpg-query, PostgreSQL 18 grammar, compiled to WASM). It is loaded once,
 * asynchronously (the WASM file sits beside the bundle), and then used synchronously: linting on every
 * keystroke cannot await.
 */
type PgQuery = typeof import('libpg-query');

let mod: PgQuery | undefined;
let loading: Promise<void> | undefined;

export function loadParser(): Promise<void> {
  if (mod) return Promise.resolve();
  loading ??= (async () => {
    // Required lazily so that commands which never lint do not pay for loading the WASM module.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('libpg-query') as PgQuery;
    await m.loadModule();
    mod = m;
  })();
  return loading;
}

export function parserLoaded(): boolean {
  return mod !== undefined;
}

function parser(): PgQuery {
  if (!mod) throw new Error('internal: the SQL parser is not loaded; await loadParser() first');
  return mod;
}

export type AstNode = Record<string, unknown>;

export interface ParsedStatement {
  /** The statement node, e.g. `{ CreateStmt: {...} }`. */
  stmt: AstNode;
  /** UTF-8 byte offset and length inside the parsed text (0 fields are omitted by libpg-query). */
  location: number;
  length?: number;
}

export type ParseOutcome = { ok: true; statements: ParsedStatement[] } | { ok: false; message: string; /** UTF-8 byte offset */ cursor?: number };

/**
 * Parse results by statement text. Re-linting a file after a keystroke re-parses only the statement that
 * changed (parsing dominates lint time); results are treated as immutable by every rule. Bounded by
 * the total size of the cached statements, dropping the oldest first.
 */
const cache = new Map<string, ParseOutcome>();
let cachedChars = 0;
const CACHE_CHARS = 8 * 1024 * 1024;

export function clearParseCache(): void {
  cache.clear();
  plCache.clear();
  cachedChars = 0;
}

export function parseSql(sql: string): ParseOutcome {
  const hit = cache.get(sql);
  if (hit) {
    // Refresh its position so frequently used statements stay.
    cache.delete(sql);
    cache.set(sql, hit);
    return hit;
  }
  const r = parseUncached(sql);
  cache.set(sql, r);
  cachedChars += sql.length;
  if (cachedChars > CACHE_CHARS) {
    for (const k of cache.keys()) {
      cache.delete(k);
      cachedChars -= k.length;
      if (cachedChars <= CACHE_CHARS * 0.75) break;
    }
  }
  return r;
}

function parseUncached(sql: string): ParseOutcome {
  try {
    const r: ParseResult = parser().parseSync(sql);
    return {
      ok: true,
      statements: (r.stmts ?? []).map((s) => ({ stmt: s.stmt as unknown as AstNode, location: s.stmt_location ?? 0, ...(s.stmt_len ? { length: s.stmt_len } : {}) })),
    };
  } catch (e) {
    return { ok: false, ...errorOf(e) };
  }
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
export function parsePlpgsql(sql: string): PlpgsqlOutcome {
  const hit = plCache.get(sql);
  if (hit) return hit;
  const r = parsePlpgsqlUncached(sql);
  if (plCache.size >= 2000) plCache.delete(plCache.keys().next().value as string);
  plCache.set(sql, r);
  return r;
}

function parsePlpgsqlUncached(sql: string): PlpgsqlOutcome {
  try {
    const r = parser().parsePlPgSQLSync(sql) as unknown as { plpgsql_funcs?: AstNode[] };
    return { ok: true, functions: r.plpgsql_funcs ?? [] };
  } catch (e) {
    return { ok: false, ...errorOf(e) };
  }
}

function errorOf(e: unknown): { message: string; cursor?: number } {
  const d = (e as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  const message = d?.message ?? (e instanceof Error ? e.message : String(e));
  return { message, ...(typeof d?.cursorPosition === 'number' && d.cursorPosition >= 0 ? { cursor: d.cursorPosition } : {}) };
}
