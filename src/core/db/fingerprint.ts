import { createHash } from 'node:crypto';
import type { Db } from './db';

/**
 * A canonical description of a database's user schema, computed from the catalogs with SQL, so that two
 * databases built by the same migrations give the same fingerprint even on different servers (a
 * PostgreSQL 15 server, the embedded PGlite, which is PostgreSQL 18) and in different clusters.
 *
 * What it includes, per kind (each kind maps a schema-qualified name to a flat definition):
 *   schemas, extensions (name and schema), tables (kind, persistence, partition key and bound,
 *   inheritance, row security, replica identity, storage options, typed-table type, access method),
 *   columns (type via format_type, not null, default/generation expression via pg_get_expr, identity,
 *   generated, collation when not the type's), constraints (pg_get_constraintdef), indexes
 *   (pg_get_indexdef with the index name taken out of the text, validity), views and materialized views
 *   (pg_get_viewdef, whitespace-normalised, their columns and options), sequences (type, bounds,
 *   increment, cache, cycle, owning column), functions/procedures/aggregates (identity arguments,
 *   arguments with defaults, result, language, volatility, strictness, security, parallel safety, cost,
 *   rows, settings and body), triggers (pg_get_triggerdef, enabled state), row-level security policies,
 *   rules, enum/domain/composite/range types (enum labels in order), extended statistics, and comments.
 *
 * What it leaves out, because it legitimately differs between servers or is not schema: OIDs, owners
 * and privileges (roles are per cluster), tablespaces, extension versions and the objects extensions
 * create, column order (a column re-added by a down section lands at the end: the schema is the same
 * for every query that names its columns), the NOT NULL constraint rows PostgreSQL 18 keeps in
 * pg_constraint (not null is read from the column instead), partition children's cloned constraints,
 * triggers and the like (implied by the parent's), internal triggers, statistics and data.
 * Operators, casts, collations, text search objects, foreign servers, publications and event triggers
 * are not described.
 *
 * The catalog functions qualify names that are not on the search path and print constants with the
 * session's date and number styles, so the queries run in one read-only transaction with
 * `search_path = pg_catalog`, UTC and ISO dates: every name outside pg_catalog comes out
 * schema-qualified, whatever the migrations set. Rows are sorted in JavaScript (never by the server's
 * collation), and SQL texts (view definitions, SQL-standard function bodies, rules) have their
 * whitespace collapsed outside quotes, since deparse layout varies between PostgreSQL versions.
 *
 * Call it outside a transaction. PostgreSQL 13 or later.
 */

export type FingerprintValue = string | boolean | string[];
/** A flat description of one object: field → value (fields without a value are left out). */
export type Definition = Record<string, FingerprintValue>;

export const OBJECT_KINDS = [
  'schemas', 'extensions', 'types', 'sequences', 'tables', 'columns', 'constraints', 'indexes', 'views',
  'materializedViews', 'functions', 'triggers', 'policies', 'rules', 'statistics',
] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

export interface Fingerprint {
  /** Bumped when what the fingerprint describes changes: fingerprints of different formats never compare equal. */
  format: number;
  objects: Record<ObjectKind, Record<string, Definition>>;
  /** sha256 of the canonical JSON of `format` and `objects`. */
  hash: string;
}

export interface FingerprintOptions {
  /** Schemas to leave out besides pg_catalog, information_schema, pg_toast and temporary schemas. Default: ['bulwark'] (Bulwark's history). */
  excludeSchemas?: string[];
}

const FORMAT = 1;

/** Identifiers as keys: plain lower-case names as they are, anything else double-quoted (unambiguous with dots). */
function qi(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

interface Token {
  text: string;
  /** Space before it in the source. */
  space: boolean;
  word?: string;
}

/** Tokens of deparsed SQL: quoted literals and identifiers and dollar-quoted bodies whole, words, other characters one by one. */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let space = false;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (/\s/.test(c)) { space = true; i++; continue; }
    let j = i + 1;
    let word: string | undefined;
    if (c === "'" || c === '"') {
      for (;;) {
        if (j >= n) break;
        if (text[j] === c) {
          if (text[j + 1] === c) { j += 2; continue; }
          j++;
          break;
        }
        j++;
      }
      if (c === '"') word = text.slice(i + 1, j - 1).replace(/""/g, '"');
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(text.slice(i, i + 64))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64))![0];
      const end = text.indexOf(tag, i + tag.length);
      j = end < 0 ? n : end + tag.length;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(text[j])) j++;
      word = text.slice(i, j).toLowerCase();
    }
    out.push({ text: text.slice(i, j), space, ...(word !== undefined ? { word } : {}) });
    space = false;
    i = j;
  }
  return out;
}

/**
 * Deparsed SQL with its layout normalised: runs of whitespace outside quotes become one space, and
 * there is none after "(" or before ")" and ",". With `schemas`, qualifiers that are not schema names
 * are dropped from column references (`users.email` → `email`, `u.id` → `id`): PostgreSQL 16 and later
 * leave out the qualifiers that older versions print in view definitions.
 */
export function collapseSql(text: string, schemas?: ReadonlySet<string>): string {
  const toks = tokens(text);
  const keep = toks.map(() => true);
  if (schemas) {
    for (let k = 0; k + 2 < toks.length; k++) {
      const t = toks[k];
      if (t.word === undefined || toks[k + 1].text !== '.' || toks[k + 1].space || toks[k + 2].word === undefined || toks[k + 2].space) continue;
      if (k > 0 && toks[k - 1].text === '.' && !t.space) continue;
      if (schemas.has(t.word)) { k += 2; continue; }
      keep[k] = false;
      keep[k + 1] = false;
    }
  }
  let out = '';
  let space = false;
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    space ||= t.space;
    if (!keep[k]) continue;
    if (space && out !== '' && !out.endsWith('(') && t.text !== ')' && t.text !== ',') out += ' ';
    space = false;
    out += t.text;
  }
  return out;
}

interface Rel {
  key: string;
  kind: string;
}

const NS_FILTER = `n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND NOT (n.nspname = ANY ($1::text[]))`;
const notExtensionMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = '${catalog}'::pg_catalog.regclass AND dep.objid = ${oid} AND dep.deptype = 'e')`;
const comment = (catalog: string, oid: string, sub = '0') =>
  `(SELECT d.description FROM pg_catalog.pg_description d WHERE d.classoid = '${catalog}'::pg_catalog.regclass AND d.objoid = ${oid} AND d.objsubid = ${sub})`;

const RELKIND: Record<string, string> = { r: 'table', p: 'partitioned table', f: 'foreign table', v: 'view', m: 'materialized view', S: 'sequence' };

/** The fingerprint of a database's user schema (see the top of this file for what it includes). */
export async function fingerprint(db: Db, opts: FingerprintOptions = {}): Promise<Fingerprint> {
  const exclude = opts.excludeSchemas ?? ['bulwark'];
  const objects = Object.fromEntries(OBJECT_KINDS.map((k) => [k, Object.create(null)])) as Fingerprint['objects'];
  const put = (kind: ObjectKind, key: string, def: Record<string, FingerprintValue | null | undefined>) => {
    const clean: Definition = {};
    for (const [k, v] of Object.entries(def)) if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) clean[k] = v;
    objects[kind][key] = clean;
  };

  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    for (const s of [
      'SET LOCAL search_path = pg_catalog', "SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'",
      "SET LOCAL IntervalStyle = 'postgres'", 'SET LOCAL extra_float_digits = 1', 'SET LOCAL quote_all_identifiers = off',
    ]) await db.query(s);
    // SQL-standard function bodies (BEGIN ATOMIC, RETURN) exist from PostgreSQL 14 on.
    const sqlBody = db.serverVersion >= 140000 ? 'p.prosqlbody IS NOT NULL' : 'false';
    const q = async <T>(sql: string): Promise<T[]> => (await db.query<T>(sql, sql.includes('$1') ? [exclude] : undefined)).rows;

    // Schemas and extensions.
    for (const r of await q<{ name: string; comment: string | null }>(`
      SELECT n.nspname AS name, ${comment('pg_catalog.pg_namespace', 'n.oid')} AS comment
      FROM pg_catalog.pg_namespace n WHERE ${NS_FILTER} AND ${notExtensionMember('pg_catalog.pg_namespace', 'n.oid')}`)) {
      put('schemas', qi(r.name), { comment: r.comment });
    }
    for (const r of await q<{ name: string; schema: string }>(`
      SELECT e.extname AS name, n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE NOT (n.nspname = ANY ($1::text[]))`)) {
      put('extensions', qi(r.name), { schema: r.schema });
    }

    // Relations.
    const schemaNames = new Set((await q<{ name: string }>('SELECT nspname AS name FROM pg_catalog.pg_namespace')).map((r) => r.name));
    const rels = new Map<string, Rel>();
    type RelRow = {
      oid: number; schema: string; name: string; kind: string; persistence: string; rls: boolean; force_rls: boolean; replident: string;
      options: string[] | null; partkey: string | null; partbound: string | null; parent: string | null; parent_schema: string | null;
      inherits: string[] | null; of_type: string | null; viewdef: string | null; am: string | null; comment: string | null;
    };
    const relRows = await q<RelRow>(`
      SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence::text AS persistence,
        c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls, c.relreplident::text AS replident, c.reloptions::text[] AS options,
        CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
        CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partbound,
        CASE WHEN c.relispartition THEN (SELECT pc.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent WHERE i.inhrelid = c.oid) END AS parent,
        CASE WHEN c.relispartition THEN (SELECT pn.nspname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid) END AS parent_schema,
        CASE WHEN NOT c.relispartition THEN ARRAY(SELECT pn.nspname || '.' || pc.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) END AS inherits,
        CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END AS of_type,
        CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS viewdef,
        CASE WHEN c.relkind IN ('r', 'm') THEN (SELECT am.amname FROM pg_catalog.pg_am am WHERE am.oid = c.relam) END AS am,
        ${comment('pg_catalog.pg_class', 'c.oid')} AS comment
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND ${NS_FILTER} AND ${notExtensionMember('pg_catalog.pg_class', 'c.oid')}`);
    for (const r of relRows) rels.set(String(r.oid), { key: `${qi(r.schema)}.${qi(r.name)}`, kind: r.kind });

    // Columns (of tables, views and materialized views).
    type ColRow = {
      relid: string; name: string; num: number; type: string; not_null: boolean; identity: string; generated: string; default: string | null;
      collation: string | null; comment: string | null;
    };
    const colRows = await q<ColRow>(`
      SELECT a.attrelid::int8::text AS relid, a.attname AS name, a.attnum AS num, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
        a.attnotnull AS not_null, a.attidentity::text AS identity, a.attgenerated::text AS generated,
        pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default,
        CASE WHEN a.attcollation <> t.typcollation THEN (SELECT cn.nspname || '.' || co.collname FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
        ${comment('pg_catalog.pg_class', 'a.attrelid', 'a.attnum')} AS comment
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${NS_FILTER}`);
    const colsByRel = new Map<string, ColRow[]>();
    for (const c of colRows) {
      if (!colsByRel.has(c.relid)) colsByRel.set(c.relid, []);
      colsByRel.get(c.relid)!.push(c);
    }

    const seqRows: RelRow[] = [];
    for (const r of relRows) {
      const key = `${qi(r.schema)}.${qi(r.name)}`;
      const cols = (colsByRel.get(String(r.oid)) ?? []).sort((a, b) => a.num - b.num);
      if (r.kind === 'S') { seqRows.push(r); continue; }
      if (r.kind === 'v' || r.kind === 'm') {
        put(r.kind === 'v' ? 'views' : 'materializedViews', key, {
          definition: r.viewdef !== null ? collapseSql(r.viewdef.replace(/;\s*$/, ''), schemaNames) : null,
          columns: cols.map((c) => `${qi(c.name)} ${c.type}`),
          options: r.options ? [...r.options].sort() : null,
          accessMethod: r.am && r.am !== 'heap' ? r.am : null,
          comment: r.comment,
        });
        if (r.kind === 'm') for (const c of cols) if (c.comment) put('columns', `${key}.${qi(c.name)}`, { table: key, comment: c.comment });
        continue;
      }
      put('tables', key, {
        kind: RELKIND[r.kind],
        unlogged: r.persistence === 'u' ? true : null,
        partitionBy: r.partkey,
        partitionOf: r.parent !== null && r.parent_schema !== null ? `${qi(r.parent_schema)}.${qi(r.parent)}` : null,
        partitionBound: r.partbound,
        inherits: r.inherits ? r.inherits.map((x) => x.split('.').map(qi).join('.')) : null,
        ofType: r.of_type,
        rowSecurity: r.rls ? true : null,
        forceRowSecurity: r.force_rls ? true : null,
        replicaIdentity: r.replident !== 'd' ? ({ n: 'nothing', f: 'full', i: 'index' } as Record<string, string>)[r.replident] ?? r.replident : null,
        options: r.options ? [...r.options].sort() : null,
        accessMethod: r.am && r.am !== 'heap' ? r.am : null,
        comment: r.comment,
      });
      for (const c of cols) {
        put('columns', `${key}.${qi(c.name)}`, {
          table: key,
          type: c.type,
          notNull: c.not_null,
          default: c.generated === '' ? c.default : null,
          identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by default' : null,
          generated: c.generated === 's' ? `stored: ${c.default}` : c.generated === 'v' ? `virtual: ${c.default}` : null,
          collation: c.collation,
          comment: c.comment,
        });
      }
    }

    // Sequences.
    type SeqRow = {
      oid: string; type: string; start: string; increment: string; min: string; max: string; cache: string; cycle: boolean;
      owned_schema: string | null; owned_table: string | null; owned_column: string | null; owned_kind: string | null;
    };
    const seqs = new Map((await q<SeqRow>(`
      SELECT s.seqrelid::int8::text AS oid, pg_catalog.format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start, s.seqincrement::text AS increment,
        s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle,
        o.nspname AS owned_schema, o.relname AS owned_table, o.attname AS owned_column, o.deptype AS owned_kind
      FROM pg_catalog.pg_sequence s
      LEFT JOIN LATERAL (
        SELECT tn.nspname, tc.relname, a.attname, dep.deptype::text AS deptype FROM pg_catalog.pg_depend dep
        JOIN pg_catalog.pg_class tc ON tc.oid = dep.refobjid JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
        JOIN pg_catalog.pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
        WHERE dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.objid = s.seqrelid
          AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.refobjsubid > 0 AND dep.deptype IN ('a', 'i')
        LIMIT 1) o ON true`)).map((r) => [String(r.oid), r]));
    for (const r of seqRows) {
      const s = seqs.get(String(r.oid));
      const key = `${qi(r.schema)}.${qi(r.name)}`;
      put('sequences', key, {
        type: s?.type, start: s?.start, increment: s?.increment, min: s?.min, max: s?.max, cache: s?.cache, cycle: s?.cycle,
        unlogged: r.persistence === 'u' ? true : null,
        ownedBy: s?.owned_table ? `${qi(s.owned_schema!)}.${qi(s.owned_table)}.${qi(s.owned_column!)}` : null,
        identity: s?.owned_kind === 'i' ? true : null,
        table: s?.owned_table ? `${qi(s.owned_schema!)}.${qi(s.owned_table)}` : null,
        comment: r.comment,
      });
    }

    // Constraints of tables (partition clones and PostgreSQL 18's NOT NULL rows left out).
    for (const r of await q<{ relid: string; name: string; def: string; comment: string | null }>(`
      SELECT con.conrelid::int8::text AS relid, con.conname AS name, pg_catalog.pg_get_constraintdef(con.oid) AS def,
        ${comment('pg_catalog.pg_constraint', 'con.oid')} AS comment
      FROM pg_catalog.pg_constraint con
      WHERE con.conrelid <> 0 AND con.contype IN ('c', 'f', 'p', 'u', 't', 'x') AND con.conparentid = 0`)) {
      const rel = rels.get(String(r.relid));
      if (!rel) continue;
      put('constraints', `${rel.key}.${qi(r.name)}`, { table: rel.key, definition: r.def, comment: r.comment });
    }

    // Indexes (those that implement a constraint are described by the constraint).
    for (const r of await q<{ relid: string; schema: string; name: string; def: string; valid: boolean; comment: string | null }>(`
      SELECT i.indrelid::int8::text AS relid, n.nspname AS schema, ic.relname AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
        i.indisvalid AS valid, ${comment('pg_catalog.pg_class', 'ic.oid')} AS comment
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      WHERE ${NS_FILTER} AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))`)) {
      const rel = rels.get(String(r.relid));
      if (!rel) continue;
      put('indexes', `${qi(r.schema)}.${qi(r.name)}`, {
        table: rel.key,
        // The name is the key; without it in the text, a renamed index reads as missing + unexpected, not as a changed definition.
        definition: r.def.replace(/^(CREATE (?:UNIQUE )?INDEX )(?:"(?:[^"]|"")+"|\S+) (ON )/, '$1$2'),
        invalid: r.valid ? null : true,
        comment: r.comment,
      });
    }

    // Triggers (internal ones, and the clones of a partitioned table's triggers on its partitions, left out).
    for (const r of await q<{ relid: string; name: string; def: string; enabled: string; comment: string | null }>(`
      SELECT t.tgrelid::int8::text AS relid, t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) AS def, t.tgenabled::text AS enabled,
        ${comment('pg_catalog.pg_trigger', 't.oid')} AS comment
      FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal AND t.tgparentid = 0`)) {
      const rel = rels.get(String(r.relid));
      if (!rel) continue;
      put('triggers', `${rel.key}.${qi(r.name)}`, {
        table: rel.key,
        definition: r.def,
        enabled: r.enabled === 'O' ? null : ({ D: 'disabled', R: 'replica', A: 'always' } as Record<string, string>)[r.enabled] ?? r.enabled,
        comment: r.comment,
      });
    }

    // Row-level security policies.
    for (const r of await q<{ relid: string; name: string; cmd: string; permissive: boolean; roles: string[]; using: string | null; with_check: string | null }>(`
      SELECT pol.polrelid::int8::text AS relid, pol.polname AS name, pol.polcmd::text AS cmd, pol.polpermissive AS permissive,
        ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE COALESCE((SELECT ro.rolname FROM pg_catalog.pg_roles ro WHERE ro.oid = r.oid), '?') END
              FROM pg_catalog.unnest(pol.polroles) AS r(oid))::text[] AS roles,
        pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) AS using, pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) AS with_check
      FROM pg_catalog.pg_policy pol`)) {
      const rel = rels.get(String(r.relid));
      if (!rel) continue;
      put('policies', `${rel.key}.${qi(r.name)}`, {
        table: rel.key,
        command: ({ r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' } as Record<string, string>)[r.cmd] ?? r.cmd,
        permissive: r.permissive,
        roles: [...r.roles].sort(),
        using: r.using,
        withCheck: r.with_check,
      });
    }

    // Rules (the _RETURN rules of views are the views).
    for (const r of await q<{ relid: string; name: string; def: string; enabled: string }>(`
      SELECT r.ev_class::int8::text AS relid, r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) AS def, r.ev_enabled::text AS enabled
      FROM pg_catalog.pg_rewrite r WHERE r.rulename <> '_RETURN'`)) {
      const rel = rels.get(String(r.relid));
      if (!rel) continue;
      put('rules', `${rel.key}.${qi(r.name)}`, { table: rel.key, definition: collapseSql(r.def.replace(/;\s*$/, ''), schemaNames), enabled: r.enabled === 'O' ? null : r.enabled });
    }

    // Functions, procedures, aggregates.
    type FnRow = {
      schema: string; name: string; kind: string; identity_args: string; args: string; result: string | null; language: string; volatility: string;
      strict: boolean; security_definer: boolean; leakproof: boolean; parallel: string; cost: string; rows: string; config: string[] | null;
      sql_body: boolean; body: string | null; agg: string | null; comment: string | null;
    };
    for (const r of await q<FnRow>(`
      SELECT n.nspname AS schema, p.proname AS name, p.prokind::text AS kind, pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
        pg_catalog.pg_get_function_arguments(p.oid) AS args, pg_catalog.pg_get_function_result(p.oid) AS result, l.lanname AS language,
        p.provolatile::text AS volatility, p.proisstrict AS strict, p.prosecdef AS security_definer, p.proleakproof AS leakproof,
        p.proparallel::text AS parallel, p.procost::text AS cost, p.prorows::text AS rows, p.proconfig::text[] AS config,
        ${sqlBody} AS sql_body,
        CASE WHEN ${sqlBody} THEN pg_catalog.pg_get_functiondef(p.oid) WHEN p.prokind <> 'a' THEN p.prosrc END AS body,
        CASE WHEN p.prokind = 'a' THEN (
          SELECT concat_ws(' ', 'sfunc=' || ag.aggtransfn::pg_catalog.regproc::text, 'stype=' || pg_catalog.format_type(ag.aggtranstype, NULL),
            CASE WHEN ag.aggfinalfn <> 0 THEN 'finalfunc=' || ag.aggfinalfn::pg_catalog.regproc::text END,
            CASE WHEN ag.aggcombinefn <> 0 THEN 'combinefunc=' || ag.aggcombinefn::pg_catalog.regproc::text END,
            CASE WHEN ag.agginitval IS NOT NULL THEN 'initcond=' || ag.agginitval END, 'kind=' || ag.aggkind::text)
          FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = p.oid) END AS agg,
        ${comment('pg_catalog.pg_proc', 'p.oid')} AS comment
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      WHERE ${NS_FILTER} AND ${notExtensionMember('pg_catalog.pg_proc', 'p.oid')}`)) {
      const kind = ({ f: 'function', p: 'procedure', a: 'aggregate', w: 'window function' } as Record<string, string>)[r.kind] ?? r.kind;
      put('functions', `${qi(r.schema)}.${qi(r.name)}(${r.identity_args})`, {
        kind,
        arguments: r.args,
        result: r.result,
        language: r.language,
        volatility: ({ i: 'immutable', s: 'stable', v: 'volatile' } as Record<string, string>)[r.volatility] ?? r.volatility,
        strict: r.strict,
        securityDefiner: r.security_definer ? true : null,
        leakproof: r.leakproof ? true : null,
        parallel: ({ s: 'safe', r: 'restricted', u: 'unsafe' } as Record<string, string>)[r.parallel] ?? r.parallel,
        cost: r.cost,
        rows: r.rows !== '0' ? r.rows : null,
        settings: r.config ? [...r.config].sort() : null,
        body: r.body === null ? null : r.sql_body ? collapseSql(sqlStandardBody(r.body)) : r.body,
        aggregate: r.agg,
        comment: r.comment,
      });
    }

    // Types: enums, domains, standalone composite types, ranges.
    type TypeRow = {
      schema: string; name: string; typtype: string; base: string | null; not_null: boolean; default: string | null; labels: string[] | null;
      checks: string[] | null; attributes: string[] | null; subtype: string | null; comment: string | null;
    };
    for (const r of await q<TypeRow>(`
      SELECT n.nspname AS schema, t.typname AS name, t.typtype::text AS typtype,
        CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base,
        t.typnotnull AS not_null,
        CASE WHEN t.typtype = 'd' THEN pg_catalog.pg_get_expr(t.typdefaultbin, 0) END AS default,
        CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS labels,
        CASE WHEN t.typtype = 'd' THEN ARRAY(SELECT con.conname || ': ' || pg_catalog.pg_get_constraintdef(con.oid) FROM pg_catalog.pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c') END AS checks,
        CASE WHEN t.typtype = 'c' THEN ARRAY(SELECT a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) END AS attributes,
        CASE WHEN t.typtype = 'r' THEN (SELECT pg_catalog.format_type(rg.rngsubtype, NULL) FROM pg_catalog.pg_range rg WHERE rg.rngtypid = t.oid) END AS subtype,
        ${comment('pg_catalog.pg_type', 't.oid')} AS comment
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      LEFT JOIN pg_catalog.pg_class tc ON tc.oid = t.typrelid
      WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND tc.relkind = 'c')) AND ${NS_FILTER} AND ${notExtensionMember('pg_catalog.pg_type', 't.oid')}`)) {
      const kind = ({ e: 'enum', d: 'domain', c: 'composite', r: 'range' } as Record<string, string>)[r.typtype] ?? r.typtype;
      put('types', `${qi(r.schema)}.${qi(r.name)}`, {
        kind,
        labels: r.labels,
        base: r.base,
        notNull: r.typtype === 'd' ? r.not_null : null,
        default: r.default,
        checks: r.checks ? [...r.checks].sort() : null,
        attributes: r.attributes,
        subtype: r.subtype,
        comment: r.comment,
      });
    }

    // Extended statistics.
    for (const r of await q<{ schema: string; name: string; def: string }>(`
      SELECT n.nspname AS schema, s.stxname AS name, pg_catalog.pg_get_statisticsobjdef(s.oid) AS def
      FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace WHERE ${NS_FILTER}`)) {
      put('statistics', `${qi(r.schema)}.${qi(r.name)}`, { definition: r.def });
    }
  } finally {
    await db.query('ROLLBACK').catch(() => {});
  }

  for (const k of OBJECT_KINDS) objects[k] = sortKeys(objects[k]);
  return { format: FORMAT, objects, hash: hashOf(objects) };
}

/** Only the body of `pg_get_functiondef` output for a SQL-standard body (BEGIN ATOMIC … END / RETURN …): the header is described field by field. */
function sqlStandardBody(def: string): string {
  const m = /\n(BEGIN ATOMIC[\s\S]*|RETURN [\s\S]*)$/.exec(def);
  return (m ? m[1] : def).trim();
}

/** Own property only: object names such as "constructor" or "__proto__" are ordinary keys here. */
function own<T>(o: Record<string, T> | undefined, k: string): T | undefined {
  return o && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const k of Object.keys(o).sort(compare)) out[k] = o[k];
  return out;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with object keys sorted at every level (code unit order), arrays in their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort(compare).map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}

function hashOf(objects: Fingerprint['objects']): string {
  return createHash('sha256').update(canonicalJson({ format: FORMAT, objects }), 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------------
// Differences in words.

export interface SchemaDifference {
  kind: ObjectKind;
  /** Schema-qualified name (the key in the fingerprint). */
  name: string;
  /** missing: in `a`, not in `b`; unexpected: in `b`, not in `a`; changed: in both, with different fields. */
  change: 'missing' | 'unexpected' | 'changed';
  /** For `changed`: the field that differs. */
  field?: string;
  expected?: FingerprintValue;
  actual?: FingerprintValue;
  message: string;
}

export interface DiffLabels {
  /** Words for the state `a` describes, e.g. "before up". */
  expected?: string;
  /** Words for the state `b` describes, e.g. "after down". */
  actual?: string;
}

const KIND_WORD: Record<ObjectKind, string> = {
  schemas: 'schema', extensions: 'extension', types: 'type', sequences: 'sequence', tables: 'table', columns: 'column',
  constraints: 'constraint', indexes: 'index', views: 'view', materializedViews: 'materialized view', functions: 'function',
  triggers: 'trigger', policies: 'policy', rules: 'rule', statistics: 'statistics object',
};

const FIELD_WORD: Record<string, string> = {
  notNull: 'not null', partitionBy: 'partition key', partitionOf: 'partition of', partitionBound: 'partition bound', ofType: 'of type',
  rowSecurity: 'row level security', forceRowSecurity: 'forced row level security', replicaIdentity: 'replica identity',
  accessMethod: 'access method', securityDefiner: 'security definer', withCheck: 'with check', ownedBy: 'owned by', unlogged: 'unlogged',
};

/** "public." is left out of names in messages: `users.email`, not `public.users.email`. */
export function displayName(key: string): string {
  return key.startsWith('public.') ? key.slice('public.'.length) : key;
}

function word(kind: ObjectKind, def: Definition | undefined): string {
  if (kind === 'functions' && typeof def?.kind === 'string') return def.kind;
  if (kind === 'types' && typeof def?.kind === 'string') return `${def.kind} type`;
  if (kind === 'tables' && def?.kind === 'partitioned table') return 'partitioned table';
  return KIND_WORD[kind];
}

function show(v: FingerprintValue | undefined): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return '[' + v.join(', ') + ']';
  return v;
}

const LONG = 80;

/**
 * What differs between `a` (the expected state) and `b`, in words: "column users.email: type text →
 * character varying(20)", "index users_email_idx is missing after down". Objects of a missing or
 * unexpected table (its columns, constraints, indexes, triggers, policies, rules, owned sequences) are
 * not listed again.
 */
export function diff(a: Fingerprint, b: Fingerprint, labels: DiffLabels = {}): SchemaDifference[] {
  const out: SchemaDifference[] = [];
  const after = labels.actual ? ' ' + labels.actual : '';
  const goneTables = new Set<string>();
  const newTables = new Set<string>();
  for (const k of ['tables', 'views', 'materializedViews'] as const) {
    for (const key of Object.keys(a.objects[k] ?? {})) if (!own(b.objects[k], key)) goneTables.add(key);
    for (const key of Object.keys(b.objects[k] ?? {})) if (!own(a.objects[k], key)) newTables.add(key);
  }
  const parentOf = (def: Definition | undefined) => (typeof def?.table === 'string' ? def.table : undefined);
  for (const kind of OBJECT_KINDS) {
    const ea = a.objects[kind] ?? {};
    const eb = b.objects[kind] ?? {};
    const keys = [...new Set([...Object.keys(ea), ...Object.keys(eb)])].sort(compare);
    for (const key of keys) {
      const da = own(ea, key);
      const db = own(eb, key);
      const name = displayName(key);
      if (da && !db) {
        const p = parentOf(da);
        if (p && goneTables.has(p) && kind !== 'tables') continue;
        out.push({ kind, name: key, change: 'missing', message: `${word(kind, da)} ${name} is missing${after}` });
      } else if (!da && db) {
        const p = parentOf(db);
        if (p && newTables.has(p) && kind !== 'tables') continue;
        out.push({
          kind, name: key, change: 'unexpected',
          message: labels.actual || labels.expected
            ? `${word(kind, db)} ${name} exists${after}${labels.expected ? ` but not ${labels.expected}` : ''}`
            : `${word(kind, db)} ${name} is unexpected`,
        });
      } else if (da && db) {
        const fields = [...new Set([...Object.keys(da), ...Object.keys(db)])].filter((f) => canonicalJson(own(da, f)) !== canonicalJson(own(db, f))).sort(compare);
        for (const f of fields) {
          const x = own(da, f);
          const y = own(db, f);
          const fw = FIELD_WORD[f] ?? f;
          const long = [x, y].some((v) => v !== undefined && (show(v).length > LONG || show(v).includes('\n')));
          const change = long ? `${fw} differs` : `${fw} ${show(x)} → ${show(y)}`;
          out.push({
            kind, name: key, change: 'changed', field: f, ...(x !== undefined ? { expected: x } : {}), ...(y !== undefined ? { actual: y } : {}),
            message: `${word(kind, da)} ${name}: ${change}${labels.expected && labels.actual ? ` (${labels.expected} → ${labels.actual})` : ''}`,
          });
        }
      }
    }
  }
  return out;
}
