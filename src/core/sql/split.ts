/**
 * A lexer-based splitter of PostgreSQL scripts into statements, following psql's own lexer
 * (src/bin/psql/psqlscan.l) closely enough that each statement can be sent to the server on its own
 * and still mean what psql would have sent. It never throws and makes one linear pass over the text
 * with charCodeAt, because it runs on every keystroke in the editor and over whole migration sets.
 *
 * Lexical structure assumed: standard_conforming_strings = on (the default since PostgreSQL 9.1).
 */

export type StatementKind = 'sql' | 'psql-meta';

export interface SqlStatement {
  kind: StatementKind;
  /** The statement's text exactly as in the input, from `start` to `end` (comments inside kept, terminating ';' excluded). */
  text: string;
  /** UTF-16 offset of the first character that is not whitespace or a comment. */
  start: number;
  /** UTF-16 offset just past the statement's last non-whitespace character (before the ';' if any). */
  end: number;
  /** Offset just past the terminating ';' (or end of line for psql meta lines, or `end` when unterminated). */
  terminatorEnd: number;
  /** true when the statement ended with ';' (false for the last statement without one). Always true for psql meta lines. */
  terminated: boolean;
  /** Upper-cased leading keywords, up to 4 (e.g. ['CREATE','UNIQUE','INDEX','CONCURRENTLY']), skipping comments; for 'psql-meta' the command like '\\set'. */
  keywords: string[];
  /** For `COPY … FROM STDIN`: the range of the inline data lines that follow (up to but excluding the `\.` line). */
  copyData?: { start: number; end: number };
}

export interface SqlComment {
  start: number;
  end: number;
  text: string;
  kind: 'line' | 'block';
}

export interface SplitError {
  offset: number;
  message: string;
}

export interface SplitResult {
  statements: SqlStatement[];
  comments: SqlComment[];
  errors: SplitError[];
}

const LF = 10;
const CR = 13;
const DQUOTE = 34;
const DOLLAR = 36;
const SQUOTE = 39;
const LPAREN = 40;
const RPAREN = 41;
const STAR = 42;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const COLON = 58;
const SEMI = 59;
const BACKSLASH = 92;
const UPPER_E = 69;
const LOWER_E = 101;

// Lower-case first letters recorded for psql's CREATE [OR REPLACE] FUNCTION|PROCEDURE heuristic.
const ID_C = 99;
const ID_F = 102;
const ID_O = 111;
const ID_P = 112;
const ID_R = 114;

const NO_COPY = Number.POSITIVE_INFINITY;

// Character classes of ASCII, as bit flags in a lookup table: one array load instead of a chain of
// comparisons per character keeps the lexer fast even before the JIT has warmed up.
const F_SPACE = 1;
const F_IDENT_START = 2;
const F_DIGIT = 4;
const F_DOLLAR = 8;
/** A character that is a whole token by itself and has no meaning to the splitter (e.g. , = + .). */
const F_PLAIN = 16;
const CHAR_FLAGS = (() => {
  const t = new Uint8Array(128);
  for (const ch of ' \t\n\r\f\v') t[ch.charCodeAt(0)] = F_SPACE; // PostgreSQL's `space` class
  for (let c = 65; c <= 90; c++) t[c] = F_IDENT_START;
  for (let c = 97; c <= 122; c++) t[c] = F_IDENT_START;
  t[95] = F_IDENT_START; // _
  for (let c = 48; c <= 57; c++) t[c] = F_DIGIT;
  t[DOLLAR] = F_DOLLAR;
  for (let c = 33; c < 127; c++) {
    if (t[c] === 0 && '\'"-/\\;().'.indexOf(String.fromCharCode(c)) < 0) t[c] = F_PLAIN;
  }
  t[0] = F_PLAIN;
  return t;
})();

function isSpace(c: number): boolean {
  return c < 128 && (CHAR_FLAGS[c] & F_SPACE) !== 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** ident_start / dolq_start: [A-Za-z\200-\377_] (every non-ASCII character counts, as in the server). */
function isIdentStart(c: number): boolean {
  return c >= 128 || (c >= 0 && (CHAR_FLAGS[c] & F_IDENT_START) !== 0);
}

/** ident_cont: ident_start plus digits and '$'. */
function isIdentCont(c: number): boolean {
  return c >= 128 || (c >= 0 && (CHAR_FLAGS[c] & (F_IDENT_START | F_DIGIT | F_DOLLAR)) !== 0);
}

/** dolq_cont: like ident_cont but without '$', which would end the tag. */
function isDollarTagCont(c: number): boolean {
  return c >= 128 || (c >= 0 && (CHAR_FLAGS[c] & (F_IDENT_START | F_DIGIT)) !== 0);
}

/**
 * Case-insensitive comparison of sql[start, end) with an all-lower-case ASCII word, without allocating.
 * `c | 0x20` maps only 'A'-'Z' onto 'a'-'z', so it cannot create false matches with other characters.
 */
function wordIs(sql: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    if ((sql.charCodeAt(start + k) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * End (exclusive) of a number starting at `i`. Numbers swallow trailing identifier characters (1e5, 0x1F,
 * 1_000, junk like 1$) so that a '$' right after a digit is never taken as the start of a dollar quote.
 */
function scanNumber(sql: string, i: number): number {
  let j = i + 1;
  while (j < sql.length) {
    const d = sql.charCodeAt(j);
    if (isIdentCont(d) || d === DOT) j++;
    else break;
  }
  return j;
}

/** End (exclusive) of a token quoted with `quote` and escaped by doubling it, starting at `i`; -1 if unterminated. */
function scanDoubledQuote(sql: string, i: number, quote: string, code: number): number {
  let j = i + 1;
  for (;;) {
    const q = sql.indexOf(quote, j);
    if (q < 0) return -1;
    if (sql.charCodeAt(q + 1) === code) {
      j = q + 2;
      continue;
    }
    return q + 1;
  }
}

/** End (exclusive) of a standard '...' string starting at `i`, or -1 if unterminated. */
function scanStandardString(sql: string, i: number): number {
  return scanDoubledQuote(sql, i, "'", SQUOTE);
}

/** End (exclusive) of an E'...' string body whose opening quote is at `i`, or -1 if unterminated. */
function scanEscapeString(sql: string, i: number): number {
  const n = sql.length;
  let j = i + 1;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === BACKSLASH) {
      j += 2;
    } else if (c === SQUOTE) {
      if (sql.charCodeAt(j + 1) === SQUOTE) j += 2;
      else return j + 1;
    } else {
      j++;
    }
  }
  return -1;
}

/** End (exclusive) of a "quoted identifier" starting at `i`, or -1 if unterminated. */
function scanQuotedIdentifier(sql: string, i: number): number {
  return scanDoubledQuote(sql, i, '"', DQUOTE);
}

/**
 * If a dollar-quote delimiter ($$ or $tag$) starts at `i` (which holds '$'), return the offset just
 * past it; otherwise -1. The caller guarantees the '$' does not directly follow an identifier character.
 */
function scanDollarDelimiter(sql: string, i: number): number {
  const n = sql.length;
  let j = i + 1;
  if (j < n && sql.charCodeAt(j) === DOLLAR) return j + 1;
  if (j >= n || !isIdentStart(sql.charCodeAt(j))) return -1;
  j++;
  while (j < n && isDollarTagCont(sql.charCodeAt(j))) j++;
  return j < n && sql.charCodeAt(j) === DOLLAR ? j + 1 : -1;
}

/** End (exclusive) of a possibly nested block comment starting at `i` ("/*"), or -1 if unterminated. */
function scanBlockComment(sql: string, i: number): number {
  const n = sql.length;
  let depth = 1;
  let j = i + 2;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === STAR && sql.charCodeAt(j + 1) === SLASH) {
      j += 2;
      if (--depth === 0) return j;
    } else if (c === SLASH && sql.charCodeAt(j + 1) === STAR) {
      j += 2;
      depth++;
    } else {
      j++;
    }
  }
  return -1;
}

/** Offset of the first line break (CR or LF) at or after `i`, or the text length. */
function lineBreakAt(sql: string, i: number): number {
  const n = sql.length;
  let j = i;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === LF || c === CR) return j;
    j++;
  }
  return n;
}

/** Offset just past the line break at `i` (CRLF counts as one break). */
function pastLineBreak(sql: string, i: number): number {
  if (i >= sql.length) return sql.length;
  if (sql.charCodeAt(i) === CR && sql.charCodeAt(i + 1) === LF) return i + 2;
  return i + 1;
}

function isLineStart(sql: string, i: number): boolean {
  if (i === 0) return true;
  const p = sql.charCodeAt(i - 1);
  return p === LF || (p === CR && sql.charCodeAt(i) !== LF);
}

/** Move `end` back over trailing whitespace, but not before `min`. */
function trimEndFrom(sql: string, end: number, min: number): number {
  let e = end;
  while (e > min && isSpace(sql.charCodeAt(e - 1))) e--;
  return e;
}

/** `\copy ... from stdin` takes inline data just like SQL COPY; `\copy (query)` can only be TO. */
const META_COPY_FROM_STDIN = /^\\copy\s+(?![\s(])[\s\S]*?\bfrom\s+stdin\b/i;

class Splitter {
  private readonly sql: string;
  private readonly n: number;
  readonly statements: SqlStatement[] = [];
  readonly comments: SqlComment[] = [];
  readonly errors: SplitError[] = [];

  private i = 0;

  // State of the statement being accumulated (reset by resetStatement).
  private stmtStart = -1;
  private stmtEnd = -1;
  private keywords: string[] = [];
  private collectingKeywords = true;
  private parenDepth = 0;
  private beginDepth = 0;
  private identCount = 0;
  private id0 = 0;
  private id1 = 0;
  private id2 = 0;
  private id3 = 0;
  /** The statement starts CREATE [OR REPLACE] FUNCTION|PROCEDURE, so BEGIN ... END nesting matters. */
  private routine = false;
  private isCopy = false;
  private prevWordWasFrom = false;
  private copyFromStdin = false;

  // A COPY FROM STDIN whose data lines start at `copyDataStart`, once the lexer gets there.
  private pendingCopy: SqlStatement | undefined;
  private copyDataStart = NO_COPY;

  constructor(sql: string) {
    this.sql = sql;
    this.n = sql.length;
  }

  run(): void {
    const sql = this.sql;
    const n = this.n;
    while (this.i < n) {
      if (this.i >= this.copyDataStart) {
        this.consumeCopyData();
        continue;
      }
      const i = this.i;
      const c = sql.charCodeAt(i);
      const flags = c < 128 ? CHAR_FLAGS[c] : F_IDENT_START;
      if (flags === F_PLAIN) {
        if (this.stmtStart < 0) this.stmtStart = i;
        this.stmtEnd = i + 1;
        this.collectingKeywords = false;
        this.prevWordWasFrom = false;
        this.i = i + 1;
        continue;
      }
      if (flags === F_SPACE) {
        // Skip the whole run, but stop at the start of pending COPY data.
        const stop = this.copyDataStart < n ? this.copyDataStart : n;
        let j = i + 1;
        while (j < stop && isSpace(sql.charCodeAt(j))) j++;
        this.i = j;
        continue;
      }
      const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
      if (c === MINUS && next === MINUS) {
        const end = lineBreakAt(sql, i + 2);
        this.comments.push({ start: i, end, text: sql.slice(i, end), kind: 'line' });
        this.i = end;
        continue;
      }
      if (c === SLASH && next === STAR) {
        this.blockComment(i);
        continue;
      }
      if (c === BACKSLASH) {
        this.metaCommand(i);
        continue;
      }
      if (c === SEMI && this.parenDepth === 0 && this.beginDepth === 0) {
        this.terminate(i);
        continue;
      }
      this.token(i, c, next);
    }
    if (this.pendingCopy) {
      // "COPY ... FROM STDIN;" as the last line: psql reads EOF at once, i.e. no rows.
      this.pendingCopy.copyData = { start: n, end: n };
      this.pendingCopy = undefined;
    }
    if (this.stmtStart >= 0) this.flushUnterminated();
  }

  private blockComment(i: number): void {
    const sql = this.sql;
    let end = scanBlockComment(sql, i);
    if (end < 0) {
      end = this.n;
      this.errors.push({ offset: i, message: 'unterminated /* comment' });
      // The server would see the rest of the input as part of the statement, so keep it there.
      if (this.stmtStart >= 0) this.stmtEnd = trimEndFrom(sql, end, this.stmtEnd);
    }
    this.comments.push({ start: i, end, text: sql.slice(i, end), kind: 'block' });
    this.i = end;
  }

  /** One significant (non-space, non-comment) token starting at `i`. */
  private token(i: number, c: number, next: number): void {
    const sql = this.sql;
    const n = this.n;
    if (this.stmtStart < 0) this.stmtStart = i;
    let end: number;
    let isWord = false;
    if (c === SQUOTE) {
      end = this.quoted(i, scanStandardString(sql, i), 'unterminated quoted string');
    } else if (c === DQUOTE) {
      end = this.quoted(i, scanQuotedIdentifier(sql, i), 'unterminated quoted identifier');
    } else if (c === DOLLAR) {
      end = this.dollar(i, next);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      if (j === i + 1 && (c === UPPER_E || c === LOWER_E) && next === SQUOTE) {
        // E'...': the only string form in which a backslash escapes the quote.
        end = this.quoted(i, scanEscapeString(sql, j), 'unterminated quoted string');
      } else {
        this.word(i, j);
        end = j;
        isWord = true;
      }
    } else if (isDigit(c) || (c === DOT && isDigit(next))) {
      end = scanNumber(sql, i);
    } else {
      if (c === LPAREN) this.parenDepth++;
      else if (c === RPAREN && this.parenDepth > 0) this.parenDepth--;
      end = i + 1;
    }
    if (!isWord) {
      this.collectingKeywords = false;
      this.prevWordWasFrom = false;
    }
    // Only an unterminated quote can carry trailing whitespace up to the end of the input.
    this.stmtEnd = end === n ? trimEndFrom(sql, n, i + 1) : end;
    this.i = end;
  }

  /** Handles the result of a quote scanner; an unterminated quote runs to the end of the input. */
  private quoted(start: number, end: number, message: string): number {
    if (end >= 0) return end;
    this.errors.push({ offset: start, message });
    return this.n;
  }

  private dollar(i: number, next: number): number {
    const sql = this.sql;
    const n = this.n;
    if (isDigit(next)) {
      // A positional parameter ($1), never a dollar quote.
      let j = i + 2;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      return j;
    }
    const delimEnd = scanDollarDelimiter(sql, i);
    if (delimEnd < 0) return i + 1;
    const tag = sql.slice(i, delimEnd);
    const close = sql.indexOf(tag, delimEnd);
    if (close < 0) {
      this.errors.push({ offset: i, message: `unterminated dollar-quoted string ${tag}` });
      return n;
    }
    return close + tag.length;
  }

  /** Bookkeeping for an unquoted identifier or keyword at [start, end). */
  private word(start: number, end: number): void {
    const sql = this.sql;
    if (this.identCount >= 4 && !this.routine && !this.isCopy && !this.collectingKeywords) {
      this.identCount++;
      return; // the common case: nothing left to learn from this word
    }
    if (this.collectingKeywords) {
      this.keywords.push(sql.slice(start, end).toUpperCase());
      if (this.keywords.length >= 4) this.collectingKeywords = false;
    }

    // psql's heuristic for SQL-standard bodies (BEGIN ATOMIC ... END): remember the first letter of the
    // first four identifiers when they are CREATE/OR/REPLACE/FUNCTION/PROCEDURE.
    const idx = this.identCount++;
    if (idx < 4) {
      let code = 0;
      if (wordIs(sql, start, end, 'create')) code = ID_C;
      else if (wordIs(sql, start, end, 'function')) code = ID_F;
      else if (wordIs(sql, start, end, 'procedure')) code = ID_P;
      else if (wordIs(sql, start, end, 'or')) code = ID_O;
      else if (wordIs(sql, start, end, 'replace')) code = ID_R;
      if (idx === 0) {
        this.id0 = code;
        this.isCopy = wordIs(sql, start, end, 'copy');
      } else if (idx === 1) this.id1 = code;
      else if (idx === 2) this.id2 = code;
      else this.id3 = code;
      this.routine =
        this.id0 === ID_C &&
        (this.id1 === ID_F ||
          this.id1 === ID_P ||
          (this.id1 === ID_O && this.id2 === ID_R && (this.id3 === ID_F || this.id3 === ID_P)));
    }
    if (this.routine && this.parenDepth === 0) {
      if (wordIs(sql, start, end, 'begin')) {
        this.beginDepth++;
      } else if (wordIs(sql, start, end, 'case')) {
        // CASE also ends with END, but only matters once inside a BEGIN.
        if (this.beginDepth > 0) this.beginDepth++;
      } else if (wordIs(sql, start, end, 'end')) {
        if (this.beginDepth > 0) this.beginDepth--;
      }
    }

    if (this.isCopy && this.parenDepth === 0) {
      if (this.prevWordWasFrom && wordIs(sql, start, end, 'stdin')) this.copyFromStdin = true;
      this.prevWordWasFrom = wordIs(sql, start, end, 'from');
    }
  }

  /** A ';' that ends the statement (outside parentheses and BEGIN ATOMIC bodies). */
  private terminate(i: number): void {
    this.i = i + 1;
    if (this.stmtStart < 0) return; // empty statement
    const stmt = this.push('sql', this.stmtStart, this.stmtEnd, i + 1, true, this.keywords);
    if (this.copyFromStdin) this.scheduleCopy(stmt, i + 1);
    this.resetStatement();
  }

  private metaCommand(i: number): void {
    const sql = this.sql;
    const n = this.n;
    // psql sends (\g) or keeps the pending query buffer depending on the command; for splitting,
    // cutting the pending text off as its own statement is the predictable choice.
    if (this.stmtStart >= 0) this.flushUnterminated();
    const lineEnd = lineBreakAt(sql, i + 1);
    const end = trimEndFrom(sql, lineEnd, i + 1);
    let j = i + 1;
    if (j < n && isIdentCont(sql.charCodeAt(j))) {
      while (j < end && isIdentCont(sql.charCodeAt(j))) j++;
    } else if (j < end) {
      j++; // one-character commands such as \! or \?
    }
    const stmt = this.push('psql-meta', i, end, lineEnd, true, [sql.slice(i, j)]);
    if (META_COPY_FROM_STDIN.test(stmt.text)) this.scheduleCopy(stmt, lineEnd);
    this.i = lineEnd;
  }

  /** COPY data begins on the line after the one holding the command; psql reads it from the same source. */
  private scheduleCopy(stmt: SqlStatement, from: number): void {
    this.pendingCopy = stmt;
    this.copyDataStart = pastLineBreak(this.sql, lineBreakAt(this.sql, from));
    if (this.copyDataStart >= this.n) this.copyDataStart = this.n;
  }

  /**
   * Consume the data lines up to and including a line that is exactly `\.` (psql's end-of-data marker)
   * or the end of input. The rest of the COPY's line has been lexed as SQL already.
   */
  private consumeCopyData(): void {
    const sql = this.sql;
    const n = this.n;
    const stmt = this.pendingCopy!;
    this.pendingCopy = undefined;
    this.copyDataStart = NO_COPY;
    // Text after the ';' on the COPY's own line cannot run across the data, so it stands alone.
    if (this.stmtStart >= 0) this.flushUnterminated();
    let p = this.i;
    if (!isLineStart(sql, p)) p = pastLineBreak(sql, lineBreakAt(sql, p));
    const dataStart = p;
    while (p < n) {
      if (sql.charCodeAt(p) === BACKSLASH && sql.charCodeAt(p + 1) === DOT) {
        const q = p + 2;
        if (q >= n || sql.charCodeAt(q) === LF || sql.charCodeAt(q) === CR) {
          stmt.copyData = { start: dataStart, end: p };
          this.i = pastLineBreak(sql, q);
          return;
        }
      }
      p = pastLineBreak(sql, lineBreakAt(sql, p));
    }
    stmt.copyData = { start: dataStart, end: n };
    this.i = n;
  }

  private flushUnterminated(): void {
    this.push('sql', this.stmtStart, this.stmtEnd, this.stmtEnd, false, this.keywords);
    this.resetStatement();
  }

  private push(
    kind: StatementKind,
    start: number,
    end: number,
    terminatorEnd: number,
    terminated: boolean,
    keywords: string[],
  ): SqlStatement {
    const stmt: SqlStatement = {
      kind,
      text: this.sql.slice(start, end),
      start,
      end,
      terminatorEnd,
      terminated,
      keywords,
    };
    this.statements.push(stmt);
    return stmt;
  }

  private resetStatement(): void {
    this.stmtStart = -1;
    this.stmtEnd = -1;
    this.keywords = [];
    this.collectingKeywords = true;
    this.parenDepth = 0;
    this.beginDepth = 0;
    this.identCount = 0;
    this.id0 = this.id1 = this.id2 = this.id3 = 0;
    this.routine = false;
    this.isCopy = false;
    this.prevWordWasFrom = false;
    this.copyFromStdin = false;
  }
}

/**
 * Split a PostgreSQL script into statements the way psql does. Semicolons inside quotes, comments,
 * dollar-quoted bodies, parentheses (psql tracks their depth, e.g. for multi-action CREATE RULE) and
 * BEGIN ATOMIC ... END bodies of CREATE FUNCTION/PROCEDURE do not split. Never throws.
 */
export function splitStatements(sql: string): SplitResult {
  const s = new Splitter(typeof sql === 'string' ? sql : String(sql ?? ''));
  s.run();
  return { statements: s.statements, comments: s.comments, errors: s.errors };
}

/**
 * True for statements that control the transaction: BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK
 * (but NOT `ROLLBACK TO [SAVEPOINT]`), ABORT, COMMIT/ROLLBACK PREPARED, PREPARE TRANSACTION.
 * SAVEPOINT/RELEASE are not: they work inside the migration's own transaction.
 */
export function isTransactionControl(stmt: SqlStatement): boolean {
  if (stmt.kind !== 'sql') return false;
  const k = stmt.keywords;
  switch (k[0]) {
    case 'BEGIN':
    case 'COMMIT':
    case 'END':
    case 'ABORT':
      return true;
    case 'START':
    case 'PREPARE':
      return k[1] === 'TRANSACTION';
    case 'ROLLBACK': {
      // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name only rewinds to a savepoint.
      const afterNoise = k[1] === 'WORK' || k[1] === 'TRANSACTION' ? k[2] : k[1];
      return afterNoise !== 'TO';
    }
    default:
      return false;
  }
}

const CR_RUN = /\r\n?/g;

function normalizeNewlines(s: string): string {
  return s.indexOf('\r') < 0 ? s : s.replace(CR_RUN, '\n');
}

const ASCII_UPPER = /[A-Z]/;
const ASCII_UPPER_RUN = /[A-Z]+/g;

/**
 * Only ASCII letters are folded: the server's identifier downcasing leaves other letters alone with
 * multi-byte encodings, so "É" and "é" are different identifiers.
 */
function asciiLower(s: string): string {
  return ASCII_UPPER.test(s) ? s.replace(ASCII_UPPER_RUN, (m) => m.toLowerCase()) : s;
}

function isTightPunct(c: number): boolean {
  return c === SEMI || c === LPAREN || c === RPAREN || c === COMMA;
}

/** Normalise the text of one SQL statement (no psql meta-commands or COPY data inside). */
function normalizeStatementText(sql: string): string {
  const n = sql.length;
  const parts: string[] = [];
  let last = -1; // last emitted character code
  let pendingSpace = false;
  const emit = (chunk: string): void => {
    if (pendingSpace && last >= 0 && !isTightPunct(last) && !isTightPunct(chunk.charCodeAt(0))) parts.push(' ');
    pendingSpace = false;
    parts.push(chunk);
    last = chunk.charCodeAt(chunk.length - 1);
  };
  const verbatim = (start: number, end: number): number => {
    const stop = end < 0 ? n : end;
    emit(normalizeNewlines(sql.slice(start, stop)));
    return stop;
  };
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (isSpace(c)) {
      pendingSpace = true;
      i++;
    } else if (c === MINUS && next === MINUS) {
      pendingSpace = true;
      i = lineBreakAt(sql, i + 2);
    } else if (c === SLASH && next === STAR) {
      pendingSpace = true;
      const end = scanBlockComment(sql, i);
      i = end < 0 ? n : end;
    } else if (c === SQUOTE) {
      i = verbatim(i, scanStandardString(sql, i));
    } else if (c === DQUOTE) {
      i = verbatim(i, scanQuotedIdentifier(sql, i));
    } else if (c === DOLLAR) {
      if (isDigit(next)) {
        let j = i + 2;
        while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
        emit(asciiLower(sql.slice(i, j)));
        i = j;
        continue;
      }
      const delimEnd = scanDollarDelimiter(sql, i);
      if (delimEnd < 0) {
        emit('$');
        i++;
        continue;
      }
      const tag = sql.slice(i, delimEnd);
      const close = sql.indexOf(tag, delimEnd);
      i = verbatim(i, close < 0 ? -1 : close + tag.length);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      if (j === i + 1 && (c === UPPER_E || c === LOWER_E) && next === SQUOTE) {
        const end = scanEscapeString(sql, j);
        const stop = end < 0 ? n : end;
        emit('e' + normalizeNewlines(sql.slice(j, stop)));
        i = stop;
      } else {
        emit(asciiLower(sql.slice(i, j)));
        i = j;
      }
    } else if (isDigit(c) || (c === DOT && isDigit(next))) {
      const j = scanNumber(sql, i);
      emit(asciiLower(sql.slice(i, j)));
      i = j;
    } else if (c === COLON && next === COLON) {
      emit('::');
      i += 2;
    } else if (c === COLON && isIdentStart(next)) {
      // psql variable (:name): names are case-sensitive, so keep them verbatim.
      let j = i + 2;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      emit(sql.slice(i, j));
      i = j;
    } else {
      emit(sql[i]);
      i++;
    }
  }
  return parts.join('');
}

/**
 * The text used for the "normalised" checksum of a migration: two versions that differ only cosmetically
 * give the same string. Outside string literals, quoted identifiers and dollar-quoted bodies:
 * comments are removed (replaced by a single space), runs of whitespace collapse to one space, and
 * letters are lower-cased (unquoted identifiers fold to lower case and keywords are case-insensitive, so
 * this is semantically safe); whitespace next to ';' , '(' , ')' , ',' is dropped; the result is trimmed and
 * a trailing ';' removed. Inside literals/quoted identifiers/dollar-quoted bodies the text is kept verbatim
 * except that CRLF and lone CR become LF (a plpython body's indentation is significant).
 *
 * psql meta-command lines and COPY data are kept verbatim (they are case- and whitespace-sensitive),
 * each ending with a newline so that line structure that matters to psql is preserved.
 */
export function normalizeSql(sql: string): string {
  const { statements } = splitStatements(sql);
  const parts: string[] = [];
  let needsSeparator = false;
  for (const stmt of statements) {
    if (needsSeparator) parts.push(' ');
    if (stmt.kind === 'psql-meta') {
      parts.push(stmt.text, '\n');
      needsSeparator = false;
    } else {
      parts.push(normalizeStatementText(stmt.text));
      needsSeparator = !stmt.terminated;
      if (stmt.terminated) parts.push(';');
    }
    if (stmt.copyData) {
      if (stmt.kind === 'sql') parts.push('\n');
      parts.push(normalizeNewlines(sql.slice(stmt.copyData.start, stmt.copyData.end)), '\\.\n');
      needsSeparator = false;
    }
  }
  let out = parts.join('').trim();
  if (out.endsWith(';')) out = out.slice(0, -1);
  return out;
}

/**
 * Replace psql variables (`:name`, `:'name'`, `:"name"`) in one statement's text with placeholders of the
 * same length, so the PostgreSQL parser accepts the statement and every offset stays right: `:name`
 * becomes an identifier (`_name`), `:'name'` a string literal (`'_name'`), `:"name"` a quoted identifier (`"_name"`).
 * Returns the text unchanged (same string) when it has no variable.
 */
export function maskPsqlVariables(sql: string): string {
  if (sql.indexOf(':') < 0) return sql;
  const n = sql.length;
  let out: string[] | undefined;
  let copied = 0;
  const replace = (start: number, end: number, text: string) => {
    out ??= [];
    out.push(sql.slice(copied, start), text);
    copied = end;
  };
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (c === MINUS && next === MINUS) i = lineBreakAt(sql, i + 2);
    else if (c === SLASH && next === STAR) {
      const end = scanBlockComment(sql, i);
      i = end < 0 ? n : end;
    } else if (c === SQUOTE) {
      const end = scanStandardString(sql, i);
      i = end < 0 ? n : end;
    } else if (c === DQUOTE) {
      const end = scanQuotedIdentifier(sql, i);
      i = end < 0 ? n : end;
    } else if (c === DOLLAR && !isDigit(next)) {
      const delimEnd = scanDollarDelimiter(sql, i);
      if (delimEnd < 0) {
        i++;
        continue;
      }
      const close = sql.indexOf(sql.slice(i, delimEnd), delimEnd);
      i = close < 0 ? n : close + (delimEnd - i);
    } else if (isIdentStart(c) || isDigit(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      if (j === i + 1 && (c === UPPER_E || c === LOWER_E) && next === SQUOTE) {
        const end = scanEscapeString(sql, j);
        j = end < 0 ? n : end;
      }
      i = j;
    } else if (c === COLON && next === COLON) {
      i += 2;
    } else if (c === COLON && isIdentStart(next)) {
      let j = i + 2;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      replace(i, j, '_' + sql.slice(i + 1, j));
      i = j;
    } else if (c === COLON && (next === SQUOTE || next === DQUOTE)) {
      const end = next === SQUOTE ? scanStandardString(sql, i + 1) : scanQuotedIdentifier(sql, i + 1);
      if (end < 0) {
        i++;
        continue;
      }
      // Same length, and the name stays readable in messages: :"name" → "_name", :'name' → '_name'.
      const q = String.fromCharCode(next);
      replace(i, end, q + '_' + sql.slice(i + 2, end - 1) + q);
      i = end;
    } else i++;
  }
  if (!out) return sql;
  out.push(sql.slice(copied));
  return out.join('');
}
