import { strict as assert } from 'node:assert';
import { lockingRules } from '../../src/core/lint/rules/locking';
import { ALL_RULES, lint } from '../../src/core/lint';
import { applyFix, at, findingsOf, fixClears, flags, passes, useParser } from '../helpers/lint';

const UP = '-- migrate:up\n';
const UP_NOTX = '-- migrate:up transaction:false\n';

describe('locking rules', () => {
  useParser();

  describe('require-concurrent-index-creation', () => {
    const rule = 'require-concurrent-index-creation';

    it('flags CREATE [UNIQUE] INDEX on an existing table, pointing at INDEX', () => {
      const sql = 'CREATE INDEX users_email_idx ON users (email);';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'INDEX');
      assert.equal(f.severity, 'warning');
      assert.match(f.message, /SHARE lock/);
      assert.match(f.message, /users/);
      assert.match(f.message, /CONCURRENTLY/);
      const [u] = flags(rule, 'CREATE UNIQUE INDEX IF NOT EXISTS k ON s.t (a);');
      assert.match(u.message, /CREATE UNIQUE INDEX k on existing table s\.t/);
    });

    it('is silent with CONCURRENTLY, on tables created earlier in the section, and for ON ONLY', () => {
      passes(rule, `${UP_NOTX}CREATE INDEX CONCURRENTLY i ON users (email);`);
      passes(rule, 'CREATE TABLE users (id bigint, email text);\nCREATE INDEX users_email_idx ON users (email);');
      passes(rule, 'CREATE TABLE app.users (id bigint);\nCREATE INDEX ON app.users (id);');
      passes(rule, 'CREATE INDEX measurements_idx ON ONLY measurements (ts);');
    });

    it('in a Bulwark section run in a transaction, one fix adds CONCURRENTLY and sets transaction:false', () => {
      const sql = `${UP}CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);\n-- migrate:down\nDROP INDEX IF EXISTS users_email_idx;\n`;
      const [f] = flags(rule, sql);
      assert.match(f.message, /transaction:false/);
      assert.equal(f.fixes![0].edits.length, 2);
      const out = fixClears(rule, sql, f);
      assert.ok(out.startsWith('-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx'));
      passes('concurrently-in-transaction', out);
    });

    it('outside a transaction the fix only adds CONCURRENTLY', () => {
      const sql = `${UP_NOTX}CREATE UNIQUE INDEX users_email_key ON users (email);`;
      const [f] = flags(rule, sql);
      assert.equal(f.fixes![0].edits.length, 1);
      assert.equal(fixClears(rule, sql, f), `${UP_NOTX}CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);`);
      const plain = 'CREATE INDEX i ON t (a);';
      fixClears(rule, plain, flags(rule, plain, { assumeInTransaction: false })[0], { assumeInTransaction: false });
    });

    it('offers no fix where CONCURRENTLY could not run: explicit BEGIN, plain file run in a transaction, DO block', () => {
      const explicit = `${UP_NOTX}BEGIN;\nCREATE INDEX i ON t (a);\nCOMMIT;`;
      const [e] = flags(rule, explicit);
      assert.equal(e.fixes, undefined);
      assert.match(e.message, /BEGIN … COMMIT/);
      const [p] = flags(rule, 'CREATE INDEX i ON t (a);');
      assert.equal(p.fixes, undefined);
      assert.match(p.message, /does not wrap in a transaction/);
      const doSql = 'DO $$ BEGIN CREATE INDEX i ON t (a); END $$;';
      const [d] = flags(rule, doSql);
      assert.equal(at(doSql, d), 'INDEX');
      assert.match(d.message, /DO block/);
      assert.equal(d.fixes, undefined);
    });
  });

  describe('require-concurrent-index-deletion', () => {
    const rule = 'require-concurrent-index-deletion';

    it('flags DROP INDEX on an existing index with the ACCESS EXCLUSIVE consequence', () => {
      const sql = 'DROP INDEX IF EXISTS users_email_idx;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'INDEX');
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /users_email_idx/);
      assert.match(f.message, /DROP INDEX CONCURRENTLY/);
    });

    it('is silent with CONCURRENTLY and for indexes created earlier in the section', () => {
      passes(rule, `${UP_NOTX}DROP INDEX CONCURRENTLY IF EXISTS i;`);
      passes(rule, 'CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\nDROP INDEX i;');
      passes(rule, 'CREATE INDEX i ON t (a);\nDROP INDEX i;');
    });

    it('fixes a single-index DROP (with the marker) so the result runs', () => {
      const sql = `${UP}DROP INDEX IF EXISTS users_email_idx;`;
      const [f] = flags(rule, sql);
      const out = fixClears(rule, sql, f);
      assert.equal(out, '-- migrate:up transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;');
      passes('concurrently-in-transaction', out);
    });

    it('has no fix when several indexes are dropped at once or with CASCADE', () => {
      const [f] = flags(rule, `${UP_NOTX}DROP INDEX a_idx, b_idx;`);
      assert.equal(f.fixes, undefined);
      assert.match(f.message, /one index per statement/);
      assert.match(f.message, /a_idx, b_idx/);
      const [c] = flags(rule, `${UP_NOTX}DROP INDEX a_idx CASCADE;`);
      assert.equal(c.fixes, undefined);
      assert.match(c.message, /CASCADE/);
    });
  });

  describe('require-concurrent-reindex', () => {
    const rule = 'require-concurrent-reindex';

    it('flags REINDEX INDEX/TABLE/SCHEMA/DATABASE without CONCURRENTLY', () => {
      const sql = 'REINDEX TABLE users;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'TABLE');
      assert.match(f.message, /REINDEX TABLE users/);
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /REINDEX TABLE CONCURRENTLY/);
      flags(rule, 'REINDEX INDEX users_email_idx;');
      flags(rule, 'REINDEX (VERBOSE) SCHEMA app;');
      flags(rule, 'REINDEX DATABASE;');
    });

    it('is silent with CONCURRENTLY, for REINDEX SYSTEM, and for new objects', () => {
      passes(rule, `${UP_NOTX}REINDEX INDEX CONCURRENTLY i;`);
      passes(rule, `${UP_NOTX}REINDEX (CONCURRENTLY) TABLE t;`);
      passes(rule, 'REINDEX SYSTEM;');
      passes(rule, 'CREATE TABLE t (a int);\nREINDEX TABLE t;');
      passes(rule, 'CREATE INDEX i ON t (a);\nREINDEX INDEX i;');
      flags(rule, `${UP_NOTX}REINDEX (CONCURRENTLY false) TABLE t;`);
    });

    it('below PostgreSQL 12 says there is no alternative, as info, without a fix', () => {
      const [f] = flags(rule, 'REINDEX TABLE users;', { pgVersion: 11 });
      assert.equal(f.severity, 'info');
      assert.match(f.message, /no REINDEX CONCURRENTLY/);
      assert.equal(f.fixes, undefined);
    });

    it('fix: adds CONCURRENTLY after the object kind (+ marker)', () => {
      const sql = `${UP}REINDEX (VERBOSE) TABLE users;`;
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, '-- migrate:up transaction:false\nREINDEX (VERBOSE) TABLE CONCURRENTLY users;');
      passes('concurrently-in-transaction', out);
    });
  });

  describe('require-concurrent-detach', () => {
    const rule = 'require-concurrent-detach';

    it('flags DETACH PARTITION without CONCURRENTLY on PostgreSQL 14+', () => {
      const sql = 'ALTER TABLE measurements DETACH PARTITION measurements_2020;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'DETACH');
      assert.match(f.message, /ACCESS EXCLUSIVE lock on the partitioned table measurements/);
      assert.match(f.message, /measurements_2020 CONCURRENTLY/);
      flags(rule, sql, { pgVersion: 14 });
    });

    it('is silent below 14, with CONCURRENTLY or FINALIZE, and for a new parent', () => {
      passes(rule, 'ALTER TABLE measurements DETACH PARTITION measurements_2020;', { pgVersion: 13 });
      passes(rule, `${UP_NOTX}ALTER TABLE m DETACH PARTITION m1 CONCURRENTLY;`);
      passes(rule, `${UP_NOTX}ALTER TABLE m DETACH PARTITION m1 FINALIZE;`);
      passes(rule, 'CREATE TABLE m (k int) PARTITION BY RANGE (k);\nCREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (10);\nALTER TABLE m DETACH PARTITION m1;');
    });

    it('fix: appends CONCURRENTLY after the partition name (+ marker)', () => {
      const sql = `${UP}ALTER TABLE app.measurements DETACH PARTITION app."Measurements 2020";`;
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, '-- migrate:up transaction:false\nALTER TABLE app.measurements DETACH PARTITION app."Measurements 2020" CONCURRENTLY;');
      passes('concurrently-in-transaction', out);
    });
  });

  describe('concurrently-in-transaction', () => {
    const rule = 'concurrently-in-transaction';

    it('flags each CONCURRENTLY form inside a transaction as an error, at CONCURRENTLY', () => {
      for (const stmt of [
        'CREATE INDEX CONCURRENTLY i ON t (a);',
        'DROP INDEX CONCURRENTLY i;',
        'REINDEX INDEX CONCURRENTLY i;',
        'REINDEX (CONCURRENTLY) TABLE t;',
        'ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;',
      ]) {
        const sql = `${UP}${stmt}`;
        const [f] = flags(rule, sql);
        assert.equal(f.severity, 'error');
        assert.equal(at(sql, f).toUpperCase(), 'CONCURRENTLY');
        assert.match(f.message, /cannot run inside a transaction block/);
      }
    });

    it('flags even when the table is new (the statement fails either way)', () => {
      flags(rule, `${UP}CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);`);
    });

    it('is silent outside a transaction', () => {
      passes(rule, `${UP_NOTX}CREATE INDEX CONCURRENTLY i ON t (a);\nDROP INDEX CONCURRENTLY j;`);
      passes(rule, 'CREATE INDEX CONCURRENTLY i ON t (a);', { assumeInTransaction: false });
      passes(rule, `${UP_NOTX}BEGIN;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);`);
    });

    it('fix in a Bulwark file: transaction:false on the marker', () => {
      const sql = `${UP}CREATE INDEX CONCURRENTLY i ON t (a);\n-- migrate:down\nDROP INDEX CONCURRENTLY i;\n`;
      const [up, down] = flags(rule, sql, {}, 2);
      assert.match(up.message, /transaction:false/);
      const once = applyFix(sql, up);
      assert.ok(once.startsWith(UP_NOTX));
      const [d2] = flags(rule, once);
      const twice = fixClears(rule, once, d2);
      assert.ok(twice.includes('-- migrate:down transaction:false\n'));
      void down;
    });

    it('explicit BEGIN, plain files and DO blocks: the message says what to do, no fix', () => {
      const [e] = flags(rule, `${UP_NOTX}BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;`);
      assert.match(e.message, /BEGIN … COMMIT/);
      assert.equal(e.fixes, undefined);
      const [p] = flags(rule, 'CREATE INDEX CONCURRENTLY i ON t (a);');
      assert.match(p.message, /without a transaction/);
      assert.equal(p.fixes, undefined);
      const [d] = flags(rule, `${UP_NOTX}DO $$ BEGIN CREATE INDEX CONCURRENTLY i ON t (a); END $$;`);
      assert.match(d.message, /DO block/);
      assert.equal(d.fixes, undefined);
    });
  });

  describe('constraint-missing-not-valid', () => {
    const rule = 'constraint-missing-not-valid';

    it('flags ADD CONSTRAINT … FOREIGN KEY without NOT VALID (both tables locked)', () => {
      const sql = 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'CONSTRAINT orders_user_fk');
      assert.match(f.message, /SHARE ROW EXCLUSIVE locks on orders and on the referenced table users/);
      assert.match(f.message, /VALIDATE CONSTRAINT orders_user_fk in a later migration/);
    });

    it('flags CHECK without NOT VALID (ACCESS EXCLUSIVE)', () => {
      const sql = 'ALTER TABLE orders ADD CHECK (total >= 0);';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'CHECK');
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /name the constraint/);
    });

    it('flags an inline REFERENCES / CHECK in ADD COLUMN', () => {
      const sql = 'ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'REFERENCES');
      assert.match(f.message, /cannot be NOT VALID/);
      assert.match(f.message, /ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY \(user_id\)/);
      flags(rule, 'ALTER TABLE orders ADD COLUMN qty int CHECK (qty > 0);');
    });

    it('is silent with NOT VALID, NOT ENFORCED, on new tables, and for other constraints', () => {
      passes(rule, 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;');
      passes(rule, 'ALTER TABLE orders ADD CONSTRAINT ck CHECK (total >= 0) NOT VALID;');
      passes(rule, 'ALTER TABLE orders ADD CONSTRAINT ck CHECK (total >= 0) NOT ENFORCED;');
      passes(rule, 'CREATE TABLE orders (id bigint, user_id bigint);\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);');
      passes(rule, 'CREATE TABLE orders (id bigint);\nALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);');
      passes(rule, 'ALTER TABLE orders ADD COLUMN note text DEFAULT \'\';');
    });

    it('fix: appends NOT VALID at the end of the constraint, before a following subcommand', () => {
      const sql = 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE DEFERRABLE, ADD COLUMN x int;';
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE DEFERRABLE NOT VALID, ADD COLUMN x int;');
      const check = "ALTER TABLE orders ADD CONSTRAINT ck CHECK (status IN ('a', 'b,c')) -- trailing\n;";
      assert.equal(fixClears(rule, check, flags(rule, check)[0]), "ALTER TABLE orders ADD CONSTRAINT ck CHECK (status IN ('a', 'b,c')) NOT VALID -- trailing\n;");
    });

    it('fix for an inline REFERENCES: the column, then a separate NOT VALID constraint', () => {
      const sql = 'ALTER TABLE orders ADD COLUMN "User" bigint CONSTRAINT orders_user_fk REFERENCES users (id) ON DELETE SET NULL NOT NULL;';
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, 'ALTER TABLE orders ADD COLUMN "User" bigint NOT NULL, ADD CONSTRAINT orders_user_fk FOREIGN KEY ("User") REFERENCES users (id) ON DELETE SET NULL NOT VALID;');
      const ck = 'ALTER TABLE orders ADD COLUMN qty int CHECK (qty > 0) DEFAULT 1;';
      assert.equal(fixClears(rule, ck, flags(rule, ck)[0]), 'ALTER TABLE orders ADD COLUMN qty int DEFAULT 1, ADD CONSTRAINT orders_qty_check CHECK (qty > 0) NOT VALID;');
    });

    it('also lints constraints added inside DO blocks', () => {
      const sql = "DO $$ BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'fk') THEN\n    ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);\n  END IF;\nEND $$;";
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'CONSTRAINT fk');
      fixClears(rule, sql, f);
    });
  });

  describe('validate-in-same-transaction', () => {
    const rule = 'validate-in-same-transaction';
    const add = 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n';

    it('flags VALIDATE of a constraint added NOT VALID earlier in the same transaction', () => {
      const sql = `${UP}${add}ALTER TABLE orders VALIDATE CONSTRAINT fk;`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'fk');
      assert.match(f.message, /still held/);
      assert.match(f.message, /next migration/);
      flags(rule, `${UP_NOTX}BEGIN;\n${add}ALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;`);
    });

    it('is silent across transactions, in autocommit, for other constraints and for new tables', () => {
      passes(rule, `${UP}${add}-- migrate:down\nALTER TABLE orders VALIDATE CONSTRAINT fk;`);
      passes(rule, `${UP_NOTX}${add}ALTER TABLE orders VALIDATE CONSTRAINT fk;`);
      passes(rule, `${UP_NOTX}${add}BEGIN;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;`);
      passes(rule, `${UP_NOTX}BEGIN;\n${add}COMMIT;\nBEGIN;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;`);
      passes(rule, `${UP}${add}ALTER TABLE orders VALIDATE CONSTRAINT other_fk;`);
      passes(rule, `${UP}CREATE TABLE orders (user_id bigint);\n${add}ALTER TABLE orders VALIDATE CONSTRAINT fk;`);
    });
  });

  describe('unique-constraint-without-index', () => {
    const rule = 'unique-constraint-without-index';

    it('flags ADD UNIQUE / PRIMARY KEY without USING INDEX and suggests the concurrent path', () => {
      const sql = 'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'CONSTRAINT users_email_key');
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users \(email\)/);
      assert.match(f.message, /UNIQUE USING INDEX users_email_key/);
      const pk = 'ALTER TABLE users ADD PRIMARY KEY (id);';
      const [p] = flags(rule, pk);
      assert.equal(at(pk, p), 'PRIMARY');
      assert.match(p.message, /PRIMARY KEY USING INDEX users_pkey/);
      assert.match(p.message, /NOT NULL/);
    });

    it('flags EXCLUDE (no concurrent path) and inline UNIQUE in ADD COLUMN', () => {
      const [e] = flags(rule, 'ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);');
      assert.match(e.message, /no CONCURRENTLY or USING INDEX path/);
      const [c] = flags(rule, 'ALTER TABLE users ADD COLUMN handle text UNIQUE;');
      assert.match(c.message, /ADD COLUMN handle/);
    });

    it('is silent with USING INDEX and on new tables', () => {
      passes(rule, 'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;');
      passes(rule, 'ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_pkey;');
      passes(rule, 'CREATE TABLE users (id bigint, email text);\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email), ADD PRIMARY KEY (id);');
    });
  });

  describe('set-not-null', () => {
    const rule = 'set-not-null';

    it('flags SET NOT NULL on an existing table, pointing at the column', () => {
      const sql = 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'email');
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /CHECK \(email IS NOT NULL\) NOT VALID/);
      assert.match(f.message, /VALIDATE CONSTRAINT users_email_not_null/);
      assert.match(f.message, /DROP CONSTRAINT users_email_not_null/);
      const second = 'ALTER TABLE users ADD COLUMN x int, ALTER email SET NOT NULL;';
      assert.equal(at(second, flags(rule, second)[0]), 'email');
    });

    it('flags the PostgreSQL 18 form ADD CONSTRAINT … NOT NULL without NOT VALID', () => {
      flags(rule, 'ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email;');
      passes(rule, 'ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email NOT VALID;');
    });

    it('is silent on PG 12+ after a validated CHECK (col IS NOT NULL), and on new tables', () => {
      const validated = 'ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;';
      passes(rule, validated);
      passes(rule, 'ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;');
      passes(rule, 'CREATE TABLE users (email text);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;');
      const [old] = flags(rule, validated, { pgVersion: 11 });
      assert.match(old.message, /Before PostgreSQL 12/);
    });

    it('is silent after a PostgreSQL 18 NOT NULL … NOT VALID constraint was validated', () => {
      passes(rule, 'ALTER TABLE users ADD CONSTRAINT nn NOT NULL email NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;', { pgVersion: 18 });
      flags(rule, 'ALTER TABLE users ADD CONSTRAINT nn NOT NULL email NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;', { pgVersion: 18 });
    });

    it('a NOT VALID check that was never validated does not help', () => {
      flags(rule, 'ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;');
    });

    it('mentions the PostgreSQL 18 NOT NULL NOT VALID path only from 18', () => {
      assert.match(flags(rule, 'ALTER TABLE u ALTER COLUMN c SET NOT NULL;', { pgVersion: 18 })[0].message, /NOT NULL c NOT VALID/);
      assert.doesNotMatch(flags(rule, 'ALTER TABLE u ALTER COLUMN c SET NOT NULL;', { pgVersion: 16 })[0].message, /PostgreSQL 18/);
    });
  });

  describe('add-column-volatile-default', () => {
    const rule = 'add-column-volatile-default';

    it('flags a volatile default, pointing at the function', () => {
      const sql = 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'gen_random_uuid');
      assert.match(f.message, /volatile/);
      assert.match(f.message, /rewritten/);
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /SET DEFAULT gen_random_uuid\(\)/);
      for (const expr of ['random()', 'clock_timestamp()', 'timeofday()', "nextval('s')", 'txid_current()', 'uuid_generate_v4()', '(random() * 10)::int']) {
        flags(rule, `ALTER TABLE t ADD COLUMN c text DEFAULT ${expr};`);
      }
    });

    it('says "may be volatile" for unknown functions', () => {
      const [f] = flags(rule, 'ALTER TABLE t ADD COLUMN c text DEFAULT app.make_code(8);');
      assert.match(f.message, /app\.make_code\(\) may be volatile/);
    });

    it('is silent for constants and stable defaults (PG 11+) and on new tables', () => {
      for (const expr of ['0', "'x'", "'x'::text", '-1', 'now()', 'CURRENT_TIMESTAMP', 'current_date', 'statement_timestamp()', 'transaction_timestamp()', 'NULL', "'{}'::jsonb", 'lower(\'A\')']) {
        passes(rule, `ALTER TABLE t ADD COLUMN c text DEFAULT ${expr};`);
      }
      passes(rule, 'CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid();');
      passes(rule, 'ALTER TABLE t ALTER COLUMN c SET DEFAULT gen_random_uuid();');
    });

    it('before PostgreSQL 11 any non-NULL default rewrites the table', () => {
      const sql = "ALTER TABLE t ADD COLUMN c text DEFAULT 'x';";
      const [f] = flags(rule, sql, { pgVersion: 10 });
      assert.equal(at(sql, f), 'DEFAULT');
      assert.match(f.message, /PostgreSQL 10/);
      passes(rule, 'ALTER TABLE t ADD COLUMN c text DEFAULT NULL;', { pgVersion: 10 });
      passes(rule, 'ALTER TABLE t ADD COLUMN c text;', { pgVersion: 10 });
      fixClears(rule, sql, f, { pgVersion: 10 });
    });

    it('fix: adds the column without a default, then SET DEFAULT', () => {
      const sql = 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid(), ADD COLUMN n int;';
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, 'ALTER TABLE users ADD COLUMN token uuid, ALTER COLUMN token SET DEFAULT gen_random_uuid(), ADD COLUMN n int;');
    });

    it('no fix when the column is NOT NULL (it would fail without the default) or IF NOT EXISTS', () => {
      const [f] = flags(rule, 'ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();');
      assert.equal(f.fixes, undefined);
      assert.match(f.message, /nullable/);
      assert.equal(flags(rule, 'ALTER TABLE users ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();')[0].fixes, undefined);
    });
  });

  describe('add-column-rewrite', () => {
    const rule = 'add-column-rewrite';

    it('flags serial types, identity and stored generated columns on existing tables', () => {
      const sql = 'ALTER TABLE events ADD COLUMN seq bigserial;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'bigserial');
      assert.match(f.message, /rewrites the whole table events/);
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /nullable bigint/);
      const id = 'ALTER TABLE events ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;';
      const [i] = flags(rule, id);
      assert.equal(at(id, i), 'GENERATED');
      assert.match(i.message, /ADD GENERATED BY DEFAULT AS IDENTITY/);
      const [g] = flags(rule, 'ALTER TABLE events ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;', { pgVersion: 18 });
      assert.match(g.message, /VIRTUAL/);
      assert.doesNotMatch(flags(rule, 'ALTER TABLE e ADD COLUMN t int GENERATED ALWAYS AS (a) STORED;', { pgVersion: 16 })[0].message, /VIRTUAL/);
      flags(rule, 'ALTER TABLE events ADD COLUMN a smallserial, ADD COLUMN b serial;', {}, 2);
    });

    it('is silent for virtual generated columns, plain columns and new tables', () => {
      passes(rule, 'ALTER TABLE events ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL;');
      passes(rule, 'ALTER TABLE events ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty);');
      passes(rule, 'ALTER TABLE events ADD COLUMN n bigint;');
      passes(rule, 'CREATE TABLE events (id int);\nALTER TABLE events ADD COLUMN seq bigserial;');
    });
  });

  describe('column-type-change', () => {
    const rule = 'column-type-change';

    it('flags a type change on an existing table, pointing at the column', () => {
      const sql = 'ALTER TABLE events ALTER COLUMN id TYPE bigint;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'id');
      assert.match(f.message, /rewrites the whole table events and rebuilds its indexes/);
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.doesNotMatch(f.message, /binary-coercible/);
    });

    it('when the current type is unknown and the change could be safe, names the safe cases', () => {
      const [f] = flags(rule, 'ALTER TABLE users ALTER COLUMN name TYPE varchar(200);');
      assert.match(f.message, /binary-coercible/);
      assert.match(f.message, /varchar\(n\) → varchar\(m ≥ n\)/);
      assert.match(f.message, /not known/);
    });

    it('knows binary-coercible changes of columns created earlier in the file', () => {
      const add = 'ALTER TABLE a ADD COLUMN v varchar(10), ADD COLUMN n numeric(10,2), ADD COLUMN c cidr, ADD COLUMN b varbit(3), ADD COLUMN t text, ADD COLUMN w varchar(3);\n';
      passes(rule, `${add}ALTER TABLE a ALTER COLUMN v TYPE varchar(20), ALTER COLUMN n TYPE numeric(12,2), ALTER COLUMN c TYPE inet, ALTER COLUMN b TYPE varbit(5), ALTER COLUMN t TYPE varchar, ALTER COLUMN w TYPE text;`);
      passes(rule, `${add}ALTER TABLE a ALTER COLUMN v TYPE varchar, ALTER COLUMN n TYPE numeric;`);
      const [shrink] = flags(rule, `${add}ALTER TABLE a ALTER COLUMN v TYPE varchar(5);`);
      assert.match(shrink.message, /from varchar\(10\)/);
      flags(rule, `${add}ALTER TABLE a ALTER COLUMN n TYPE numeric(12,3);`);
      flags(rule, `${add}ALTER TABLE a ALTER COLUMN t TYPE varchar(5);`);
      const created = `${UP}ALTER TABLE a ADD COLUMN ts timestamp, ADD COLUMN code char(3), ADD COLUMN id int;\n`;
      assert.match(flags(rule, `${created}ALTER TABLE a ALTER COLUMN ts TYPE timestamptz;`)[0].message, /from timestamp\)/);
      flags(rule, `${created}ALTER TABLE a ALTER COLUMN code TYPE char(5);`);
      assert.match(flags(rule, `${created}ALTER TABLE a ALTER COLUMN id TYPE bigint;`)[0].message, /TYPE bigint \(from integer\)/);
      // Known across sections of the same file (up then down), tracked by the rule itself.
      passes(rule, `${UP}ALTER TABLE a ADD COLUMN v varchar(10);\n-- migrate:down\nALTER TABLE a ALTER COLUMN v TYPE text;\n`);
    });

    it('USING always rewrites; the knowledge does not leak between files', () => {
      const [u] = flags(rule, 'ALTER TABLE a ADD COLUMN v varchar(10);\nALTER TABLE a ALTER COLUMN v TYPE text USING v::text;');
      assert.match(u.message, /USING/);
      passes(rule, 'ALTER TABLE a ADD COLUMN v varchar(10);\nALTER TABLE a ALTER COLUMN v TYPE text;');
      assert.match(flags(rule, 'ALTER TABLE a ALTER COLUMN v TYPE text;')[0].message, /not known/);
    });

    it('is silent on tables created earlier in the section', () => {
      passes(rule, 'CREATE TABLE a (id int);\nALTER TABLE a ALTER COLUMN id TYPE bigint;');
    });
  });

  describe('require-lock-timeout', () => {
    const rule = 'require-lock-timeout';

    it('flags the first blocking statement on an existing table, once per section', () => {
      const sql = 'CREATE TABLE IF NOT EXISTS n (id int);\nALTER TABLE users ADD COLUMN x int;\nALTER TABLE accounts ADD COLUMN y int;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'users');
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /lock_timeout/);
      assert.match(f.message, /queues behind it/);
      flags(rule, `${UP}TRUNCATE a;\n-- migrate:down\nDROP TABLE b;\n`, {}, 2);
    });

    it('covers CREATE INDEX, DROP, RENAME, REINDEX, CLUSTER, VACUUM FULL, triggers and LOCK', () => {
      for (const stmt of [
        'CREATE INDEX i ON t (a);', 'DROP TABLE t;', 'DROP INDEX i;', 'TRUNCATE t;', 'ALTER TABLE t RENAME TO u;', 'ALTER TABLE t RENAME COLUMN a TO b;',
        'REINDEX TABLE t;', 'CLUSTER t;', 'VACUUM FULL t;', 'CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();', 'LOCK TABLE t;',
        'ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID;',
      ]) {
        flags(rule, stmt);
      }
    });

    it('points at the altered table first, and counts foreign keys to existing tables', () => {
      const fk = 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;';
      assert.equal(at(fk, flags(rule, fk)[0]), 'orders');
      const create = 'CREATE TABLE posts (id bigint, user_id bigint REFERENCES app.users (id));';
      const [c] = flags(rule, create);
      assert.equal(at(create, c), 'app.users');
      assert.match(c.message, /SHARE ROW EXCLUSIVE lock on existing table app\.users/);
      assert.match(c.message, /every later write to app\.users/);
      passes(rule, 'CREATE TABLE users (id bigint PRIMARY KEY);\nCREATE TABLE posts (id bigint, user_id bigint REFERENCES users (id));');
    });

    it('is silent after SET lock_timeout, when the runner sets it, for new tables and non-blocking statements', () => {
      passes(rule, "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN x int;");
      passes(rule, "SET LOCAL lock_timeout TO '2s';\nCREATE INDEX i ON t (a);");
      passes(rule, 'ALTER TABLE users ADD COLUMN x int;', { lockTimeoutByRunner: true });
      passes(rule, 'CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN b int;');
      passes(rule, `${UP_NOTX}CREATE INDEX CONCURRENTLY i ON t (a);`);
      passes(rule, 'ALTER TABLE t VALIDATE CONSTRAINT c;');
      passes(rule, "UPDATE t SET a = 1;\nSELECT 1;\nINSERT INTO t VALUES (1);");
      passes(rule, "ALTER TYPE mood ADD VALUE 'meh';\nALTER INDEX i RENAME TO j;\nALTER TABLE t SET (fillfactor = 70);");
      flags(rule, "SET lock_timeout = 0;\nALTER TABLE users ADD COLUMN x int;");
    });

    it('fix: SET LOCAL at the start of the section (in a transaction)', () => {
      const sql = `${UP}-- add a column\nCREATE TABLE IF NOT EXISTS n (id int);\nALTER TABLE users ADD COLUMN x int;\n`;
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, `${UP}SET LOCAL lock_timeout = '5s';\n-- add a column\nCREATE TABLE IF NOT EXISTS n (id int);\nALTER TABLE users ADD COLUMN x int;\n`);
    });

    it('fix: keeps -- bulwark-ignore comments next to their statement', () => {
      const sql = `${UP}-- bulwark-ignore require-concurrent-index-creation\nCREATE INDEX i ON t (a);\n`;
      const out = fixClears(rule, sql, flags(rule, sql)[0]);
      assert.equal(out, `${UP}SET LOCAL lock_timeout = '5s';\n-- bulwark-ignore require-concurrent-index-creation\nCREATE INDEX i ON t (a);\n`);
      passes('require-concurrent-index-creation', out);
      passes('unused-ignore', out);
    });

    it('fix: plain SET outside a transaction, SET LOCAL inside an explicit BEGIN', () => {
      const sql = `${UP_NOTX}TRUNCATE t;\n`;
      assert.equal(fixClears(rule, sql, flags(rule, sql)[0]), `${UP_NOTX}SET lock_timeout = '5s';\nTRUNCATE t;\n`);
      const tx = `${UP_NOTX}BEGIN;\n  ALTER TABLE t ADD COLUMN x int;\nCOMMIT;\n`;
      assert.equal(fixClears(rule, tx, flags(rule, tx)[0]), `${UP_NOTX}BEGIN;\nSET LOCAL lock_timeout = '5s';\n  ALTER TABLE t ADD COLUMN x int;\nCOMMIT;\n`);
    });

    it('does not look inside DO blocks (not embedded)', () => {
      passes(rule, 'DO $$ BEGIN ALTER TABLE t ADD COLUMN x int; END $$;');
    });
  });

  describe('lock-then-more-work', () => {
    const rule = 'lock-then-more-work';

    it('flags work on another existing table after an exclusive lock in the same transaction', () => {
      const sql = 'ALTER TABLE users ADD COLUMN plan text;\nALTER TABLE accounts ADD COLUMN plan text;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'accounts');
      assert.match(f.message, /ACCESS EXCLUSIVE lock on users \(taken by ALTER TABLE at line 1\)/);
      assert.match(f.message, /until COMMIT/);
      assert.match(f.message, /deadlock/);
      const idx = 'CREATE INDEX i ON users (a);\nCREATE INDEX j ON accounts (b);';
      assert.match(flags(rule, idx)[0].message, /SHARE lock on users/);
    });

    it('flags data backfills while the lock is held, including on the locked table', () => {
      const sql = "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';";
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'users');
      assert.match(f.message, /UPDATE updates rows of users/);
      flags(rule, 'ALTER TABLE users ADD COLUMN plan text;\nINSERT INTO audit SELECT * FROM accounts;');
      flags(rule, 'TRUNCATE users;\nDELETE FROM accounts WHERE id = 1;');
    });

    it('is silent outside transactions, after COMMIT, on new tables and for quick statements', () => {
      passes(rule, `${UP_NOTX}ALTER TABLE users ADD COLUMN plan text;\nALTER TABLE accounts ADD COLUMN plan text;`);
      passes(rule, `${UP_NOTX}BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;\nBEGIN;\nALTER TABLE accounts ADD COLUMN plan text;\nCOMMIT;`);
      passes(rule, 'ALTER TABLE users ADD COLUMN plan text;\nCREATE TABLE plans (id int);\nALTER TABLE plans ADD COLUMN name text;\nINSERT INTO plans VALUES (1);');
      passes(rule, 'ALTER TABLE users ADD COLUMN plan text;\nALTER TABLE users ADD COLUMN tier text;\nINSERT INTO users (id) VALUES (1);\nSELECT 1;');
      passes(rule, 'CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN plan text;\nUPDATE accounts SET plan = 1;');
      passes(rule, 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders ADD COLUMN note text;');
      passes(rule, 'ALTER TABLE users ADD COLUMN plan text;\nSELECT count(*) FROM pg_catalog.pg_class;');
    });
  });

  describe('vacuum-full-cluster', () => {
    const rule = 'vacuum-full-cluster';

    it('flags VACUUM FULL and CLUSTER', () => {
      const sql = 'VACUUM FULL events;';
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'FULL');
      assert.match(f.message, /ACCESS EXCLUSIVE/);
      assert.match(f.message, /pg_repack/);
      assert.match(f.message, /events/);
      const cl = 'CLUSTER events USING events_ts_idx;';
      const [c] = flags(rule, cl);
      assert.equal(at(cl, c), 'CLUSTER');
      flags(rule, 'VACUUM (FULL, ANALYZE) events;');
      flags(rule, 'VACUUM FULL;');
      flags(rule, 'CLUSTER;');
      assert.match(flags(rule, sql, { pgVersion: 19 })[0].message, /REPACK … CONCURRENTLY/);
    });

    it('is silent for plain VACUUM, FULL false, and new tables', () => {
      passes(rule, 'VACUUM events;');
      passes(rule, 'VACUUM (ANALYZE) events;');
      passes(rule, 'VACUUM (FULL false) events;');
      passes(rule, 'ANALYZE events;');
      passes(rule, 'CREATE TABLE events (id int);\nVACUUM FULL events;\nCLUSTER events;');
    });
  });

  it('every locking rule except require-lock-timeout also runs inside DO blocks', () => {
    const mine = lockingRules;
    assert.equal(mine.length, 15);
    assert.ok(mine.every((r) => r.category === 'locking' && ALL_RULES.includes(r)));
    for (const r of mine) assert.equal(Boolean(r.embedded), r.id !== 'require-lock-timeout', r.id);
  });

  it('no rule crashes on odd input', () => {
    const odd = [
      'ALTER TABLE t ADD COLUMN c int DEFAULT (SELECT 1);', 'ALTER TABLE ONLY t* ADD CHECK (a > 0);', 'ALTER TABLE IF EXISTS "we""ird"."t" ALTER COLUMN "c" TYPE text;',
      'ALTER TABLE t ADD COLUMN c int[] DEFAULT ARRAY[1,2], ADD CONSTRAINT x CHECK (c <> \'{}\');', "ALTER TABLE t ADD COLUMN c text DEFAULT E'a\\'b,c';",
      'ALTER INDEX i SET TABLESPACE fast;', 'ALTER TABLE t ALTER COLUMN c SET DEFAULT $$a,b$$;', 'REINDEX SCHEMA;', 'LOCK t IN ROW EXCLUSIVE MODE;',
      'DO $$ BEGIN EXECUTE \'CREATE INDEX i ON t (a)\'; END $$;', 'ALTER TABLE t ADD COLUMN c int /* , */ REFERENCES u -- ,\n;',
    ];
    for (const sql of odd) {
      const f = lint(sql).findings.filter((x) => x.rule === 'internal-error');
      assert.deepEqual(f, [], sql);
    }
    const f = findingsOf('constraint-missing-not-valid', 'ALTER TABLE t ADD COLUMN c int /* , */ REFERENCES u -- ,\n;');
    assert.equal(f.length, 1);
    fixClears('constraint-missing-not-valid', 'ALTER TABLE t ADD COLUMN c int /* , */ REFERENCES u -- ,\n;', f[0]);
  });
});
