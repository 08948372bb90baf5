import { createHash } from 'node:crypto';
import { MigrationFileError } from '../errors';
import { normalizeSql, splitStatements } from '../sql/split';

/**
 * Migration files: `<UTC yyyymmddHHMMSS>_<slug>.sql`, sections marked like dbmate's so dbmate users
 * can adopt without renaming:
 *
 *   -- description: add the users table
 *   -- author: alice
 *   -- risk: low
 *   -- requires: 20240101120000
 *   -- migrate:up
 *   CREATE TABLE …;
 *   -- migrate:down
 *   DROP TABLE …;
 *
 * `transaction:false` on a marker runs that section outside a transaction (CREATE INDEX CONCURRENTLY).
 * No down section (or an empty one) means the migration is irreversible.
 */
export const FILE_NAME_PATTERN = /^(\d{14})_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;
export const FILE_NAME_HELP = '<UTC yyyymmddHHMMSS>_<slug>.sql, e.g. 20261121093000_add_users.sql (slug: letters, digits, _ and -)';

export type Risk = 'low' | 'medium' | 'high';

export interface MigrationSection {
  /** The section's SQL: from the line after its marker up to the next marker (or end of file). */
  sql: string;
  /** UTF-16 offset of `sql` in the file's text, to map positions in the section back to the file. */
  offset: number;
  /** 1-based line of the marker. */
  markerLine: number;
  /** False when the marker says `transaction:false`. */
  transaction: boolean;
}

export interface MigrationMeta {
  description?: string;
  author?: string;
  risk?: Risk;
  /** Versions that must be applied before this one. */
  requires: string[];
}

export interface Migration {
  /** The 14-digit UTC timestamp that orders migrations. */
  version: string;
  /** The slug after the version. */
  name: string;
  /** Path of the file (as given to the loader). */
  file: string;
  /** The file's text (BOM removed). */
  text: string;
  up: MigrationSection;
  /** Absent: irreversible. */
  down?: MigrationSection;
  meta: MigrationMeta;
  /** sha256 of the up section's bytes: any edit changes it. */
  checksum: string;
  /** sha256 of the up section with comments, whitespace, case of unquoted text and line endings normalised: only a semantic edit changes it. */
  normalizedChecksum: string;
}

const MARKER_ATTEMPT = /^\s*--\s*migrate\s*:/i;
const MARKER = /^--[ \t]*migrate:(up|down)\b(.*)$/;
const HEADER_FIELD = /^--\s*([A-Za-z][A-Za-z_-]*)\s*:\s*(.*?)\s*$/;

export function parseFileName(fileName: string): { version: string; name: string } | undefined {
  const m = FILE_NAME_PATTERN.exec(fileName);
  if (!m) return undefined;
  if (!isValidTimestamp(m[1])) return undefined;
  return { version: m[1], name: m[2] };
}

export function isValidTimestamp(v: string): boolean {
  if (!/^\d{14}$/.test(v)) return false;
  const [y, mo, d, h, mi, s] = [v.slice(0, 4), v.slice(4, 6), v.slice(6, 8), v.slice(8, 10), v.slice(10, 12), v.slice(12, 14)].map(Number);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** Decode UTF-8 strictly: a migration with invalid bytes would be applied differently by different tools. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const bad = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bad; i++) if (bytes[i] === 0x0a) { line++; lineStart = i + 1; }
    throw new MigrationFileError(`the file is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at byte offset ${bad})`, {
      location: { file, line, column: bad - lineStart + 1 },
      hint: 'Save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`).',
    });
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) n = 2;
    else if (c >= 0xf0 && c <= 0xf4) n = 3;
    else return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    // Overlongs and surrogates: the decoder rejects them; point at the lead byte.
    if ((c === 0xe0 && b[i + 1] < 0xa0) || (c === 0xed && b[i + 1] > 0x9f) || (c === 0xf0 && b[i + 1] < 0x90) || (c === 0xf4 && b[i + 1] > 0x8f)) return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function checksums(up: MigrationSection): { checksum: string; normalizedChecksum: string } {
  return {
    checksum: sha256(up.sql),
    // The transaction mode changes what the migration does, so it is part of the semantic checksum.
    normalizedChecksum: sha256(`transaction:${up.transaction}\n${normalizeSql(up.sql)}`),
  };
}

interface Line { text: string; start: number; end: number; number: number }

function lines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  let n = 1;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text.charCodeAt(i) === 10) {
      let end = i;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      out.push({ text: text.slice(start, end), start, end: i === text.length ? i : i + 1, number: n++ });
      start = i + 1;
    }
  }
  return out;
}

const FORMAT_HINT = 'A migration file has a header of comments, then `-- migrate:up` and its SQL, then optionally `-- migrate:down` and the SQL that undoes it. `-- migrate:up transaction:false` runs the section outside a transaction.';

/** Parse a migration's text. `file` is only used in messages. Throws MigrationFileError naming file and line. */
export function parseMigration(text: string, file: string, fileName: string): Migration {
  const id = parseFileName(fileName);
  if (!id) {
    throw new MigrationFileError(`bad migration file name "${fileName}"`, { location: { file }, hint: `Name migration files ${FILE_NAME_HELP}.` });
  }
  if (text.trim() === '') {
    throw new MigrationFileError('the migration file is empty', { location: { file, line: 1, column: 1 }, hint: FORMAT_HINT });
  }
  const meta: MigrationMeta = { requires: [] };
  const all = lines(text);
  type Marker = { dir: 'up' | 'down'; line: Line; transaction: boolean };
  const markers: Marker[] = [];
  for (const line of all) {
    if (!MARKER_ATTEMPT.test(line.text)) continue;
    const m = MARKER.exec(line.text);
    if (!m) {
      throw new MigrationFileError(`unrecognised marker "${line.text.trim()}"`, {
        location: { file, line: line.number, column: 1 },
        hint: 'Markers are exactly `-- migrate:up` or `-- migrate:down` at the start of a line, optionally followed by `transaction:false`.',
      });
    }
    const dir = m[1] as 'up' | 'down';
    let transaction = true;
    for (const opt of m[2].trim().split(/\s+/).filter(Boolean)) {
      const o = /^transaction:(true|false)$/.exec(opt);
      if (!o) {
        throw new MigrationFileError(`unknown option "${opt}" on the -- migrate:${dir} marker`, {
          location: { file, line: line.number, column: line.text.indexOf(opt) + 1 },
          hint: 'The only option is `transaction:false` (run this section outside a transaction, for CREATE INDEX CONCURRENTLY and the like).',
        });
      }
      transaction = o[1] === 'true';
    }
    const dup = markers.find((x) => x.dir === dir);
    if (dup) {
      throw new MigrationFileError(`duplicate -- migrate:${dir} marker (the first is on line ${dup.line.number})`, {
        location: { file, line: line.number, column: 1 },
        hint: 'Each file holds one migration: one up section and at most one down section.',
      });
    }
    if (dir === 'down' && !markers.some((x) => x.dir === 'up')) {
      throw new MigrationFileError('-- migrate:down comes before -- migrate:up', { location: { file, line: line.number, column: 1 }, hint: FORMAT_HINT });
    }
    markers.push({ dir, line, transaction });
  }
  const upMarker = markers.find((x) => x.dir === 'up');
  if (!upMarker) {
    throw new MigrationFileError('no -- migrate:up marker', { location: { file, line: 1, column: 1 }, hint: FORMAT_HINT });
  }

  // The header: only comments and blank lines before the up marker; `-- key: value` lines are metadata.
  let inBlockComment = false;
  for (const line of all) {
    if (line.number >= upMarker.line.number) break;
    const t = line.text.trim();
    if (inBlockComment) { if (t.includes('*/')) inBlockComment = false; continue; }
    if (t === '') continue;
    if (t.startsWith('/*')) { inBlockComment = !t.includes('*/'); continue; }
    if (!t.startsWith('--')) {
      throw new MigrationFileError('SQL before the -- migrate:up marker', {
        location: { file, line: line.number, column: line.text.search(/\S/) + 1 },
        hint: 'Only comments (the header) may come before `-- migrate:up`; move this statement into the up section.',
      });
    }
    const f = HEADER_FIELD.exec(t);
    if (!f) continue;
    const key = f[1].toLowerCase();
    const value = f[2];
    const loc = { file, line: line.number, column: line.text.indexOf(f[2]) + 1 };
    if (key === 'description') meta.description = value;
    else if (key === 'author') meta.author = value;
    else if (key === 'risk') {
      const r = value.toLowerCase();
      if (r !== 'low' && r !== 'medium' && r !== 'high') {
        throw new MigrationFileError(`risk must be low, medium or high, not "${value}"`, { location: loc });
      }
      meta.risk = r;
    } else if (key === 'requires') {
      for (const v of value.split(/[\s,]+/).filter(Boolean)) {
        const version = v.replace(/_.*$/, '').replace(/\.sql$/, '');
        if (!isValidTimestamp(version)) {
          throw new MigrationFileError(`requires: "${v}" is not a migration version`, {
            location: loc,
            hint: 'List the 14-digit versions (or file names) of the migrations that must be applied first, separated by commas.',
          });
        }
        if (version === id.version) throw new MigrationFileError('a migration cannot require itself', { location: loc });
        meta.requires.push(version);
      }
    }
  }

  const downMarker = markers.find((x) => x.dir === 'down');
  const section = (m: Marker, endOffset: number): MigrationSection => ({
    sql: text.slice(m.line.end, endOffset),
    offset: m.line.end,
    markerLine: m.line.number,
    transaction: m.transaction,
  });
  const up = section(upMarker, downMarker ? downMarker.line.start : text.length);
  if (!hasStatements(up.sql)) {
    throw new MigrationFileError('the up section has no SQL statement', { location: { file, line: upMarker.line.number, column: 1 }, hint: FORMAT_HINT });
  }
  let down: MigrationSection | undefined;
  if (downMarker) {
    const d = section(downMarker, text.length);
    // An empty down section would let a rollback "succeed" while leaving every object in place; treat as irreversible.
    if (hasStatements(d.sql)) down = d;
  }
  return { version: id.version, name: id.name, file, text, up, down, meta, ...checksums(up) };
}

function hasStatements(sql: string): boolean {
  return splitStatements(sql).statements.length > 0;
}
