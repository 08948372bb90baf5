import type { AstNode } from './parser';

/** `{ CreateStmt: {...} }` → ['CreateStmt', {...}]. */
export function unwrap(node: unknown): [string, AstNode] | undefined {
  const k = nodeType(node);
  return k === undefined ? undefined : [k, (node as AstNode)[k] as AstNode];
}

/** The single key of a wrapped node (`{ CreateStmt: {...} }` → 'CreateStmt'); no allocation (hot path). */
export function nodeType(node: unknown): string | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  let key: string | undefined;
  for (const k in node as object) {
    if (key !== undefined) return undefined;
    key = k;
  }
  return key;
}

/** The inner object of a wrapped node of the given type, else undefined. */
export function as<T = AstNode>(node: unknown, type: string): T | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as AstNode)[type];
  return v !== undefined && nodeType(node) === type ? (v as T) : undefined;
}

export interface RangeVar {
  schemaname?: string;
  relname?: string;
  location?: number;
}

/** A relation's name as written (schema-qualified when it was), lower-cased as PostgreSQL folds it. */
export function relationName(rv: RangeVar | undefined): string {
  if (!rv?.relname) return '?';
  return rv.schemaname ? `${rv.schemaname}.${rv.relname}` : rv.relname;
}

/** Strings of a `[{String: {sval}}]` list, e.g. type names and function names. */
export function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((x) => as<{ sval?: string }>(x, 'String')?.sval ?? '').filter((s) => s !== '');
}

export interface TypeNameNode {
  names?: unknown[];
  typmods?: unknown[];
  arrayBounds?: unknown[];
  location?: number;
}

/** `pg_catalog.int4` → 'int4'; `varchar(20)` → { name: 'varchar', mods: [20] }. */
export function typeInfo(t: TypeNameNode | undefined): { name: string; schema?: string; mods: number[]; array: boolean } {
  const n = names(t?.names);
  const name = n[n.length - 1] ?? '';
  const schema = n.length > 1 ? n[n.length - 2] : undefined;
  const mods: number[] = [];
  for (const m of t?.typmods ?? []) {
    const c = as<{ ival?: { ival?: number } }>(m, 'A_Const');
    if (c) mods.push(c.ival?.ival ?? 0);
  }
  return { name, ...(schema ? { schema } : {}), mods, array: Array.isArray(t?.arrayBounds) && t!.arrayBounds!.length > 0 };
}

/** Depth-first walk over every wrapped node under `node` (objects with one PascalCase key). */
export function walk(node: unknown, visit: (type: string, value: AstNode) => void | false): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const t = nodeType(node);
  // Wrapped nodes have one PascalCase key (A–Z); plain objects are walked field by field.
  if (t !== undefined && t.charCodeAt(0) >= 65 && t.charCodeAt(0) <= 90) {
    const v = (node as AstNode)[t];
    if (visit(t, v as AstNode) === false) return;
    walk(v, visit);
    return;
  }
  for (const k in node as object) walk((node as AstNode)[k], visit);
}
