import type { RuleContext } from './context';
import type { StatementInfo } from './types';

// ---------------------------------------------------------------------------------------------------
// The linter's SQL tokenizer, shared by every rule. Rules need keyword positions (where to insert
// `IF NOT EXISTS`, what to underline) and the AST only has locations for some nodes; a regex over the
// statement text would also match inside comments and strings. This is a small lexer over one statement,
// following PostgreSQL's scan.l for what matters here: comments (nested), strings ('', E'', U&'', B'',
// X'', N'', dollar quotes), quoted identifiers ("", U&""), words folded as the server folds them (ASCII
// only), numbers, $n parameters, and parenthesis depth. It works on UTF-16 code units (any unit ≥ 0x80,
// surrogates included, is a letter, as the server treats high-bit bytes) and is incremental: tokens are
// produced on demand, so a rule that only needs the first keywords of a long statement (`CREATE TABLE …`,
// `DROP INDEX …`) does not tokenize the rest of it.
//
// Each statement is tokenized once (see `lexerOf`); the data-loss and locking rules read the same tokens
// through two views (`dataLossTokensOf`, `lockingLexerOf`) that split a few of them into the smaller
// pieces those rules were written against (`::` as two `:`, `U&'…'` as `u`, `&`, `'…'`, …), so that their
// findings stay exactly what they were. Almost every token is shared unchanged by all the views.
// ---------------------------------------------------------------------------------------------------

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'punct';

export interface Token {
  kind: TokenKind;
  /** File offsets (UTF-16). */
  start: number;
  end: number;
  /**
   * word: ASCII-lower-cased (as the server folds unquoted identifiers in UTF-8); quoted: the identifier
   * ("" unescaped); otherwise the text.
   */
  value: string;
  /** Parenthesis depth (a '(' and its ')' have the depth outside them). */
  depth: number;
  /** Parenthesis-and-bracket depth (same convention: `[` and `]` count like `(` and `)`). */
  nesting: number;
  /** View bits (SPLIT_*): the views in which this token is split or spelled differently. 0 for most tokens. */
  flags: number;
}

/** The token looks different in `dataLossTokensOf`. */
const SPLIT_DATA_LOSS = 1;
/** The token looks different in `lockingLexerOf`. */
const SPLIT_LOCKING = 2;
const SPLIT_BOTH = SPLIT_DATA_LOSS | SPLIT_LOCKING;

/** A sequence of tokens produced on demand. */
export interface TokenStream {
  /** The tokens produced so far (all of them once `all()` was called). */
  readonly tokens: Token[];
  /** Token k, lexing up to it if needed (undefined past the end). */
  get(k: number): Token | undefined;
  /** Every token. */
  all(): Token[];
  /** Index of the first token ending after `offset` (the token containing it, or the next one); -1 if none. */
  indexAfter(offset: number): number;
}

/** The incremental lexer: statement text in, tokens with file offsets (`base` + index) out. */
export class Lexer implements TokenStream {
  readonly tokens: Token[] = [];
  /** The SPLIT_* bits of the tokens produced so far, or-ed together. */
  flagged = 0;
  private pos = 0;
  private depth = 0;
  private nesting = 0;
  private done = false;

  constructor(
    readonly text: string,
    readonly base: number,
  ) {}

  get(k: number): Token | undefined {
    while (k >= this.tokens.length && !this.done) this.step();
    return this.tokens[k];
  }

  all(): Token[] {
    while (!this.done) this.step();
    return this.tokens;
  }

  indexAfter(offset: number): number {
    return indexAfter(this, offset);
  }

  /** Lex one more token; false at the end of the text. */
  next(): boolean {
    if (this.done) return false;
    const k = this.tokens.length;
    this.step();
    return this.tokens.length > k;
  }

  private push(kind: TokenKind, start: number, end: number, value: string, flags: number): void {
    this.tokens.push({ kind, start: this.base + start, end: this.base + end, value, depth: this.depth, nesting: this.nesting, flags });
    this.flagged |= flags;
  }

  /**
   * The views lower-case words with toLowerCase(), which also folds non-ASCII letters (the server and this
   * lexer fold ASCII ones only): flag the word just pushed when that spells it differently.
   */
  private flagFolding(word: string): void {
    const t = this.tokens[this.tokens.length - 1];
    if (word.toLowerCase() !== t.value) {
      t.flags = SPLIT_BOTH;
      this.flagged |= SPLIT_BOTH;
    }
  }

  /** Lex one token (after whitespace and comments), or reach the end. */
  private step(): void {
    const text = this.text;
    const n = text.length;
    let i = this.pos;
    for (;;) {
      if (i >= n) {
        this.pos = i;
        this.done = true;
        return;
      }
      const c = text.charCodeAt(i);
      if (c === 32 || (c >= 9 && c <= 13)) {
        // space, \t \n \v \f \r
        i++;
      } else if (c === 45 && text.charCodeAt(i + 1) === 45) {
        const nl = text.indexOf('\n', i);
        i = nl < 0 ? n : nl + 1;
      } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
        let level = 1;
        i += 2;
        while (i < n && level > 0) {
          const d = text.charCodeAt(i);
          if (d === 47 && text.charCodeAt(i + 1) === 42) {
            level++;
            i += 2;
          } else if (d === 42 && text.charCodeAt(i + 1) === 47) {
            level--;
            i += 2;
          } else i++;
        }
      } else break;
    }
    const c = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    let e: number;
    if (c === 39) {
      e = quotedEnd(text, i, 39, false);
      this.push('string', i, e, text.slice(i, e), 0);
    } else if (c === 34) {
      e = quotedEnd(text, i, 34, false);
      this.push('quoted', i, e, unquote(text.slice(i + 1, Math.max(i + 1, e - 1))), 0);
    } else if ((c === 101 || c === 69) && c1 === 39) {
      // E'…' (backslash escapes)
      e = quotedEnd(text, i + 1, 39, true);
      this.push('string', i, e, text.slice(i, e), 0);
    } else if ((c === 117 || c === 85) && c1 === 38 && (text.charCodeAt(i + 2) === 39 || text.charCodeAt(i + 2) === 34)) {
      // U&'…' and U&"…"
      const q = text.charCodeAt(i + 2);
      e = quotedEnd(text, i + 2, q, false);
      if (q === 34) this.push('quoted', i, e, unquote(text.slice(i + 3, Math.max(i + 3, e - 1))), SPLIT_BOTH);
      else this.push('string', i, e, text.slice(i, e), SPLIT_BOTH);
    } else if ((c === 98 || c === 66 || c === 120 || c === 88 || c === 110 || c === 78) && c1 === 39) {
      // B'…', X'…', N'…'
      e = quotedEnd(text, i + 1, 39, false);
      this.push('string', i, e, text.slice(i, e), SPLIT_LOCKING);
    } else if (isWordStart(c)) {
      // Fold ASCII upper case only, as the server does for unquoted identifiers in UTF-8.
      let upper = c >= 65 && c <= 90;
      let ascii = c < 128;
      e = i + 1;
      for (; e < n; e++) {
        const d = text.charCodeAt(e);
        if (d >= 65 && d <= 90) upper = true;
        else if (d >= 128) ascii = false;
        else if (!((d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || d === 36)) break;
      }
      const word = text.slice(i, e);
      this.push('word', i, e, !upper ? word : ascii ? word.toLowerCase() : word.replace(/[A-Z]+/g, (m) => m.toLowerCase()), 0);
      if (!ascii) this.flagFolding(word);
    } else if (c === 36) {
      if (isDigit(c1)) {
        e = i + 2;
        while (e < n && isDigit(text.charCodeAt(e))) e++;
        this.push('param', i, e, text.slice(i, e), SPLIT_LOCKING);
      } else {
        // $tag$ … $tag$ (the tag: a letter or _, then letters, digits, _; no $).
        let j = i + 1;
        if (isWordStart(c1)) {
          j++;
          while (j < n && isTagPart(text.charCodeAt(j))) j++;
        }
        if (text.charCodeAt(j) === 36) {
          const tag = text.slice(i, j + 1);
          const close = text.indexOf(tag, j + 1);
          e = close < 0 ? n : close + tag.length;
          this.push('string', i, e, text.slice(i, e), 0);
        } else {
          e = i + 1;
          this.push('punct', i, e, '$', 0);
        }
      }
    } else if (isDigit(c) || (c === 46 && isDigit(c1))) {
      e = i + 1;
      while (e < n && isDigit(text.charCodeAt(e))) e++;
      // Plain digits (most numbers) end here; anything else takes the full scan.
      if (c === 46 || isNumPart(text.charCodeAt(e))) {
        this.number(i);
        return;
      }
      this.push('number', i, e, text.slice(i, e), 0);
    } else if (c === 40) {
      e = i + 1;
      this.push('punct', i, e, '(', 0);
      this.depth++;
      this.nesting++;
    } else if (c === 41) {
      e = i + 1;
      this.depth = Math.max(0, this.depth - 1);
      this.nesting = Math.max(0, this.nesting - 1);
      this.push('punct', i, e, ')', 0);
    } else if (c === 91) {
      e = i + 1;
      this.push('punct', i, e, '[', 0);
      this.nesting++;
    } else if (c === 93) {
      e = i + 1;
      this.nesting = Math.max(0, this.nesting - 1);
      this.push('punct', i, e, ']', 0);
    } else if (c === 58 && c1 === 58) {
      e = i + 2;
      this.push('punct', i, e, '::', SPLIT_BOTH);
    } else {
      e = i + 1;
      this.push('punct', i, e, text[i], 0);
    }
    this.pos = e;
  }

  /**
   * A number at `i` (a digit, or '.' and a digit): 0x/0o/0b integers (hex digits and `_`), else digits and
   * `_` with one optional '.', then an optional exponent (`e`, a sign, digits).
   */
  private number(i: number): void {
    const text = this.text;
    const n = text.length;
    let e: number;
    let flags = 0;
    const c1 = text.charCodeAt(i + 1);
    if (text.charCodeAt(i) === 48 && (c1 === 120 || c1 === 88 || c1 === 111 || c1 === 79 || c1 === 98 || c1 === 66) && isHexPart(text.charCodeAt(i + 2))) {
      e = i + 3;
      while (e < n && isHexPart(text.charCodeAt(e))) e++;
      // The data-loss view reads `0` and the word `x1f`.
      flags = SPLIT_DATA_LOSS;
    } else {
      e = i + 1;
      if (text.charCodeAt(i) !== 46) {
        while (e < n && isDigitPart(text.charCodeAt(e))) e++;
        if (text.charCodeAt(e) === 46) e++;
      } else flags |= SPLIT_LOCKING; // the locking view reads '.' and a number
      while (e < n && isDigitPart(text.charCodeAt(e))) e++;
      const x = text.charCodeAt(e);
      if (x === 101 || x === 69) {
        let f = e + 1;
        const s = text.charCodeAt(f);
        const signed = s === 43 || s === 45;
        if (signed) f++;
        if (isDigit(text.charCodeAt(f))) {
          e = f + 1;
          while (e < n && isDigit(text.charCodeAt(e))) e++;
          // The locking view reads `1e`, `-`, `5`.
          if (signed) flags |= SPLIT_LOCKING;
        }
      }
    }
    // The locking view's numbers run on over letters, digits, `_` and '.'.
    if (isNumPart(text.charCodeAt(e))) flags |= SPLIT_LOCKING;
    this.push('number', i, e, text.slice(i, e), flags);
    this.pos = e;
  }
}

/** [A-Za-z_] or any non-ASCII UTF-16 unit (the server treats high-bit bytes as letters). */
function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** Dollar-quote tag characters. */
function isTagPart(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}
/** A digit or `_` (digit group separator). */
function isDigitPart(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 95;
}
/** Hex digits and `_`. */
function isHexPart(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 95;
}
/** What the locking view's numbers are made of after their first digit: ASCII letters, digits, `_`, '.'. */
function isNumPart(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 46;
}

/** End of a quoted run starting at `from` (the opening quote), with doubled quotes as escapes. */
function quotedEnd(text: string, from: number, q: number, backslash: boolean): number {
  const n = text.length;
  let j = from + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (backslash && c === 92) j += 2;
    else if (c === q) {
      if (text.charCodeAt(j + 1) === q) j += 2;
      else return j + 1;
    } else j++;
  }
  return n;
}

function unquote(s: string): string {
  return s.includes('""') ? s.replace(/""/g, '"') : s;
}

/** The first token of `s` ending after `offset`, lexing on as needed; -1 if none. */
function indexAfter(s: { readonly tokens: Token[]; next(): boolean }, offset: number): number {
  const ts = s.tokens;
  // Tokens are in order and do not overlap: search the lexed ones, then lex on.
  if (ts.length && ts[ts.length - 1].end > offset) {
    let lo = 0;
    let hi = ts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid].end > offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  let k = ts.length;
  while (s.next()) {
    for (; k < ts.length; k++) if (ts[k].end > offset) return k;
  }
  return -1;
}

/** Every token of `text` (offsets from `base`), not cached. */
export function lexAll(text: string, base = 0): Token[] {
  return new Lexer(text, base).all();
}

// ---------------------------------------------------------------------------------------------------
// The current statement's tokens, cached on the RuleContext (cleared when the statement changes), so the
// rules judging a statement share one tokenization.
// ---------------------------------------------------------------------------------------------------

/** The token caches of one statement (RuleContext.tokenCache). */
export class StatementTokens {
  /** Over the parsed text (psql variables masked). */
  readonly lexer: Lexer;
  private readonly stmt: StatementInfo;
  private dataLoss: Token[] | undefined;
  private locking: LockingView | undefined;

  constructor(ctx: RuleContext) {
    this.stmt = ctx.stmt;
    this.lexer = new Lexer(ctx.parsedText || ctx.stmt.text, ctx.stmt.start);
  }

  dataLossTokens(): Token[] {
    return (this.dataLoss ??= dataLossView(this.lexer));
  }

  lockingLexer(): LockingView {
    if (!this.locking) {
      // The locking rules read the statement as written (psql variables not masked).
      const s = this.stmt;
      this.locking = new LockingView(s.text === this.lexer.text ? this.lexer : new Lexer(s.text, s.start));
    }
    return this.locking;
  }
}

function cacheOf(ctx: RuleContext): StatementTokens {
  return (ctx.tokenCache ??= new StatementTokens(ctx));
}

/** The lazy tokens of the current statement (its parsed text: psql variables masked). */
export function lexerOf(ctx: RuleContext): Lexer {
  return cacheOf(ctx).lexer;
}

/** Every token of the current statement. */
export function tokensOf(ctx: RuleContext): Token[] {
  return cacheOf(ctx).lexer.all();
}

/**
 * The current statement's tokens as the data-loss (and style) rules read them: like tokensOf(), except that
 * `::` is two ':' tokens, `U&'…'` / `U&"…"` are the word `u`, '&' and the string / quoted identifier,
 * `0x1F` (also 0o, 0b) is the number `0` and the word `x1f`, and words are lower-cased with toLowerCase()
 * (every letter, not only ASCII). These are the tokens those rules were written against, and their findings
 * depend on the differences (e.g. where `ALTER TYPE t RENAME VALUE U&'a' TO 'b'` is reported).
 */
export function dataLossTokensOf(ctx: RuleContext): Token[] {
  return cacheOf(ctx).dataLossTokens();
}

/**
 * The current statement's lazy tokens as the locking rules read them: over the statement as written (psql
 * variables not masked), with `nesting` as the depth, and like tokensOf() except that `::`, `$1` (`$`, `1`),
 * `B'…'` / `X'…'` / `N'…'` (the word and the string) and `U&'…'` / `U&"…"` are split, numbers are a digit
 * then ASCII letters, digits, `_` and '.' (`.5` is '.' then `5`, `1e-5` is `1e`, '-', `5`, `1e1_0` one
 * number), and words are lower-cased with toLowerCase(). As for dataLossTokensOf(), the locking rules'
 * findings depend on these differences.
 */
export function lockingLexerOf(ctx: RuleContext): LockingView {
  return cacheOf(ctx).lockingLexer();
}

function tok(kind: TokenKind, start: number, end: number, value: string, t: Token): Token {
  return { kind, start, end, value, depth: t.depth, nesting: t.nesting, flags: 0 };
}

/** `U&'…'` / `U&"…"` as the word `u`, '&' and the rest. */
function splitUnicodePrefix(t: Token, text: string, base: number, out: Token[]): void {
  const s = t.start;
  out.push(tok('word', s, s + 1, 'u', t), tok('punct', s + 1, s + 2, '&', t));
  out.push(t.kind === 'quoted' ? tok('quoted', s + 2, t.end, t.value, t) : tok('string', s + 2, t.end, text.slice(s + 2 - base, t.end - base), t));
}

/** A word spelled as toLowerCase() spells it. */
function fullyLowered(t: Token, text: string, base: number): Token {
  return tok('word', t.start, t.end, text.slice(t.start - base, t.end - base).toLowerCase(), t);
}

/** The data-loss rules' view of a lexer (see dataLossTokensOf): its tokens when none needs splitting. */
function dataLossView(lx: Lexer): Token[] {
  const all = lx.all();
  if ((lx.flagged & SPLIT_DATA_LOSS) === 0) return all;
  const { text, base } = lx;
  const out: Token[] = [];
  for (const t of all) {
    if ((t.flags & SPLIT_DATA_LOSS) === 0) {
      out.push(t);
      continue;
    }
    const s = t.start;
    if (t.kind === 'punct') out.push(tok('punct', s, s + 1, ':', t), tok('punct', s + 1, s + 2, ':', t));
    else if (t.kind === 'word') out.push(fullyLowered(t, text, base));
    else if (t.kind === 'number') out.push(tok('number', s, s + 1, '0', t), tok('word', s + 1, t.end, text.slice(s + 1 - base, t.end - base).toLowerCase(), t));
    else splitUnicodePrefix(t, text, base, out);
  }
  return out;
}

/** The locking rules' view of a lexer (see lockingLexerOf), produced on demand like the lexer's tokens. */
export class LockingView implements TokenStream {
  readonly tokens: Token[] = [];
  /** Next token of the lexer to read. */
  private k = 0;

  constructor(private readonly lx: Lexer) {}

  get(k: number): Token | undefined {
    while (k >= this.tokens.length && this.next());
    return this.tokens[k];
  }

  all(): Token[] {
    while (this.next());
    return this.tokens;
  }

  indexAfter(offset: number): number {
    return indexAfter(this, offset);
  }

  /** Read one more token of the lexer (one or more tokens here); false at the end. */
  next(): boolean {
    const lx = this.lx;
    const t = lx.get(this.k);
    if (!t) return false;
    this.k++;
    const out = this.tokens;
    if ((t.flags & SPLIT_LOCKING) === 0) {
      out.push(t);
      return true;
    }
    const { text, base } = lx;
    const s = t.start;
    switch (t.kind) {
      case 'punct': // ::
        out.push(tok('punct', s, s + 1, ':', t), tok('punct', s + 1, s + 2, ':', t));
        break;
      case 'word':
        out.push(fullyLowered(t, text, base));
        break;
      case 'quoted':
        splitUnicodePrefix(t, text, base, out);
        break;
      case 'string':
        if (text.charCodeAt(s + 1 - base) === 38) splitUnicodePrefix(t, text, base, out);
        else out.push(tok('word', s, s + 1, text[s - base].toLowerCase(), t), tok('string', s + 1, t.end, text.slice(s + 1 - base, t.end - base), t));
        break;
      case 'param':
        out.push(tok('punct', s, s + 1, '$', t));
        this.numbers(t, s + 1);
        break;
      default:
        this.numbers(t, s);
    }
    return true;
  }

  /**
   * The number token `t` from file offset `from`, as runs that start with a digit and go on over ASCII
   * letters, digits, `_` and '.', and one-character punctuation between them. A run that goes past `t`
   * (`1e1` then the word `_0`) takes in the lexer's tokens it covers.
   */
  private numbers(t: Token, from: number): void {
    const lx = this.lx;
    const { text, base } = lx;
    const n = text.length;
    const end = t.end - base;
    let p = from - base;
    while (p < end) {
      if (isDigit(text.charCodeAt(p))) {
        let q = p + 1;
        while (q < n && isNumPart(text.charCodeAt(q))) q++;
        this.tokens.push(tok('number', base + p, base + q, text.slice(p, q), t));
        p = q;
      } else {
        this.tokens.push(tok('punct', base + p, base + p + 1, text[p], t));
        p++;
      }
    }
    if (p > end) {
      for (let u = lx.get(this.k); u && u.start < base + p; u = lx.get(this.k)) this.k++;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers over token arrays.
// ---------------------------------------------------------------------------------------------------

/** `t` is the word `w` (one word: no rest-argument array in the hot path). */
export function isKw(t: Token | undefined, w: string): boolean {
  return t !== undefined && t.kind === 'word' && t.value === w;
}

export function isWord(t: Token | undefined, ...words: string[]): boolean {
  return t !== undefined && t.kind === 'word' && words.includes(t.value);
}

/** A word or a quoted identifier. */
export function isName(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
}

/** Index of the token starting at (or the first one after) a file offset; -1 if none. Tokens are sorted by start. */
export function tokenIndexAt(tokens: Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid].start < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < tokens.length ? lo : -1;
}

/** Index of the token starting exactly at a file offset; -1 if none. */
export function tokenStartingAt(tokens: Token[], offset: number): number {
  const i = tokenIndexAt(tokens, offset);
  return i >= 0 && tokens[i].start === offset ? i : -1;
}

/** Index of the first token of the keyword sequence `words` at or after token `from`, or -1. */
export function findWords(tokens: Token[], words: readonly string[], from = 0): number {
  const w0 = words[0];
  const k = words.length;
  outer: for (let i = Math.max(from, 0); i + k <= tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'word' || t.value !== w0) continue;
    for (let j = 1; j < k; j++) if (!isKw(tokens[i + j], words[j])) continue outer;
    return i;
  }
  return -1;
}

/** Index just past a (possibly qualified) name starting at token `i`: `a`, `"A".b`, `s.t.c`. */
export function nameEnd(tokens: Token[], i: number): number {
  if (i < 0 || i >= tokens.length) return i;
  let j = i + 1;
  while (tokens[j]?.value === '.' && tokens[j].kind === 'punct' && isName(tokens[j + 1])) j += 2;
  return j;
}
