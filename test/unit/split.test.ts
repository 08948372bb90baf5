import { strict as assert } from 'node:assert';
import {
  isTransactionControl,
  normalizeSql,
  splitStatements,
  type SplitResult,
  type SqlStatement,
} from '../../src/core/sql/split';

/** Split and check the invariants that must hold for every statement of every input. */
function split(sql: string): SplitResult {
  const r = splitStatements(sql);
  let prevEnd = 0;
  for (const s of r.statements) {
    assert.equal(sql.slice(s.start, s.end), s.text, `text/offset mismatch for ${JSON.stringify(s.text)}`);
    assert.ok(s.start >= prevEnd, 'statements are ordered and do not overlap');
    assert.ok(s.end >= s.start && s.terminatorEnd >= s.end, 'start <= end <= terminatorEnd');
    if (s.kind === 'sql' && s.terminated) assert.equal(sql[s.terminatorEnd - 1], ';');
    if (s.kind === 'sql' && !s.terminated) assert.equal(s.terminatorEnd, s.end);
    assert.ok(s.text.length > 0);
    assert.ok(!/^\s/.test(s.text) && !/\s$/.test(s.text), `text is trimmed: ${JSON.stringify(s.text)}`);
    assert.ok(s.keywords.length <= 4);
    prevEnd = Math.max(s.terminatorEnd, s.copyData?.end ?? 0);
  }
  for (const c of r.comments) assert.equal(sql.slice(c.start, c.end), c.text);
  return r;
}

function texts(sql: string): string[] {
  return split(sql).statements.map((s) => s.text);
}

function one(sql: string): SqlStatement {
  const r = split(sql);
  assert.equal(r.statements.length, 1, `expected one statement, got ${JSON.stringify(r.statements.map((s) => s.text))}`);
  return r.statements[0];
}

describe('sql/split', () => {
  describe('basic splitting', () => {
    it('splits on semicolons', () => {
      assert.deepEqual(texts('SELECT 1; SELECT 2;'), ['SELECT 1', 'SELECT 2']);
    });

    it('returns nothing for empty or blank input', () => {
      assert.deepEqual(split('').statements, []);
      assert.deepEqual(split('   \n\t\r\n ').statements, []);
      assert.deepEqual(split(';;; ;\n;').statements, []);
    });

    it('drops empty statements and comment-only statements', () => {
      assert.deepEqual(texts(';;SELECT 1;; -- only a comment\n; /* c */ ;SELECT 2'), ['SELECT 1', 'SELECT 2']);
    });

    it('includes a final statement without ";" as unterminated', () => {
      const r = split('SELECT 1;\nSELECT 2  \n');
      assert.equal(r.statements.length, 2);
      assert.equal(r.statements[0].terminated, true);
      assert.equal(r.statements[1].terminated, false);
      assert.equal(r.statements[1].text, 'SELECT 2');
      assert.equal(r.statements[1].terminatorEnd, r.statements[1].end);
    });

    it('reports exact start, end and terminatorEnd offsets', () => {
      const sql = '  SELECT 1 ;\n\nSELECT  2;';
      const [a, b] = split(sql).statements;
      assert.equal(a.start, 2);
      assert.equal(a.end, 10);
      assert.equal(a.terminatorEnd, 12);
      assert.equal(b.start, sql.indexOf('SELECT  2'));
      assert.equal(b.end, sql.length - 1);
      assert.equal(b.terminatorEnd, sql.length);
    });

    it('keeps multi-line statements together and preserves their text', () => {
      const sql = 'CREATE TABLE t (\n  id int,\n  name text\n);\nINSERT INTO t VALUES (1, \'x\');';
      assert.deepEqual(texts(sql), ['CREATE TABLE t (\n  id int,\n  name text\n)', "INSERT INTO t VALUES (1, 'x')"]);
    });

    it('handles CRLF input with exact offsets', () => {
      const sql = 'SELECT 1;\r\n-- c\r\nSELECT\r\n  2;\r\n';
      const r = split(sql);
      assert.deepEqual(r.statements.map((s) => s.text), ['SELECT 1', 'SELECT\r\n  2']);
      assert.equal(r.comments[0].text, '-- c');
      assert.equal(r.statements[1].start, sql.indexOf('SELECT\r'));
    });

    it('does not split inside parentheses (psql tracks paren depth, e.g. for multi-action rules)', () => {
      const sql = 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 1;';
      assert.deepEqual(texts(sql), [
        'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))',
        'SELECT 1',
      ]);
    });

    it('ignores unbalanced closing parentheses', () => {
      assert.deepEqual(texts('SELECT 1); SELECT 2;'), ['SELECT 1)', 'SELECT 2']);
    });
  });

  describe('quoting', () => {
    it("ignores ';', '--' and '/*' inside standard strings", () => {
      assert.deepEqual(texts("SELECT 'a;b', '-- no', '/* no'; SELECT 2;"), ["SELECT 'a;b', '-- no', '/* no'", 'SELECT 2']);
      assert.equal(split("SELECT '-- x /* y';").comments.length, 0);
    });

    it("handles '' escapes in standard strings", () => {
      assert.deepEqual(texts("SELECT 'it''s; fine'; SELECT 2;"), ["SELECT 'it''s; fine'", 'SELECT 2']);
      assert.deepEqual(texts("SELECT ''''; SELECT ';'"), ["SELECT ''''", "SELECT ';'"]);
    });

    it('treats a backslash in a standard string as an ordinary character', () => {
      // standard_conforming_strings = on: 'a\' is a complete string.
      assert.deepEqual(texts("SELECT 'a\\'; SELECT 2;"), ["SELECT 'a\\'", 'SELECT 2']);
    });

    it("handles E-strings where \\' escapes the quote", () => {
      assert.deepEqual(texts("SELECT E'\\''; SELECT 2;"), ["SELECT E'\\''", 'SELECT 2']);
      assert.deepEqual(texts("SELECT e'a\\';b'; SELECT 2;"), ["SELECT e'a\\';b'", 'SELECT 2']);
      assert.deepEqual(texts("SELECT E'\\\\'; SELECT 2;"), ["SELECT E'\\\\'", 'SELECT 2']);
      assert.deepEqual(texts("SELECT E'x'';y'; SELECT 2;"), ["SELECT E'x'';y'", 'SELECT 2']);
    });

    it('does not treat an identifier ending in e as an E-string prefix', () => {
      // `somee'a\'` is the identifier somee followed by the standard string 'a\'.
      assert.deepEqual(texts("SELECT somee'a\\'; SELECT 2;"), ["SELECT somee'a\\'", 'SELECT 2']);
    });

    it("handles U&'', B'', X'' and N'' prefixes", () => {
      assert.deepEqual(texts("SELECT U&'d\\0061t;a', B'10;1', X'1F;', N'n;'; SELECT 2"), [
        "SELECT U&'d\\0061t;a', B'10;1', X'1F;', N'n;'",
        'SELECT 2',
      ]);
      assert.deepEqual(texts('SELECT U&"d;x" ; SELECT 2'), ['SELECT U&"d;x"', 'SELECT 2']);
    });

    it("ignores ';', '--' and '/*' inside quoted identifiers, with \"\" escapes", () => {
      assert.deepEqual(texts('SELECT "a;b", "--c", "/*d", "e""f;"; SELECT 2;'), [
        'SELECT "a;b", "--c", "/*d", "e""f;"',
        'SELECT 2',
      ]);
      assert.equal(split('SELECT "--c", "/*d";').comments.length, 0);
    });

    it('handles $$ dollar quotes containing ; -- /* and quotes', () => {
      const sql = "SELECT $$a; -- b /* c ' \" $$; SELECT 2;";
      assert.deepEqual(texts(sql), ["SELECT $$a; -- b /* c ' \" $$", 'SELECT 2']);
      assert.equal(split(sql).comments.length, 0);
    });

    it('handles tagged dollar quotes, including nested different tags', () => {
      const sql = 'SELECT $body$ x; $$ y; $$ $inner$ ; $inner$ $body$; SELECT 2;';
      assert.deepEqual(texts(sql), ['SELECT $body$ x; $$ y; $$ $inner$ ; $inner$ $body$', 'SELECT 2']);
    });

    it('treats dollar tags as case-sensitive', () => {
      const sql = 'SELECT $a$ ; $A$ ; $a$; SELECT 2;';
      assert.deepEqual(texts(sql), ['SELECT $a$ ; $A$ ; $a$', 'SELECT 2']);
    });

    it('accepts tags with underscores, digits (not first) and non-ASCII letters', () => {
      assert.deepEqual(texts('SELECT $_t1$;$_t1$; SELECT $é$;$é$;'), ['SELECT $_t1$;$_t1$', 'SELECT $é$;$é$']);
    });

    it('does not treat $1 parameters as dollar quotes', () => {
      assert.deepEqual(texts('SELECT $1; SELECT $2, $1$; SELECT 3;'), ['SELECT $1', 'SELECT $2, $1$', 'SELECT 3']);
      assert.deepEqual(split('PREPARE p AS SELECT $1 + $2; EXECUTE p(1, 2);').statements.length, 2);
    });

    it('does not start a dollar quote at a $ inside an identifier (a$b)', () => {
      assert.deepEqual(texts('SELECT a$b; SELECT 2;'), ['SELECT a$b', 'SELECT 2']);
      assert.deepEqual(texts('SELECT a$$b; SELECT 2; SELECT 3$$;'), ['SELECT a$$b', 'SELECT 2', 'SELECT 3$$']);
      assert.deepEqual(texts('SELECT x$tag$ ; SELECT 2'), ['SELECT x$tag$', 'SELECT 2']);
    });

    it('starts a dollar quote right after punctuation', () => {
      assert.deepEqual(texts('SELECT f($$a;b$$); SELECT 2'), ['SELECT f($$a;b$$)', 'SELECT 2']);
    });

    it('treats a lone $ or $tag without a closing $ as ordinary text', () => {
      assert.deepEqual(texts('SELECT $ ; SELECT $foo ; SELECT 3'), ['SELECT $', 'SELECT $foo', 'SELECT 3']);
      assert.deepEqual(split('SELECT $').errors, []);
    });

    it('handles DO $$ ... $$ blocks with inner semicolons', () => {
      const sql = `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN
    CREATE ROLE app;
  END IF;
END
$$;
SELECT 1;`;
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.ok(r.statements[0].text.startsWith('DO $$'));
      assert.ok(r.statements[0].text.endsWith('$$'));
      assert.deepEqual(r.statements[0].keywords, ['DO']);
    });

    it('handles DO with a language clause and a tagged body', () => {
      const sql = "DO LANGUAGE plpgsql $do$ BEGIN RAISE NOTICE 'x;'; END $do$; SELECT 2";
      assert.deepEqual(texts(sql), ["DO LANGUAGE plpgsql $do$ BEGIN RAISE NOTICE 'x;'; END $do$", 'SELECT 2']);
    });

    it('handles CREATE FUNCTION with a $$ plpgsql body', () => {
      const sql = `CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$fn$;
CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW EXECUTE FUNCTION f();`;
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.deepEqual(r.statements[1].keywords, ['CREATE', 'TRIGGER', 'T', 'BEFORE']);
    });

    it('handles psql variable syntax without confusion', () => {
      assert.deepEqual(texts("SELECT :'v', :\"i\", :x::int; SELECT 2"), ["SELECT :'v', :\"i\", :x::int", 'SELECT 2']);
    });
  });

  describe('comments', () => {
    it('excludes leading and trailing comments from the statement text', () => {
      const sql = '-- lead\n/* lead 2 */ SELECT 1 /* trail */ -- trail 2\n;';
      const s = one(sql);
      assert.equal(s.text, 'SELECT 1');
      assert.equal(s.start, sql.indexOf('SELECT'));
      assert.equal(s.terminatorEnd, sql.length);
    });

    it('keeps comments between tokens inside the statement text', () => {
      const sql = 'SELECT /* a; */ 1, -- b;\n 2;';
      assert.equal(one(sql).text, 'SELECT /* a; */ 1, -- b;\n 2');
    });

    it('lists all comments with offsets and kinds', () => {
      const sql = '-- one\nSELECT 1; /* two */\nSELECT /* three */ 2; -- four';
      const r = split(sql);
      assert.deepEqual(
        r.comments.map((c) => [c.kind, c.text]),
        [
          ['line', '-- one'],
          ['block', '/* two */'],
          ['block', '/* three */'],
          ['line', '-- four'],
        ],
      );
    });

    it('ends a line comment at a CR, excluding the line break', () => {
      const r = split('SELECT 1 -- x;\r\n;');
      assert.equal(r.comments[0].text, '-- x;');
      assert.equal(r.statements.length, 1);
      assert.equal(r.statements[0].terminated, true);
    });

    it('ends a line comment at the end of input', () => {
      const r = split('SELECT 1; -- bye');
      assert.equal(r.statements.length, 1);
      assert.equal(r.comments[0].text, '-- bye');
    });

    it('nests block comments', () => {
      const sql = 'SELECT 1; /* a /* b; */ c; */ SELECT 2;';
      const r = split(sql);
      assert.deepEqual(r.statements.map((s) => s.text), ['SELECT 1', 'SELECT 2']);
      assert.equal(r.comments.length, 1);
      assert.equal(r.comments[0].text, '/* a /* b; */ c; */');
    });

    it('handles deep nesting and comment markers touching', () => {
      assert.deepEqual(texts('/*/* /* */ */ ; */SELECT 1;/**/SELECT 2'), ['SELECT 1', 'SELECT 2']);
      assert.deepEqual(texts('SELECT 1/**/;SELECT 2'), ['SELECT 1', 'SELECT 2']);
    });

    it("ignores quotes inside comments", () => {
      assert.deepEqual(texts("-- it's\nSELECT 1; /* \"x $$ ' */ SELECT 2;"), ['SELECT 1', 'SELECT 2']);
    });

    it('starts a comment in the middle of an operator', () => {
      assert.deepEqual(texts('SELECT 1+--2;\n3; SELECT 4'), ['SELECT 1+--2;\n3', 'SELECT 4']);
    });
  });

  describe('keywords', () => {
    it('collects up to four upper-cased leading words', () => {
      assert.deepEqual(one('create unique index concurrently idx ON t (a);').keywords, [
        'CREATE',
        'UNIQUE',
        'INDEX',
        'CONCURRENTLY',
      ]);
      assert.deepEqual(one('select 1').keywords, ['SELECT']);
    });

    it('skips comments between keywords', () => {
      assert.deepEqual(one('/* x */ CREATE -- y\n /* z */ INDEX i ON t(a)').keywords, ['CREATE', 'INDEX', 'I', 'ON']);
    });

    it('stops at the first token that is not a word', () => {
      assert.deepEqual(one('ALTER TABLE "Foo" ADD COLUMN x int').keywords, ['ALTER', 'TABLE']);
      assert.deepEqual(one('(SELECT 1)').keywords, []);
      assert.deepEqual(one("VACUUM(ANALYZE) t").keywords, ['VACUUM']);
    });

    it('resets for every statement', () => {
      const r = split('BEGIN; ALTER TABLE t ADD x int; COMMIT;');
      assert.deepEqual(
        r.statements.map((s) => s.keywords),
        [['BEGIN'], ['ALTER', 'TABLE', 'T', 'ADD'], ['COMMIT']],
      );
    });
  });

  describe('psql meta-commands', () => {
    it('makes a meta-command at statement start its own statement', () => {
      const sql = '\\set x 1\nSELECT :x;\n';
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      const [m, s] = r.statements;
      assert.equal(m.kind, 'psql-meta');
      assert.equal(m.text, '\\set x 1');
      assert.deepEqual(m.keywords, ['\\set']);
      assert.equal(m.start, 0);
      assert.equal(m.terminatorEnd, sql.indexOf('\n'));
      assert.equal(s.kind, 'sql');
      assert.equal(s.text, 'SELECT :x');
    });

    it('splits pending SQL from a meta-command mid-statement', () => {
      const sql = 'SELECT 1 AS x \\gset\nSELECT :x;';
      const r = split(sql);
      assert.deepEqual(
        r.statements.map((s) => [s.kind, s.text, s.terminated]),
        [
          ['sql', 'SELECT 1 AS x', false],
          ['psql-meta', '\\gset', true],
          ['sql', 'SELECT :x', true],
        ],
      );
    });

    it('ends a meta-command at the end of the line, ignoring quotes and semicolons on it', () => {
      const sql = "\\echo 'a;b' \"c; --d\r\nSELECT 2;";
      const r = split(sql);
      assert.equal(r.statements[0].text, "\\echo 'a;b' \"c; --d");
      assert.equal(r.statements[0].terminatorEnd, sql.indexOf('\r'));
      assert.equal(r.statements[1].text, 'SELECT 2');
      assert.deepEqual(r.errors, []);
    });

    it('recognises meta-commands after whitespace and at end of input', () => {
      const r = split('SELECT 1;\n  \\unset x   ');
      assert.equal(r.statements[1].kind, 'psql-meta');
      assert.equal(r.statements[1].text, '\\unset x');
      assert.deepEqual(r.statements[1].keywords, ['\\unset']);
    });

    it('keeps single-character command names', () => {
      assert.deepEqual(one('\\! ls').keywords, ['\\!']);
      assert.deepEqual(one('\\?').keywords, ['\\?']);
      assert.deepEqual(one('\\').keywords, ['\\']);
    });

    it('does not treat a backslash inside a string, identifier, dollar quote or comment as a meta-command', () => {
      const r = split("SELECT '\\x', \"\\y\", $$\\z$$ /* \\w */ -- \\v\n;");
      assert.equal(r.statements.length, 1);
      assert.equal(r.statements[0].kind, 'sql');
    });

    it('is not transaction control', () => {
      assert.equal(isTransactionControl(one('\\set ON_ERROR_STOP on')), false);
    });
  });

  describe('COPY FROM STDIN', () => {
    it('treats the following lines up to \\. as data', () => {
      const sql = "COPY t (a, b) FROM STDIN;\n1\tx;y\n2\t'q\"\n\\.\nSELECT 1;";
      const r = split(sql);
      assert.deepEqual(r.statements.map((s) => s.text), ['COPY t (a, b) FROM STDIN', 'SELECT 1']);
      const data = r.statements[0].copyData;
      assert.ok(data);
      assert.equal(sql.slice(data.start, data.end), "1\tx;y\n2\t'q\"\n");
      assert.deepEqual(r.errors, []);
    });

    it('is case-insensitive and allows options and a WITH clause', () => {
      const sql = "copy public.t(a,b) from stdin with (format csv, delimiter ';');\n1;\"a;b\"\n\\.\nSELECT 2";
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.equal(sql.slice(r.statements[0].copyData!.start, r.statements[0].copyData!.end), '1;"a;b"\n');
      assert.equal(r.statements[1].text, 'SELECT 2');
    });

    it('does not parse data lines containing comment or quote starters', () => {
      const sql = "COPY t FROM stdin;\n/* not a comment\n-- nor this\n'unbalanced\n$$ dollar\n\\.\nSELECT 3;";
      const r = split(sql);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.comments, []);
      assert.deepEqual(r.statements.map((s) => s.text), ['COPY t FROM stdin', 'SELECT 3']);
    });

    it('handles empty data and CRLF line endings', () => {
      const sql = 'COPY t FROM STDIN;\r\n\\.\r\nSELECT 1;\r\n';
      const r = split(sql);
      assert.deepEqual(r.statements[0].copyData, { start: sql.indexOf('\\.'), end: sql.indexOf('\\.') });
      assert.equal(r.statements[1].text, 'SELECT 1');
    });

    it('only ends the data at a line that is exactly \\.', () => {
      const sql = 'COPY t FROM STDIN;\na\\.\n\\.x\n \\.\n\\.\nSELECT 1;';
      const r = split(sql);
      assert.equal(sql.slice(r.statements[0].copyData!.start, r.statements[0].copyData!.end), 'a\\.\n\\.x\n \\.\n');
      assert.equal(r.statements.length, 2);
    });

    it('runs data to the end of input when there is no \\. line', () => {
      const sql = 'COPY t FROM STDIN;\n1\n2';
      const r = split(sql);
      assert.equal(r.statements.length, 1);
      assert.deepEqual(r.statements[0].copyData, { start: sql.indexOf('1'), end: sql.length });
    });

    it('gives empty data for COPY FROM STDIN at the very end', () => {
      const r = split('COPY t FROM STDIN;');
      assert.deepEqual(r.statements[0].copyData, { start: 18, end: 18 });
    });

    it('ignores a comment after the ";" on the COPY line', () => {
      const sql = 'COPY t FROM STDIN; -- data follows\n1\n\\.\n';
      const r = split(sql);
      assert.equal(r.statements.length, 1);
      assert.equal(sql.slice(r.statements[0].copyData!.start, r.statements[0].copyData!.end), '1\n');
    });

    it('cuts SQL after the ";" on the COPY line off as its own unterminated statement (data starts on the next line)', () => {
      const sql = 'COPY t FROM STDIN; SELECT 9\n1\n\\.\nSELECT 2;';
      const r = splitStatements(sql);
      assert.deepEqual(
        r.statements.map((s) => [s.text, s.terminated]),
        [
          ['COPY t FROM STDIN', true],
          ['SELECT 9', false],
          ['SELECT 2', true],
        ],
      );
      assert.equal(sql.slice(r.statements[0].copyData!.start, r.statements[0].copyData!.end), '1\n');
    });

    it('handles several COPY blocks in a row', () => {
      const sql = 'COPY a FROM stdin;\n1\n\\.\nCOPY b FROM stdin;\n2\n\\.\n';
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.equal(sql.slice(r.statements[1].copyData!.start, r.statements[1].copyData!.end), '2\n');
    });

    it('does not take COPY TO STDOUT, FROM a file, or FROM STDIN inside a query as inline data', () => {
      for (const sql of [
        "COPY t TO STDOUT;\nSELECT 1;",
        "COPY t FROM '/tmp/stdin';\nSELECT 1;",
        "COPY (SELECT * FROM stdin) TO STDOUT;\nSELECT 1;",
        "SELECT * FROM stdin;\nSELECT 1;",
        "COPY stdin FROM '/tmp/data';\nSELECT 1;",
        "COPY stdin TO STDOUT;\nSELECT 1;",
      ]) {
        const r = split(sql);
        assert.equal(r.statements.length, 2, sql);
        assert.equal(r.statements[0].copyData, undefined, sql);
      }
    });

    it('supports \\copy ... from stdin as a meta-command with inline data', () => {
      const sql = '\\copy t (a) from stdin\n1;\n\\.\nSELECT 1;';
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.equal(r.statements[0].kind, 'psql-meta');
      assert.equal(sql.slice(r.statements[0].copyData!.start, r.statements[0].copyData!.end), '1;\n');
      assert.equal(one('\\copy t to stdout').copyData, undefined);
      assert.equal(split('\\copy (select 1 from stdin) to stdout\nSELECT 1;').statements.length, 2);
    });
  });

  describe('SQL-standard function bodies (BEGIN ATOMIC)', () => {
    it('keeps semicolons inside BEGIN ATOMIC ... END', () => {
      const sql = `CREATE FUNCTION add(a int, b int) RETURNS int
LANGUAGE sql
BEGIN ATOMIC
  SELECT a + b;
  SELECT 1;
END;
SELECT add(1, 2);`;
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.ok(r.statements[0].text.endsWith('END'));
      assert.equal(r.statements[1].text, 'SELECT add(1, 2)');
    });

    it('counts CASE ... END inside the body', () => {
      const sql = `CREATE OR REPLACE FUNCTION sign_of(x int) RETURNS text LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN x > 0 THEN 'pos' WHEN x < 0 THEN 'neg' ELSE 'zero' END;
  SELECT case when true then 1 end;
END;
SELECT 2;`;
      const r = split(sql);
      assert.equal(r.statements.length, 2);
      assert.equal(r.statements[1].text, 'SELECT 2');
    });

    it('works for procedures and is case-insensitive', () => {
      const sql = 'create or replace procedure p() language sql begin atomic insert into t values (1); delete from u; end; select 3';
      assert.deepEqual(texts(sql), [
        'create or replace procedure p() language sql begin atomic insert into t values (1); delete from u; end',
        'select 3',
      ]);
    });

    it('ignores BEGIN/END inside quotes, comments and identifiers', () => {
      const sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 'end' /* end */ AS \"end\", ending, legend; END; SELECT 2";
      assert.equal(texts(sql).length, 2);
    });

    it('does not track BEGIN outside CREATE FUNCTION/PROCEDURE', () => {
      assert.deepEqual(texts('BEGIN; SELECT 1; END;'), ['BEGIN', 'SELECT 1', 'END']);
      assert.deepEqual(texts('CREATE TABLE begin_log (x int); SELECT CASE WHEN true THEN 1 END; SELECT 2'), [
        'CREATE TABLE begin_log (x int)',
        'SELECT CASE WHEN true THEN 1 END',
        'SELECT 2',
      ]);
      assert.deepEqual(texts('CREATE TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f(); BEGIN; COMMIT'), [
        'CREATE TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f()',
        'BEGIN',
        'COMMIT',
      ]);
    });

    it('does not let a CASE outside BEGIN swallow the terminator', () => {
      const sql = "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END; SELECT 2";
      assert.equal(texts(sql).length, 2);
    });

    it('resets the depth for the next statement', () => {
      const sql = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 2; END; SELECT 3;';
      assert.equal(texts(sql).length, 3);
    });

    it('returns an unterminated body to the end of input when END is missing', () => {
      const r = split('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2;');
      assert.equal(r.statements.length, 1);
      assert.equal(r.statements[0].terminated, false);
    });
  });

  describe('errors', () => {
    const cases: Array<[string, string, string]> = [
      ["SELECT 1; SELECT 'abc;\nSELECT 3;", "'abc", 'unterminated quoted string'],
      ["SELECT 1; SELECT E'abc\\';", "E'", 'unterminated quoted string'],
      ['SELECT 1; SELECT "abc; SELECT 2;', '"abc', 'unterminated quoted identifier'],
      ['SELECT 1; SELECT $body$ x; SELECT 2;', '$body$', 'unterminated dollar-quoted string $body$'],
      ['SELECT 1; SELECT $$ x;', '$$', 'unterminated dollar-quoted string $$'],
      ['SELECT 1; SELECT /* a /* b */ ; SELECT 2;', '/* a', 'unterminated /* comment'],
    ];
    for (const [sql, at, message] of cases) {
      it(`reports "${message}" for ${JSON.stringify(sql)}`, () => {
        const r = split(sql);
        assert.deepEqual(r.errors, [{ offset: sql.indexOf(at), message }]);
        assert.equal(r.statements.length, 2);
        assert.equal(r.statements[0].text, 'SELECT 1');
        const last = r.statements[1];
        assert.equal(last.terminated, false);
        assert.equal(last.start, sql.indexOf('SELECT', 2));
        assert.equal(last.end, sql.trimEnd().length, 'runs to the end of input');
      });
    }

    it('reports an unterminated comment when no statement is pending', () => {
      const r = split('SELECT 1; /* open');
      assert.equal(r.statements.length, 1);
      assert.deepEqual(r.errors, [{ offset: 10, message: 'unterminated /* comment' }]);
      assert.equal(r.comments[0].text, '/* open');
    });

    it('never throws on odd input', () => {
      const inputs = [
        "'", '"', '$', '$$', '$a', '$a$', '/*', '*/', '--', '\\', ';', 'E', "E'", "E'\\", 'U&', "U&'", '(((', ')))',
        'COPY t FROM STDIN', 'COPY t FROM STDIN;', 'COPY t FROM STDIN;\n', '\\copy t from stdin',
        'CREATE FUNCTION f() BEGIN ATOMIC', '\ud800', '😀;😀', '\r', '\r\n', '\0;\0',
      ];
      for (const sql of inputs) {
        assert.doesNotThrow(() => split(sql), sql);
        assert.doesNotThrow(() => normalizeSql(sql), sql);
      }
    });

    it('never throws on random input, and offsets always match text', () => {
      const alphabet = ["'", '"', '$', '$$', '$a$', '/*', '*/', '--', '\\', ';', '\n', '\r\n', ' ', 'E', 'x', '1', '(', ')',
        'BEGIN', 'END', 'CASE', 'CREATE FUNCTION ', 'COPY t FROM STDIN', '\\.', '😀', 'é'];
      let seed = 42;
      const rand = (k: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % k;
      };
      for (let round = 0; round < 500; round++) {
        let sql = '';
        const len = rand(30);
        for (let k = 0; k < len; k++) sql += alphabet[rand(alphabet.length)];
        assert.doesNotThrow(() => split(sql), JSON.stringify(sql));
        assert.doesNotThrow(() => normalizeSql(sql), JSON.stringify(sql));
      }
    });

    it('tolerates non-string input at runtime', () => {
      assert.deepEqual(splitStatements(undefined as unknown as string).statements, []);
    });
  });

  describe('isTransactionControl', () => {
    const cases: Array<[string, boolean]> = [
      ['BEGIN', true],
      ['begin;', true],
      ['BEGIN WORK', true],
      ['BEGIN ISOLATION LEVEL SERIALIZABLE', true],
      ['START TRANSACTION', true],
      ['START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY', true],
      ['COMMIT', true],
      ['commit work', true],
      ['COMMIT AND CHAIN', true],
      ['END', true],
      ['END TRANSACTION', true],
      ['ROLLBACK', true],
      ['ROLLBACK WORK', true],
      ['ABORT', true],
      ["COMMIT PREPARED 'tx1'", true],
      ["ROLLBACK PREPARED 'tx1'", true],
      ["PREPARE TRANSACTION 'tx1'", true],
      ['/* c */ -- d\n  Commit', true],
      ['ROLLBACK TO SAVEPOINT a', false],
      ['ROLLBACK TO a', false],
      ['rollback work to savepoint a', false],
      ['ROLLBACK TRANSACTION TO a', false],
      ['SAVEPOINT a', false],
      ['RELEASE SAVEPOINT a', false],
      ['RELEASE a', false],
      ['PREPARE q AS SELECT 1', false],
      ['START', false],
      ['SELECT 1', false],
      ['CREATE TABLE "begin" (x int)', false],
      ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END', false],
      ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', false],
      ['"BEGIN"', false],
    ];
    for (const [sql, expected] of cases) {
      it(`${JSON.stringify(sql)} -> ${expected}`, () => {
        assert.equal(isTransactionControl(one(sql)), expected);
      });
    }

    it('finds the transaction statements of a whole script', () => {
      const sql = 'BEGIN;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nSAVEPOINT s;\nROLLBACK TO s;\nCOMMIT;';
      assert.deepEqual(split(sql).statements.map(isTransactionControl), [true, false, false, false, true]);
    });
  });

  describe('normalizeSql', () => {
    const same = (a: string, b: string): void => assert.equal(normalizeSql(a), normalizeSql(b));
    const differ = (a: string, b: string): void => assert.notEqual(normalizeSql(a), normalizeSql(b));

    it('produces the documented canonical form', () => {
      assert.equal(
        normalizeSql('  CREATE TABLE Foo ( id  INT , name TEXT ) ;  -- c\n'),
        'create table foo(id int,name text)',
      );
      assert.equal(normalizeSql('SELECT 1;\n\nSELECT 2;'), 'select 1;select 2');
      assert.equal(normalizeSql("SELECT 'A B' /* x */ FROM t"), "select 'A B' from t");
      assert.equal(normalizeSql('a/**/b'), 'a b');
    });

    it('ignores added comments', () => {
      same('SELECT 1 FROM t;', '-- header\nSELECT /* inline */ 1 -- tail\nFROM t; /* trailing */');
      same('CREATE TABLE t (a int);', '/* a /* nested */ comment */CREATE TABLE t (a int);');
    });

    it('ignores re-indentation and re-wrapping', () => {
      same(
        'CREATE TABLE t (a int, b text);',
        'CREATE TABLE t (\n    a int,\n    b text\n);',
      );
      same('SELECT a,b FROM t WHERE x = 1', 'SELECT\n\ta ,\n\tb\nFROM\n\tt\nWHERE\n\tx = 1');
    });

    it('ignores CRLF vs LF and trailing spaces', () => {
      same('SELECT 1;\nSELECT 2;\n', 'SELECT 1;   \r\nSELECT 2;  \r\n');
      same("SELECT $$a\nb$$;", "SELECT $$a\r\nb$$;");
      same("SELECT 'a\nb';", "SELECT 'a\rb';");
    });

    it('ignores keyword and unquoted identifier case', () => {
      same('CREATE TABLE Users (ID int);', 'create table users (id INT);');
      same("SELECT E'x'", "select e'x'");
    });

    it('ignores a trailing semicolon and empty statements', () => {
      same('SELECT 1', 'SELECT 1;');
      same('SELECT 1;SELECT 2', ';SELECT 1;;; SELECT 2;;');
    });

    it('sees changed string literals', () => {
      differ("INSERT INTO t VALUES ('A');", "INSERT INTO t VALUES ('a');");
      differ("SELECT 'a  b'", "SELECT 'a b'");
      differ("SELECT 'a -- b'", "SELECT 'a'");
      differ("SELECT E'\\n'", "SELECT E'\\t'");
    });

    it('sees changed quoted identifiers', () => {
      differ('CREATE TABLE "Users" (id int);', 'CREATE TABLE "users" (id int);');
      differ('SELECT "a b"', 'SELECT "a  b"');
    });

    it('sees changed dollar-quoted bodies, including case, whitespace and comment-like text', () => {
      differ('DO $$ BEGIN RAISE NOTICE \'x\'; END $$;', 'DO $$ begin raise notice \'x\'; end $$;');
      differ('SELECT $f$\n  return 1\n$f$', 'SELECT $f$\n    return 1\n$f$');
      differ('SELECT $$ -- a $$', 'SELECT $$ -- b $$');
      differ('SELECT $Tag$x$Tag$', 'SELECT $tag$x$tag$');
    });

    it('sees changed numbers and operators', () => {
      differ('SELECT 1', 'SELECT 2');
      differ('SELECT 1.0', 'SELECT 1.00');
      differ('SELECT a - b', 'SELECT a + b');
      differ('SELECT a b', 'SELECT ab');
    });

    it('does not merge tokens when removing comments', () => {
      differ('SELECT a/**/b', 'SELECT ab');
      differ('SELECT 1 --x\n2', 'SELECT 12');
    });

    it('does not fold non-ASCII letters (the server does not either)', () => {
      differ('CREATE TABLE É (x int)', 'CREATE TABLE é (x int)');
    });

    it('keeps psql variable names case-sensitive', () => {
      differ('SELECT :Foo', 'SELECT :foo');
      same('SELECT x::TEXT', 'select x::text');
    });

    it('keeps meta-commands verbatim and on their own line', () => {
      assert.equal(normalizeSql('\\set  X 1\nSELECT :X;'), '\\set  X 1\nselect :X');
      differ('\\set x 1\nSELECT 1', '\\set x 1 SELECT 1');
      same('SELECT 1 \\gset\n', 'SELECT 1\n\\gset');
    });

    it('keeps COPY data verbatim', () => {
      const a = 'COPY t FROM STDIN;\n1\tA  b\n\\.\nSELECT 1;';
      assert.equal(normalizeSql(a), 'copy t from stdin;\n1\tA  b\n\\.\nselect 1');
      same(a, 'copy t from stdin;\r\n1\tA  b\r\n\\.\r\nselect 1;');
      differ(a, 'COPY t FROM STDIN;\n1\ta  b\n\\.\nSELECT 1;');
      differ(a, 'COPY t FROM STDIN;\n1\tA b\n\\.\nSELECT 1;');
    });

    it('is stable (normalising twice changes nothing)', () => {
      const sql = "CREATE TABLE t (\n a int, -- x\n b text DEFAULT 'Q'\n);\nCREATE INDEX i ON t (a);\nDO $$ BEGIN NULL; END $$;";
      assert.equal(normalizeSql(normalizeSql(sql)), normalizeSql(sql));
    });
  });

  describe('performance', () => {
    it('splits 1 MB of SQL in one pass', () => {
      const chunk = [
        "INSERT INTO t (a, b) VALUES (1, 'x;y'); -- comment ;",
        'CREATE TABLE "T;x" (id int /* c; */);',
        'DO $$ BEGIN PERFORM 1; END $$;',
        "SELECT E'\\';', $1, a$b;",
      ].join('\n') + '\n';
      const reps = Math.ceil((1024 * 1024) / chunk.length);
      const sql = chunk.repeat(reps);
      assert.ok(sql.length >= 1024 * 1024);
      const r = splitStatements(sql);
      assert.equal(r.statements.length, reps * 4);
      assert.equal(r.comments.length, reps * 2);
      assert.deepEqual(r.errors, []);
      assert.equal(r.statements[r.statements.length - 1].text, "SELECT E'\\';', $1, a$b");
      assert.ok(normalizeSql(sql).length > 0);
    });

    it('handles a 1 MB COPY data block and a 1 MB dollar-quoted body', () => {
      const line = "1\tsome text; with 'quotes' and -- dashes\n";
      const data = line.repeat(Math.ceil((1024 * 1024) / line.length));
      const sql = `COPY t FROM STDIN;\n${data}\\.\nSELECT $$${'x;'.repeat(500_000)}$$;`;
      const r = splitStatements(sql);
      assert.equal(r.statements.length, 2);
      assert.equal(r.statements[0].copyData!.end - r.statements[0].copyData!.start, data.length);
    });
  });
});

describe('maskPsqlVariables', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { maskPsqlVariables } = require('../../src/core/sql/split') as typeof import('../../src/core/sql/split');
  it('replaces :name, :\'name\' and :"name" with same-length placeholders that keep the name', () => {
    const sql = "SELECT :foo, :'bar', :\"baz\" FROM t WHERE a::int = 1 AND b := 2";
    const m = maskPsqlVariables(sql);
    assert.equal(m, "SELECT _foo, '_bar', \"_baz\" FROM t WHERE a::int = 1 AND b := 2");
    assert.equal(m.length, sql.length);
  });
  it('leaves variables inside strings, identifiers, dollar quotes and comments alone', () => {
    const sql = "SELECT ':x', \":y\", $$ :z $$, E':w' -- :v\n/* :u */";
    assert.equal(maskPsqlVariables(sql), sql);
  });
});
