import { MigrationFileError } from '../errors';
import type { Migration, MigrationSection } from '../migrations/parse';
import { isTransactionControl, splitStatements } from '../sql/split';
import { codePointPositionToIndex, LineIndex } from '../sql/text';

/** A statement of a migration section, located in its file. */
export interface PlannedStatement {
  /** The SQL sent to the server. */
  sql: string;
  /** UTF-16 offset in the file. */
  offset: number;
  line: number;
  column: number;
}

const lineIndexes = new WeakMap<Migration, LineIndex>();

export function lineIndexOf(m: Migration): LineIndex {
  let li = lineIndexes.get(m);
  if (!li) lineIndexes.set(m, (li = new LineIndex(m.text)));
  return li;
}

/**
 * Split a section into the statements the runner sends one by one, refusing what the runner cannot do
 * faithfully: transaction control inside a wrapped section (it would commit half a migration), psql
 * meta-commands and COPY FROM STDIN data (psql features, not SQL), and unterminated quotes.
 */
export function sectionStatements(m: Migration, section: MigrationSection, which: 'up' | 'down'): PlannedStatement[] {
  const li = lineIndexOf(m);
  const split = splitStatements(section.sql);
  const at = (offset: number) => {
    const p = li.positionAt(section.offset + offset);
    return { file: m.file, line: p.line, column: p.column };
  };
  if (split.errors.length > 0) {
    const e = split.errors[0];
    throw new MigrationFileError(`${which} section: ${e.message}`, { location: at(e.offset) });
  }
  const out: PlannedStatement[] = [];
  for (const s of split.statements) {
    if (s.kind === 'psql-meta') {
      throw new MigrationFileError(`${which} section: psql meta-command ${s.keywords[0] ?? ''} cannot be run by Bulwark`, {
        location: at(s.start),
        hint: 'Migrations are sent to the server statement by statement, not through psql; replace the meta-command with SQL.',
      });
    }
    if (s.copyData) {
      throw new MigrationFileError(`${which} section: COPY … FROM STDIN with inline data cannot be run by Bulwark`, {
        location: at(s.start),
        hint: 'Use INSERT … VALUES, or COPY FROM a file on the server.',
      });
    }
    if (section.transaction && isTransactionControl(s)) {
      throw new MigrationFileError(`${which} section: ${s.keywords.slice(0, 2).join(' ')} inside a migration that Bulwark runs in a transaction`, {
        location: at(s.start),
        hint: `Remove it: each section already runs in its own transaction. For statements that cannot run in a transaction, write \`-- migrate:${which} transaction:false\`.`,
      });
    }
    const p = li.positionAt(section.offset + s.start);
    out.push({ sql: s.text, offset: section.offset + s.start, line: p.line, column: p.column });
  }
  return out;
}

/** Map a server error `position` (1-based, in characters of the statement sent) to the file. */
export function errorLocation(m: Migration, stmt: PlannedStatement, position?: number): { line: number; column: number } {
  if (!position || position < 1) return { line: stmt.line, column: stmt.column };
  return locationInStatement(m, stmt, codePointPositionToIndex(stmt.sql, position));
}

/** The file position of a UTF-16 index inside a statement's text. */
export function locationInStatement(m: Migration, stmt: PlannedStatement, index: number): { line: number; column: number } {
  return lineIndexOf(m).positionAt(stmt.offset + Math.max(0, Math.min(index, stmt.sql.length)));
}
