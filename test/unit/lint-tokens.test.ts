import { strict as assert } from 'node:assert';
import { FileState, RuleContext } from '../../src/core/lint/context';
import { DEFAULT_SETTINGS } from '../../src/core/lint/lint';
import {
  dataLossTokensOf,
  findWords,
  lexAll,
  Lexer,
  lexerOf,
  lockingLexerOf,
  nameEnd,
  type Token,
  tokenIndexAt,
  tokensOf,
  tokenStartingAt,
} from '../../src/core/lint/tokens';
import { maskPsqlVariables } from '../../src/core/sql/split';

/** [kind, value] of each token. */
const kv = (ts: Token[]) => ts.map((t) => [t.kind, t.value]);
/** The source text of each token. */
const texts = (src: string, ts: Token[], base = 0) => ts.map((t) => src.slice(t.start - base, t.end - base));

/** A RuleContext judging `text` as its only statement (as the linter sets it up). */
function ctxFor(text: string): RuleContext {
  const ctx = new RuleContext(text, DEFAULT_SETTINGS, { kind: 'file', transaction: true, start: 0, end: text.length }, new FileState(), () => {});
  ctx.stmt = { text, start: 0, end: text.length, terminatorEnd: text.length, inTransaction: true, index: 0 };
  ctx.parsedText = maskPsqlVariables(text);
  return ctx;
}

describe('lint tokens (shared tokenizer)', () => {
  describe('quoting forms', () => {
    it('reads a standard string with doubled quotes as one string token (value: the text)', () => {
      const src = "SELECT 'it''s', 'x'";
      assert.deepEqual(kv(lexAll(src)), [['word', 'select'], ['string', "'it''s'"], ['punct', ','], ['string', "'x'"]]);
    });

    it('reads E-strings with backslash escapes, upper and lower case', () => {
      const src = "SELECT E'it\\'s -- no comment', e'\\\\' x";
      const ts = lexAll(src);
      assert.deepEqual(texts(src, ts), ['SELECT', "E'it\\'s -- no comment'", ',', "e'\\\\'", 'x']);
      assert.deepEqual(ts.map((t) => t.kind), ['word', 'string', 'punct', 'string', 'word']);
    });

    it('does not read a backslash as an escape in a standard string', () => {
      const src = "SELECT 'a\\' x";
      assert.deepEqual(texts(src, lexAll(src)), ['SELECT', "'a\\'", 'x']);
    });

    it('reads only a one-letter E as an E-string prefix', () => {
      const src = "SELECT tE'x'";
      assert.deepEqual(kv(lexAll(src)), [['word', 'select'], ['word', 'te'], ['string', "'x'"]]);
    });

    it('reads B, X and N strings as one string token', () => {
      const src = "SELECT B'101', x'1F', N'名前'";
      const ts = lexAll(src);
      assert.deepEqual(texts(src, ts), ['SELECT', "B'101'", ',', "x'1F'", ',', "N'名前'"]);
      assert.deepEqual(ts.filter((t) => t.kind === 'string').length, 3);
    });

    it('reads U&-strings and U&"…" identifiers (value: the identifier, "" unescaped, escapes left as written)', () => {
      const src = 'SELECT U&\'d\\0061t\' UESCAPE \'!\', u&"a""\\0062" FROM t';
      const ts = lexAll(src);
      assert.deepEqual(texts(src, ts), ['SELECT', "U&'d\\0061t'", 'UESCAPE', "'!'", ',', 'u&"a""\\0062"', 'FROM', 't']);
      assert.equal(ts[1].kind, 'string');
      assert.equal(ts[5].kind, 'quoted');
      assert.equal(ts[5].value, 'a"\\0062');
    });

    it('reads quoted identifiers (value unescaped, case kept)', () => {
      const src = 'ALTER TABLE "My ""Table""" RENAME TO "x"';
      const ts = lexAll(src);
      assert.deepEqual(kv(ts), [['word', 'alter'], ['word', 'table'], ['quoted', 'My "Table"'], ['word', 'rename'], ['word', 'to'], ['quoted', 'x']]);
      assert.deepEqual(texts(src, ts)[2], '"My ""Table"""');
    });

    it('reads dollar quotes with and without a tag, whatever they contain', () => {
      const src = "DO $$ BEGIN 'x'; END $$; SELECT $fn$ a $$ b $other$ c $fn$, $_1$x$_1$";
      const ts = lexAll(src);
      assert.deepEqual(texts(src, ts), ['DO', "$$ BEGIN 'x'; END $$", ';', 'SELECT', '$fn$ a $$ b $other$ c $fn$', ',', '$_1$x$_1$']);
      assert.deepEqual(ts.map((t) => t.kind), ['word', 'string', 'punct', 'word', 'string', 'punct', 'string']);
    });

    it('runs an unterminated quote to the end of the text', () => {
      for (const src of ["SELECT 'abc", 'SELECT "abc', 'SELECT $$abc', "SELECT E'a\\'"]) {
        const ts = lexAll(src);
        assert.equal(ts.length, 2, src);
        assert.equal(ts[1].end, src.length, src);
      }
    });
  });

  describe('comments', () => {
    it('skips nested block comments and line comments, and keywords inside them', () => {
      const src = 'CREATE /* TABLE /* nested */ still TABLE */ INDEX -- TABLE\nON t';
      const ts = lexAll(src);
      assert.deepEqual(kv(ts), [['word', 'create'], ['word', 'index'], ['word', 'on'], ['word', 't']]);
      assert.equal(ts[1].start, src.indexOf('INDEX'));
    });

    it('runs an unterminated block comment and a last-line comment to the end', () => {
      assert.deepEqual(kv(lexAll('SELECT /* a /* b */ c')), [['word', 'select']]);
      assert.deepEqual(kv(lexAll('SELECT 1 -- end')), [['word', 'select'], ['number', '1']]);
    });

    it('sees no comment in a string or a quoted identifier', () => {
      const src = `SELECT '--x', "/*y"`;
      assert.deepEqual(texts(src, lexAll(src)), ['SELECT', "'--x'", ',', '"/*y"']);
    });
  });

  describe('dollar signs', () => {
    it('reads $1 as a parameter and $tag$ as a dollar quote', () => {
      const src = 'PREPARE p AS SELECT $1 + $12, $a$x$a$';
      assert.deepEqual(kv(lexAll(src)).slice(3), [['word', 'select'], ['param', '$1'], ['punct', '+'], ['param', '$12'], ['punct', ','], ['string', '$a$x$a$']]);
    });

    it('reads a tag that starts with a digit as a parameter, and a $ with no tag as punctuation', () => {
      const src = 'SELECT $1a$ $b';
      assert.deepEqual(kv(lexAll(src)), [['word', 'select'], ['param', '$1'], ['word', 'a$'], ['punct', '$'], ['word', 'b']]);
    });

    it('keeps $ inside words', () => {
      assert.deepEqual(kv(lexAll('SELECT a$b$c')), [['word', 'select'], ['word', 'a$b$c']]);
    });
  });

  describe('words, numbers and punctuation', () => {
    it('folds ASCII upper case only, as the server does', () => {
      assert.deepEqual(kv(lexAll('SELECT Über, ÉCOLE, CamelCase')).filter(([k]) => k === 'word').map(([, v]) => v), ['select', 'Über', 'École', 'camelcase']);
    });

    it('reads numbers: decimals, exponents, digit separators, 0x/0o/0b', () => {
      const src = 'SELECT 1, 1.5, .5, 1., 1e-5, 1.5E+3, 1_000, 0x1F, 0o17, 0b101, 1e1_0';
      const nums = lexAll(src).filter((t) => t.kind === 'number');
      assert.deepEqual(texts(src, nums), ['1', '1.5', '.5', '1.', '1e-5', '1.5E+3', '1_000', '0x1F', '0o17', '0b101', '1e1']);
      assert.deepEqual(kv(lexAll('SELECT 1e1_0')).slice(1), [['number', '1e1'], ['word', '_0']]);
    });

    it('reads :: as one token and other punctuation one character at a time', () => {
      const src = "SELECT '1'::int <= a->>'k'";
      assert.deepEqual(texts(src, lexAll(src)), ['SELECT', "'1'", '::', 'int', '<', '=', 'a', '-', '>', '>', "'k'"]);
    });
  });

  describe('offsets and depth', () => {
    it('gives file offsets: the statement offset plus the index in its text', () => {
      const src = "  ALTER TABLE t -- c\n ADD COLUMN \"é\" text DEFAULT 'x';";
      const base = 1234;
      const ts = new Lexer(src, base).all();
      for (const t of ts) assert.ok(t.start >= base && t.end <= base + src.length);
      assert.deepEqual(texts(src, ts, base), ['ALTER', 'TABLE', 't', 'ADD', 'COLUMN', '"é"', 'text', 'DEFAULT', "'x'", ';']);
      assert.equal(ts[0].start, base + 2);
      assert.equal(ts[5].start, base + src.indexOf('"é"'));
    });

    it('counts UTF-16 units (an astral character is two)', () => {
      const src = "SELECT '😀', x";
      const ts = lexAll(src, 10);
      assert.equal(ts[1].end - ts[1].start, 4);
      assert.equal(ts[3].start, 10 + src.length - 1);
    });

    it('gives a parenthesis and its closing one the depth outside them', () => {
      const src = 'SELECT f(a, (b)) , c';
      const ts = lexAll(src);
      assert.deepEqual(
        ts.map((t) => `${src.slice(t.start, t.end)}:${t.depth}`),
        ['SELECT:0', 'f:0', '(:0', 'a:1', ',:1', '(:1', 'b:2', '):1', '):0', ',:0', 'c:0'],
      );
    });

    it('counts brackets in `nesting` only, and never goes below 0', () => {
      const src = 'SELECT a[(1)]) x';
      const ts = lexAll(src);
      assert.deepEqual(ts.map((t) => [src.slice(t.start, t.end), t.depth, t.nesting]), [
        ['SELECT', 0, 0], ['a', 0, 0], ['[', 0, 0], ['(', 0, 1], ['1', 1, 2], [')', 0, 1], [']', 0, 0], [')', 0, 0], ['x', 0, 0],
      ]);
    });
  });

  describe('the lazy lexer', () => {
    it('lexes only as far as asked', () => {
      const lx = new Lexer(`CREATE TABLE t (${Array.from({ length: 500 }, (_, i) => `c${i} int`).join(', ')})`, 0);
      assert.equal(lx.get(1)?.value, 'table');
      assert.equal(lx.tokens.length, 2);
      assert.equal(lx.get(100000), undefined);
      assert.equal(lx.tokens.length, lx.all().length);
    });

    it('finds the token containing an offset, or the next one', () => {
      const src = 'SELECT abc ,  d';
      const lx = new Lexer(src, 100);
      assert.equal(lx.indexAfter(100 + 8), 1); // inside abc
      assert.equal(lx.indexAfter(100 + 10), 2); // the space after abc: the comma
      assert.equal(lx.indexAfter(100 + src.length), -1);
      assert.equal(new Lexer(src, 100).indexAfter(99), 0);
    });
  });

  describe('helpers', () => {
    const src = 'DROP TABLE IF EXISTS s."T", u; SELECT 1';
    const ts = lexAll(src, 50);

    it('tokenIndexAt / tokenStartingAt', () => {
      assert.equal(tokenIndexAt(ts, 50 + src.indexOf('s.')), 4);
      assert.equal(tokenIndexAt(ts, 50 + src.indexOf('s.') - 1), 4);
      assert.equal(tokenStartingAt(ts, 50 + src.indexOf('s.') - 1), -1);
      assert.equal(tokenIndexAt(ts, 50 + src.length), -1);
    });

    it('findWords / nameEnd', () => {
      assert.equal(findWords(ts, ['if', 'exists']), 2);
      assert.equal(findWords(ts, ['if', 'not']), -1);
      assert.equal(findWords(ts, ['drop'], 1), -1);
      assert.equal(nameEnd(ts, 4), 7);
      assert.deepEqual(texts(src, ts.slice(4, nameEnd(ts, 4)), 50), ['s', '.', '"T"']);
    });
  });

  describe('per statement', () => {
    it('tokenizes a statement once for all the rules, and again when the statement changes', () => {
      const ctx = ctxFor('CREATE TABLE t (a int)');
      const lx = lexerOf(ctx);
      assert.equal(lexerOf(ctx), lx);
      assert.equal(tokensOf(ctx), lx.all());
      ctx.stmt = { ...ctx.stmt };
      ctx.parsedText = ctx.stmt.text;
      assert.notEqual(lexerOf(ctx), lx);
    });

    it('reads the parsed text (psql variables masked); the locking view reads the text as written', () => {
      const ctx = ctxFor('ALTER TABLE :tbl ADD COLUMN c int');
      assert.deepEqual(kv(tokensOf(ctx)).slice(2, 3), [['word', '_tbl']]);
      assert.deepEqual(kv(lockingLexerOf(ctx).all()).slice(2, 4), [['punct', ':'], ['word', 'tbl']]);
    });

    it('shares the tokens with the views, which split a few of them', () => {
      const sql = "SELECT 'x'::text, U&\"a\", 0x1F, ÀB, $1, B'1', .5, 1e-5, 1e1_0, a[1]";
      const ctx = ctxFor(sql);
      const all = tokensOf(ctx);
      const dl = dataLossTokensOf(ctx);
      const lk = lockingLexerOf(ctx).all();
      assert.equal(dl[0], all[0], 'unchanged tokens are the same objects');
      assert.equal(lk[0], all[0]);
      assert.deepEqual(texts(sql, dl), ['SELECT', "'x'", ':', ':', 'text', ',', 'U', '&', '"a"', ',', '0', 'x1F', ',', 'ÀB', ',', '$1', ',', "B'1'", ',', '.5', ',', '1e-5', ',', '1e1', '_0', ',', 'a', '[', '1', ']']);
      assert.deepEqual(dl.filter((t) => t.kind === 'word').map((t) => t.value), ['select', 'text', 'u', 'x1f', 'àb', '_0', 'a']);
      assert.deepEqual(texts(sql, lk), ['SELECT', "'x'", ':', ':', 'text', ',', 'U', '&', '"a"', ',', '0x1F', ',', 'ÀB', ',', '$', '1', ',', 'B', "'1'", ',', '.', '5', ',', '1e', '-', '5', ',', '1e1_0', ',', 'a', '[', '1', ']']);
      assert.deepEqual(lk.slice(-4).map((t) => t.nesting), [0, 0, 1, 0]);
      assert.equal(all[9].value, 'Àb', 'folding ASCII letters only');
    });

    it('gives the lexer\'s own tokens to the data-loss view when none needs splitting', () => {
      const ctx = ctxFor('ALTER TABLE t DROP COLUMN "c", DROP COLUMN d');
      assert.equal(dataLossTokensOf(ctx), tokensOf(ctx));
    });

    it('produces the locking view on demand too', () => {
      const ctx = ctxFor(`ALTER TABLE t ${Array.from({ length: 300 }, (_, i) => `ADD COLUMN c${i} int DEFAULT 1::int`).join(', ')}`);
      const lk = lockingLexerOf(ctx);
      assert.equal(lk.get(2)?.value, 't');
      assert.ok(lexerOf(ctx).tokens.length < 10);
      const k = lk.indexAfter(ctx.stmt.text.indexOf('::'));
      assert.deepEqual([lk.get(k)?.value, lk.get(k + 1)?.value, lk.get(k + 2)?.value], [':', ':', 'int']);
    });
  });
});
