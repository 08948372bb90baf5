import { strict as assert } from 'node:assert';
import { ALL_RULES, LintSettings } from '../../src/core/lint';
import { at, findingsOf, fixes as fixWith, flags, passes, useParser } from '../helpers/lint';

const on = (id: string): Partial<LintSettings> => ({ rules: { [id]: 'warning' } });

/** The fix of the (single) finding with the rule turned on: the rule is then silent and the result parses. */
function fixes(rule: string, sql: string, which = 0): string {
  return fixWith(rule, sql, on(rule), which);
}

describe('style rules', () => {
  useParser();

  it('are off by default, in the style category, and not run in DO blocks', () => {
    for (const id of ['prefer-bigint-over-int', 'prefer-timestamptz', 'ban-char-field', 'prefer-text-field', 'prefer-identity']) {
      const rule = ALL_RULES.find((r) => r.id === id);
      assert.ok(rule, id);
      assert.equal(rule.defaultSeverity, 'off');
      assert.equal(rule.category, 'style');
      assert.ok(!rule.embedded);
      assert.ok(rule.summary && rule.details && rule.bad && rule.good);
      assert.ok(findingsOf(id, rule.bad, on(id)).length > 0, `${id}: bad example not flagged`);
      passes(id, rule.good, on(id));
    }
    passes('prefer-timestamptz', 'CREATE TABLE t (a timestamp);');
    passes('prefer-timestamptz', 'DO $$ BEGIN CREATE TABLE t (a timestamp); END $$;', on('prefer-timestamptz'));
  });

  describe('prefer-bigint-over-int', () => {
    const id = 'prefer-bigint-over-int';

    it('flags int primary keys, id / *_id columns and identity columns', () => {
      const sql = 'CREATE TABLE orders (id int PRIMARY KEY, customer_id integer, n int4 GENERATED ALWAYS AS IDENTITY, code int2, PRIMARY KEY (code), qty int);';
      const f = flags(id, sql, on(id), 4);
      assert.deepEqual(f.map((x) => at(sql, x)), ['int', 'integer', 'int4', 'int2']);
      assert.match(f[0].message, /orders\.id is a 32-bit integer key: it overflows at 2\.1 billion/);
      assert.match(f[0].message, /Use bigint/);
      assert.match(f[3].message, /16-bit integer key: it overflows at 32,767/);
    });

    it('flags serial keys and ADD COLUMN / ALTER COLUMN TYPE', () => {
      const sql = 'ALTER TABLE orders ADD COLUMN id serial PRIMARY KEY, ALTER COLUMN user_id TYPE integer;';
      const f = flags(id, sql, on(id), 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['serial', 'integer']);
      assert.match(f[0].message, /Use bigserial/);
    });

    it('is silent on bigint keys and non-key int columns', () => {
      passes(id, 'CREATE TABLE t (id bigint PRIMARY KEY, user_id bigint, qty int, rank smallint, big bigserial);', on(id));
      passes(id, 'ALTER TABLE t ALTER COLUMN qty TYPE int;', on(id));
    });

    it('fix: bigint / bigserial, keeping the rest of the column', () => {
      assert.equal(fixes(id, 'CREATE TABLE t (id int PRIMARY KEY, x text);'), 'CREATE TABLE t (id bigint PRIMARY KEY, x text);');
      assert.equal(fixes(id, 'CREATE TABLE t (id smallserial PRIMARY KEY);'), 'CREATE TABLE t (id bigserial PRIMARY KEY);');
      assert.equal(fixes(id, 'CREATE TABLE t (x text, owner_id pg_catalog.int4[]);'), 'CREATE TABLE t (x text, owner_id bigint[]);');
    });
  });

  describe('prefer-timestamptz', () => {
    const id = 'prefer-timestamptz';

    it('flags timestamp columns at the whole type', () => {
      const sql = 'CREATE TABLE e (a timestamp NOT NULL, b timestamp(3) without time zone, c TIMESTAMP WITHOUT TIME ZONE[]);';
      const f = flags(id, sql, on(id), 3);
      assert.deepEqual(f.map((x) => at(sql, x)), ['timestamp', 'timestamp(3) without time zone', 'TIMESTAMP WITHOUT TIME ZONE']);
      assert.match(f[0].message, /e\.a is timestamp without time zone: its values are ambiguous across time zones/);
      assert.match(f[1].message, /Use timestamptz\(3\)/);
      flags(id, 'ALTER TABLE e ADD COLUMN d timestamp, ALTER COLUMN x TYPE timestamp;', on(id), 2);
    });

    it('is silent on timestamptz', () => {
      passes(id, 'CREATE TABLE e (a timestamptz, b timestamp with time zone, c timestamp(3) with time zone, d date, e time);', on(id));
    });

    it('fix: timestamptz, keeping precision and array bounds', () => {
      assert.equal(fixes(id, 'CREATE TABLE e (a timestamp NOT NULL DEFAULT now());'), 'CREATE TABLE e (a timestamptz NOT NULL DEFAULT now());');
      assert.equal(fixes(id, 'CREATE TABLE e (b timestamp (3) without time zone[]);'), 'CREATE TABLE e (b timestamptz(3)[]);');
      assert.equal(fixes(id, 'ALTER TABLE e ALTER COLUMN a TYPE pg_catalog.timestamp;'), 'ALTER TABLE e ALTER COLUMN a TYPE timestamptz;');
    });
  });

  describe('ban-char-field', () => {
    const id = 'ban-char-field';

    it('flags char(n), character(n), nchar and bpchar', () => {
      const sql = 'CREATE TABLE c (a char(2), b character(3), d bpchar, e national character(4));';
      const f = flags(id, sql, on(id), 4);
      assert.deepEqual(f.map((x) => at(sql, x)), ['char(2)', 'character(3)', 'bpchar', 'national character(4)']);
      assert.match(f[0].message, /c\.a is char\(2\): values are padded with spaces/);
      assert.match(f[0].message, /Use text/);
    });

    it('is silent on varchar, text and the internal "char" type', () => {
      passes(id, 'CREATE TABLE c (a varchar(2), b text, d "char", e character varying);', on(id));
    });

    it('fix: text, or varchar(n)', () => {
      assert.equal(fixes(id, 'CREATE TABLE c (code char(2) PRIMARY KEY);'), 'CREATE TABLE c (code text PRIMARY KEY);');
      assert.equal(fixes(id, 'CREATE TABLE c (code character (2) NOT NULL);', 1), 'CREATE TABLE c (code varchar(2) NOT NULL);');
      assert.equal(fixes(id, 'ALTER TABLE c ADD COLUMN x bpchar[];'), 'ALTER TABLE c ADD COLUMN x text[];');
    });
  });

  describe('prefer-text-field', () => {
    const id = 'prefer-text-field';

    it('flags varchar(n) and character varying(n) at the whole type', () => {
      const sql = 'CREATE TABLE u (email varchar(255) NOT NULL, name character varying ( 20 )[], x char varying(3));';
      const f = flags(id, sql, on(id), 3);
      assert.deepEqual(f.map((x) => at(sql, x)), ['varchar(255)', 'character varying ( 20 )', 'char varying(3)']);
      assert.match(f[0].message, /u\.email is varchar\(255\): the length limit is a constraint in disguise/);
      assert.match(f[0].message, /CHECK \(length\(email\) <= 255\)/);
      flags(id, 'ALTER TABLE u ALTER COLUMN email SET DATA TYPE varchar(320);', on(id));
    });

    it('is silent on text and unbounded varchar', () => {
      passes(id, 'CREATE TABLE u (a text, b varchar, c character varying);', on(id));
    });

    it('fix: text', () => {
      assert.equal(fixes(id, 'CREATE TABLE u (email varchar(255) NOT NULL);'), 'CREATE TABLE u (email text NOT NULL);');
      assert.equal(fixes(id, 'CREATE TABLE u (name character varying(20)[]);'), 'CREATE TABLE u (name text[]);');
      assert.equal(
        fixes(id, 'ALTER TABLE u ALTER COLUMN email TYPE varchar(320) COLLATE "C";'),
        'ALTER TABLE u ALTER COLUMN email TYPE text COLLATE "C";',
      );
    });
  });

  describe('prefer-identity', () => {
    const id = 'prefer-identity';

    it('flags serial, bigserial and smallserial', () => {
      const sql = 'CREATE TABLE o (id bigserial PRIMARY KEY, n serial4, s smallserial);';
      const f = flags(id, sql, on(id), 3);
      assert.deepEqual(f.map((x) => at(sql, x)), ['bigserial', 'serial4', 'smallserial']);
      assert.match(f[0].message, /o\.id is bigserial: its sequence is a separate object/);
      assert.match(f[0].message, /bigint GENERATED BY DEFAULT AS IDENTITY/);
      flags(id, 'ALTER TABLE o ADD COLUMN seq serial;', on(id));
    });

    it('is silent on identity columns', () => {
      passes(id, 'CREATE TABLE o (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY);', on(id));
    });

    it('fix: bigint identity (or the same width)', () => {
      assert.equal(
        fixes(id, 'CREATE TABLE o (id bigserial PRIMARY KEY);'),
        'CREATE TABLE o (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);',
      );
      assert.equal(
        fixes(id, 'ALTER TABLE o ADD COLUMN n serial NOT NULL;', 1),
        'ALTER TABLE o ADD COLUMN n integer GENERATED BY DEFAULT AS IDENTITY NOT NULL;',
      );
    });
  });
});
