import { strict as assert } from 'node:assert';
import { ALL_RULES } from '../../src/core/lint';
import { applyFix, at, findingsOf, fixes, flags, passes, useParser } from '../helpers/lint';

const NO_TX = '-- migrate:up transaction:false\n';
const TX = '-- migrate:up\n';


describe('idempotency rules', () => {
  useParser();

  describe('require-if-not-exists', () => {
    const rule = 'require-if-not-exists';

    it('is a warning outside a transaction and info inside one', () => {
      const sql = `${NO_TX}CREATE TABLE users (id bigint PRIMARY KEY);`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'warning');
      assert.equal(at(sql, f), 'TABLE');
      assert.match(f.message, /CREATE TABLE users without IF NOT EXISTS/);
      assert.match(f.message, /retry after a partial run .* fails here with "already exists"/);
      assert.match(f.message, /Write CREATE TABLE IF NOT EXISTS users/);
      assert.equal(flags(rule, `${TX}CREATE TABLE users (id bigint);`)[0].severity, 'info');
      assert.equal(flags(rule, 'CREATE TABLE users (id bigint);')[0].severity, 'info', 'plain files are assumed transactional');
      assert.equal(flags(rule, 'CREATE TABLE users (id bigint);', { assumeInTransaction: false })[0].severity, 'warning');
      assert.equal(flags(rule, `${NO_TX}BEGIN;\nCREATE TABLE users (id bigint);\nCOMMIT;`)[0].severity, 'info', 'explicit BEGIN … COMMIT');
      assert.equal(flags(rule, `${NO_TX}BEGIN;\nCOMMIT;\nCREATE TABLE users (id bigint);`)[0].severity, 'warning', 'after the COMMIT');
    });

    it('keeps a configured severity other than warning', () => {
      assert.equal(flags(rule, `${TX}CREATE TABLE users (id bigint);`, { rules: { [rule]: 'error' } })[0].severity, 'error');
    });

    it('fixes CREATE TABLE, also past comments and options', () => {
      assert.equal(fixes(rule, `${NO_TX}CREATE /* TABLE */ UNLOGGED TABLE "Users" (id bigint);`), `${NO_TX}CREATE /* TABLE */ UNLOGGED TABLE IF NOT EXISTS "Users" (id bigint);`);
      assert.equal(fixes(rule, 'CREATE TABLE p_2024 PARTITION OF p FOR VALUES FROM (1) TO (2);'), 'CREATE TABLE IF NOT EXISTS p_2024 PARTITION OF p FOR VALUES FROM (1) TO (2);');
    });

    it('flags and fixes indexes, also CONCURRENTLY', () => {
      const sql = `${NO_TX}CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'INDEX');
      assert.match(f.message, /CREATE INDEX users_email_idx/);
      assert.match(f.message, /CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx/);
      assert.equal(fixes(rule, sql), `${NO_TX}CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);`);
      assert.equal(fixes(rule, 'CREATE INDEX users_a ON users (a);'), 'CREATE INDEX IF NOT EXISTS users_a ON users (a);');
    });

    it('flags an unnamed index without a fix, asking for a name', () => {
      const [f] = flags(rule, `${NO_TX}CREATE INDEX CONCURRENTLY ON users (email);`);
      assert.equal(f.fixes, undefined);
      assert.match(f.message, /CREATE INDEX on users without a name/);
      assert.match(f.message, /builds a second, identical index/);
      assert.match(f.message, /Give the index a name and add IF NOT EXISTS: CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON users/);
    });

    it('flags and fixes schemas, sequences, extensions, materialized views and CREATE TABLE AS', () => {
      assert.equal(fixes(rule, 'CREATE SCHEMA billing;'), 'CREATE SCHEMA IF NOT EXISTS billing;');
      assert.equal(fixes(rule, 'CREATE SCHEMA AUTHORIZATION alice;'), 'CREATE SCHEMA IF NOT EXISTS AUTHORIZATION alice;');
      assert.equal(fixes(rule, 'CREATE SEQUENCE order_no START 1000;'), 'CREATE SEQUENCE IF NOT EXISTS order_no START 1000;');
      assert.equal(fixes(rule, 'CREATE EXTENSION pgcrypto;'), 'CREATE EXTENSION IF NOT EXISTS pgcrypto;');
      const mv = 'CREATE MATERIALIZED VIEW totals AS SELECT 1 AS n;';
      assert.equal(at(mv, flags(rule, mv)[0]), 'MATERIALIZED VIEW');
      assert.equal(fixes(rule, mv), 'CREATE MATERIALIZED VIEW IF NOT EXISTS totals AS SELECT 1 AS n;');
      assert.equal(fixes(rule, 'CREATE TABLE archive AS SELECT * FROM orders;'), 'CREATE TABLE IF NOT EXISTS archive AS SELECT * FROM orders;');
    });

    it('flags CREATE SCHEMA with schema elements without a fix (IF NOT EXISTS cannot have elements)', () => {
      const [f] = flags(rule, 'CREATE SCHEMA s CREATE TABLE t (id bigint);');
      assert.equal(f.fixes, undefined);
      assert.match(f.message, /cannot be combined with schema elements/);
    });

    it('flags each ADD COLUMN of an ALTER TABLE, with or without COLUMN', () => {
      const sql = `${NO_TX}ALTER TABLE users ADD COLUMN email text, ADD bio text, ADD COLUMN IF NOT EXISTS ok int;`;
      const f = flags(rule, sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['ADD COLUMN', 'ADD']);
      assert.match(f[0].message, /ADD COLUMN email to users without IF NOT EXISTS/);
      assert.match(f[0].message, /ADD COLUMN IF NOT EXISTS email/);
      assert.equal(f[0].severity, 'warning');
      let out = applyFix(sql, f[1]);
      out = applyFix(out, f[0]);
      assert.equal(out, `${NO_TX}ALTER TABLE users ADD COLUMN IF NOT EXISTS email text, ADD IF NOT EXISTS bio text, ADD COLUMN IF NOT EXISTS ok int;`);
      passes(rule, out);
      assert.deepEqual(findingsOf('syntax-error', out), []);
    });

    it('finds the ADD of the right action when other actions contain commas', () => {
      const sql = 'ALTER TABLE t ALTER COLUMN p TYPE numeric(10, 2), ADD COLUMN q int CHECK (q IN (1, 2));';
      assert.equal(fixes(rule, sql), 'ALTER TABLE t ALTER COLUMN p TYPE numeric(10, 2), ADD COLUMN IF NOT EXISTS q int CHECK (q IN (1, 2));');
    });

    it('flags objects on tables created earlier in the section (a retry fails there too)', () => {
      const sql = `${NO_TX}CREATE TABLE IF NOT EXISTS t (id bigint);\nCREATE INDEX t_id ON t (id);`;
      assert.equal(at(sql, flags(rule, sql)[0]), 'INDEX');
    });

    it('is silent with IF NOT EXISTS, on temporary objects, other statements and inside DO blocks', () => {
      passes(rule, `${NO_TX}CREATE TABLE IF NOT EXISTS users (id bigint);
CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (id);
CREATE SCHEMA IF NOT EXISTS s;
CREATE SEQUENCE IF NOT EXISTS q;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1;
CREATE TABLE IF NOT EXISTS t2 AS SELECT 1;
ALTER TABLE users ADD COLUMN IF NOT EXISTS bio text, ALTER COLUMN id SET NOT NULL;
CREATE TEMP TABLE scratch (id bigint);
CREATE TEMPORARY SEQUENCE tmp_seq;
SELECT 1;`);
      passes(rule, `${NO_TX}DO $$ BEGIN IF to_regclass('users') IS NULL THEN CREATE TABLE users (id bigint); END IF; END $$;`);
    });
  });

  describe('require-if-exists', () => {
    const rule = 'require-if-exists';

    it('is a warning outside a transaction and info inside one, at the object keyword', () => {
      const sql = `${NO_TX}DROP INDEX CONCURRENTLY users_email_idx;`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'warning');
      assert.equal(at(sql, f), 'INDEX');
      assert.match(f.message, /DROP INDEX users_email_idx without IF EXISTS/);
      assert.match(f.message, /"does not exist"/);
      assert.match(f.message, /DROP INDEX CONCURRENTLY IF EXISTS users_email_idx/);
      assert.equal(fixes(rule, sql), `${NO_TX}DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;`);
      assert.equal(flags(rule, `${TX}DROP INDEX users_email_idx;`)[0].severity, 'info');
    });

    it('flags and fixes every object kind', () => {
      const cases: [string, string, string][] = [
        ['DROP TABLE old_users;', 'DROP TABLE IF EXISTS old_users;', 'TABLE'],
        ['DROP VIEW v;', 'DROP VIEW IF EXISTS v;', 'VIEW'],
        ['DROP MATERIALIZED VIEW mv;', 'DROP MATERIALIZED VIEW IF EXISTS mv;', 'MATERIALIZED VIEW'],
        ['DROP SEQUENCE s;', 'DROP SEQUENCE IF EXISTS s;', 'SEQUENCE'],
        ['DROP SCHEMA legacy CASCADE;', 'DROP SCHEMA IF EXISTS legacy CASCADE;', 'SCHEMA'],
        ['DROP TYPE mood;', 'DROP TYPE IF EXISTS mood;', 'TYPE'],
        ['DROP DOMAIN email;', 'DROP DOMAIN IF EXISTS email;', 'DOMAIN'],
        ['DROP FUNCTION touch(int);', 'DROP FUNCTION IF EXISTS touch(int);', 'FUNCTION'],
        ['DROP PROCEDURE archive();', 'DROP PROCEDURE IF EXISTS archive();', 'PROCEDURE'],
        ['DROP TRIGGER tg ON users;', 'DROP TRIGGER IF EXISTS tg ON users;', 'TRIGGER'],
        ['DROP POLICY p ON users;', 'DROP POLICY IF EXISTS p ON users;', 'POLICY'],
        ['DROP EXTENSION hstore;', 'DROP EXTENSION IF EXISTS hstore;', 'EXTENSION'],
        ['DROP RULE r ON users;', 'DROP RULE IF EXISTS r ON users;', 'RULE'],
        ['drop /* x */ index i1, i2;', 'drop /* x */ index IF EXISTS i1, i2;', 'index'],
      ];
      for (const [sql, fixed, kw] of cases) {
        assert.equal(at(sql, flags(rule, sql)[0]), kw, sql);
        assert.equal(fixes(rule, sql), fixed);
      }
      assert.match(flags(rule, 'DROP TRIGGER tg ON public.users;')[0].message, /DROP TRIGGER tg ON public\.users without IF EXISTS/);
    });

    it('flags and fixes ALTER TABLE … DROP COLUMN / DROP CONSTRAINT', () => {
      const sql = `${NO_TX}ALTER TABLE users DROP COLUMN legacy, DROP CONSTRAINT users_legacy_check, DROP IF EXISTS gone;`;
      const f = flags(rule, sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['DROP COLUMN', 'DROP CONSTRAINT']);
      assert.match(f[0].message, /DROP COLUMN legacy on users without IF EXISTS/);
      assert.match(f[1].message, /DROP CONSTRAINT IF EXISTS users_legacy_check/);
      const out = applyFix(applyFix(sql, f[1]), f[0]);
      assert.equal(out, `${NO_TX}ALTER TABLE users DROP COLUMN IF EXISTS legacy, DROP CONSTRAINT IF EXISTS users_legacy_check, DROP IF EXISTS gone;`);
      passes(rule, out);
      assert.equal(fixes(rule, 'ALTER TABLE users DROP legacy;'), 'ALTER TABLE users DROP IF EXISTS legacy;');
    });

    it('is silent on relations created earlier in the section, but not on their columns', () => {
      passes(rule, `${NO_TX}CREATE TABLE IF NOT EXISTS tmp (id bigint);\nDROP TABLE tmp;`);
      flags(rule, `${NO_TX}CREATE TABLE IF NOT EXISTS t (id bigint, x int);\nALTER TABLE t DROP COLUMN x;`);
      passes(rule, `${NO_TX}CREATE TABLE IF NOT EXISTS tmp (id bigint);\nALTER TABLE tmp RENAME TO tmp2;\nDROP TABLE tmp2;`);
      // A retried down section does not re-create what the up section created.
      flags(rule, `-- migrate:up\nCREATE TABLE tmp (id bigint);\n-- migrate:down\nDROP TABLE tmp;`);
    });

    it('is silent with IF EXISTS, on other ALTER actions and inside DO blocks', () => {
      passes(rule, `${NO_TX}DROP TABLE IF EXISTS a; DROP POLICY IF EXISTS p ON t; DROP FUNCTION IF EXISTS f;
ALTER TABLE t ALTER COLUMN c DROP DEFAULT, ALTER COLUMN c DROP NOT NULL, DROP COLUMN IF EXISTS d, DROP CONSTRAINT IF EXISTS e;
DROP OWNED BY alice;`);
      passes(rule, `${NO_TX}DO $$ BEGIN DROP TABLE old; EXCEPTION WHEN undefined_table THEN NULL; END $$;`);
    });
  });

  describe('require-or-replace', () => {
    const rule = 'require-or-replace';

    it('flags CREATE FUNCTION at its keyword and fixes it', () => {
      const sql = `${NO_TX}CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'warning');
      assert.equal(at(sql, f), 'FUNCTION');
      assert.match(f.message, /CREATE FUNCTION touch without OR REPLACE/);
      assert.match(f.message, /Write CREATE OR REPLACE FUNCTION/);
      assert.equal(fixes(rule, sql), sql.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
      assert.equal(flags(rule, `${TX}CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';`)[0].severity, 'info');
    });

    it('flags and fixes procedures and views', () => {
      assert.equal(fixes(rule, "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1';"), "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS 'SELECT 1';");
      const v = 'CREATE VIEW active_users AS SELECT * FROM users WHERE active;';
      assert.equal(at(v, flags(rule, v)[0]), 'VIEW');
      assert.match(flags(rule, v)[0].message, /CREATE VIEW active_users/);
      assert.equal(fixes(rule, v), 'CREATE OR REPLACE VIEW active_users AS SELECT * FROM users WHERE active;');
      assert.equal(fixes(rule, 'CREATE RECURSIVE VIEW r (n) AS SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3;'), 'CREATE OR REPLACE RECURSIVE VIEW r (n) AS SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3;');
    });

    it('flags triggers from PostgreSQL 14 only', () => {
      const sql = 'CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();';
      const [f] = flags(rule, sql, { pgVersion: 14 });
      assert.equal(at(sql, f), 'TRIGGER');
      assert.match(f.message, /CREATE TRIGGER users_touch on users without OR REPLACE/);
      assert.equal(fixes(rule, sql, { pgVersion: 16 }), sql.replace('CREATE TRIGGER', 'CREATE OR REPLACE TRIGGER'));
      passes(rule, sql, { pgVersion: 13 });
      passes(rule, 'CREATE CONSTRAINT TRIGGER t AFTER INSERT ON users DEFERRABLE FOR EACH ROW EXECUTE FUNCTION f();', { pgVersion: 17 });
    });

    it('is silent with OR REPLACE, on materialized and temporary views, and inside DO blocks', () => {
      passes(rule, `${NO_TX}CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE OR REPLACE VIEW v AS SELECT 1;
CREATE OR REPLACE TRIGGER tg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();
CREATE TEMP VIEW tv AS SELECT 1;`);
      passes(rule, 'CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1;');
      passes(rule, `${NO_TX}DO $$ BEGIN CREATE VIEW v AS SELECT 1; EXCEPTION WHEN duplicate_table THEN NULL; END $$;`);
    });
  });

  describe('unguarded-create', () => {
    const rule = 'unguarded-create';

    it('flags CREATE POLICY and fixes it with a DROP POLICY IF EXISTS guard, keeping the names as written', () => {
      const sql = `${NO_TX}CREATE POLICY "Tenant isolation" ON app.orders USING (tenant_id = current_setting('app.tenant')::bigint);`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'warning');
      assert.equal(at(sql, f), 'POLICY');
      assert.match(f.message, /CREATE POLICY Tenant isolation on app\.orders has no IF NOT EXISTS form/);
      assert.match(f.message, /DROP POLICY IF EXISTS/);
      assert.match(f.message, /DO block/);
      assert.equal(fixes(rule, sql), `${NO_TX}DROP POLICY IF EXISTS "Tenant isolation" ON app.orders;\nCREATE POLICY "Tenant isolation" ON app.orders USING (tenant_id = current_setting('app.tenant')::bigint);`);
      assert.equal(flags(rule, `${TX}CREATE POLICY p ON t USING (true);`)[0].severity, 'info');
    });

    it('keeps the indentation of the guarded statement', () => {
      const sql = `${NO_TX}  CREATE POLICY p ON t USING (true);`;
      assert.equal(fixes(rule, sql), `${NO_TX}  DROP POLICY IF EXISTS p ON t;\n  CREATE POLICY p ON t USING (true);`);
    });

    it('accepts an earlier DROP … IF EXISTS of the same object in the same section as the guard', () => {
      passes(rule, `${NO_TX}DROP POLICY IF EXISTS p ON public.t;\nCREATE POLICY p ON t USING (true);`);
      passes(rule, `${NO_TX}DROP TYPE IF EXISTS mood;\nCREATE TYPE mood AS ENUM ('happy', 'sad');`);
      passes(rule, `${NO_TX}ALTER TABLE t DROP CONSTRAINT IF EXISTS t_positive;\nALTER TABLE t ADD CONSTRAINT t_positive CHECK (n > 0);`);
      passes(rule, `${NO_TX}ALTER TABLE t DROP CONSTRAINT IF EXISTS t_fk, ADD CONSTRAINT t_fk FOREIGN KEY (u) REFERENCES u (id);`);
      passes(rule, `${NO_TX}DROP TRIGGER IF EXISTS tg ON t;\nCREATE TRIGGER tg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();`, { pgVersion: 13 });
    });

    it('does not accept a guard for another object, a later one, or one in another section', () => {
      flags(rule, `${NO_TX}DROP POLICY IF EXISTS p ON other;\nCREATE POLICY p ON t USING (true);`);
      flags(rule, `${NO_TX}DROP POLICY IF EXISTS q ON t;\nCREATE POLICY p ON t USING (true);`);
      flags(rule, `${NO_TX}CREATE POLICY p ON t USING (true);\nDROP POLICY IF EXISTS p ON t;`);
      flags(rule, `-- migrate:down\nDROP POLICY IF EXISTS p ON t;\n-- migrate:up transaction:false\nCREATE POLICY p ON t USING (true);`);
      flags(rule, `${NO_TX}ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0), DROP CONSTRAINT IF EXISTS c;`);
    });

    it('flags CREATE TYPE (enum, composite, range) without a fix, suggesting a DO block', () => {
      for (const sql of ["CREATE TYPE mood AS ENUM ('happy', 'sad');", 'CREATE TYPE pair AS (a int, b int);', 'CREATE TYPE floatrange AS RANGE (subtype = float8);']) {
        const [f] = flags(rule, `${NO_TX}${sql}`);
        assert.equal(at(`${NO_TX}${sql}`, f), 'TYPE');
        assert.equal(f.fixes, undefined);
        assert.match(f.message, /CREATE TYPE \w+ has no IF NOT EXISTS form/);
        assert.match(f.message, /EXCEPTION WHEN duplicate_object/);
      }
    });

    it('flags ADD CONSTRAINT and fixes CHECK / FOREIGN KEY constraints with a DROP CONSTRAINT IF EXISTS guard', () => {
      const sql = `${NO_TX}ALTER TABLE ONLY orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'ADD CONSTRAINT');
      assert.match(f.message, /ADD CONSTRAINT orders_user_fk on orders has no IF NOT EXISTS form/);
      assert.equal(fixes(rule, sql), `${NO_TX}ALTER TABLE ONLY orders DROP CONSTRAINT IF EXISTS orders_user_fk;\n${sql.slice(NO_TX.length)}`);
      assert.equal(fixes(rule, 'ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0) NOT VALID;'), 'ALTER TABLE t DROP CONSTRAINT IF EXISTS c;\nALTER TABLE t ADD CONSTRAINT c CHECK (n > 0) NOT VALID;');
    });

    it('gives no drop fix for PRIMARY KEY / UNIQUE constraints, and asks to name unnamed ones', () => {
      const pk = flags(rule, 'ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_idx;')[0];
      assert.equal(pk.fixes, undefined);
      assert.match(pk.message, /DO block that checks pg_constraint/);
      assert.match(pk.message, /foreign keys depend on it/);
      assert.equal(flags(rule, 'ALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE (email);')[0].fixes, undefined);
      const sql = 'ALTER TABLE t ADD CHECK (n > 0);';
      const [un] = flags(rule, sql);
      assert.equal(at(sql, un), 'ADD');
      assert.equal(un.fixes, undefined);
      assert.match(un.message, /without a constraint name/);
      assert.match(un.message, /second copy/);
    });

    it('flags CREATE TRIGGER before PostgreSQL 14, and constraint triggers always', () => {
      const sql = 'CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION touch();';
      const [f] = flags(rule, sql, { pgVersion: 13 });
      assert.equal(at(sql, f), 'TRIGGER');
      assert.match(f.message, /needs PostgreSQL 14 \(target: 13\)/);
      assert.equal(fixes(rule, sql, { pgVersion: 13 }), `DROP TRIGGER IF EXISTS users_touch ON public.users;\n${sql}`);
      passes(rule, sql, { pgVersion: 14 });
      const ct = 'CREATE CONSTRAINT TRIGGER check_balance AFTER INSERT ON accounts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_balance();';
      assert.match(flags(rule, ct, { pgVersion: 17 })[0].message, /constraint trigger has no OR REPLACE form/);
      assert.equal(fixes(rule, ct, { pgVersion: 17 }), `DROP TRIGGER IF EXISTS check_balance ON accounts;\n${ct}`);
    });

    it('is silent inside DO blocks (the usual guard) and on constraints defined with the table', () => {
      passes(rule, `${NO_TX}DO $$ BEGIN CREATE TYPE mood AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;`);
      passes(rule, `${NO_TX}DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'c') THEN
    ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0);
  END IF;
END $$;`);
      passes(rule, 'CREATE TABLE IF NOT EXISTS t (id bigint CONSTRAINT t_pk PRIMARY KEY, n int CHECK (n > 0));');
    });
  });

  describe('insert-without-on-conflict', () => {
    const rule = 'insert-without-on-conflict';

    it('flags seed data at the table name and appends ON CONFLICT DO NOTHING', () => {
      const sql = `${NO_TX}INSERT INTO public.roles (name) VALUES ('admin'), ('member');`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'warning');
      assert.equal(at(sql, f), 'public.roles');
      assert.match(f.message, /INSERT into public\.roles without ON CONFLICT/);
      assert.match(f.message, /fails on a unique key or inserts the rows a second time/);
      assert.match(f.message, /ON CONFLICT DO NOTHING \(it needs a unique index or primary key/);
      assert.equal(fixes(rule, sql), `${NO_TX}INSERT INTO public.roles (name) VALUES ('admin'), ('member') ON CONFLICT DO NOTHING;`);
      assert.equal(flags(rule, `${TX}INSERT INTO roles (name) VALUES ('admin');`)[0].severity, 'info');
    });

    it('puts the clause before RETURNING and before a trailing comment', () => {
      assert.equal(fixes(rule, "INSERT INTO roles (name) VALUES ('a') RETURNING id;"), "INSERT INTO roles (name) VALUES ('a') ON CONFLICT DO NOTHING RETURNING id;");
      assert.equal(fixes(rule, "INSERT INTO roles (name) VALUES ('a') -- seed\n;"), "INSERT INTO roles (name) VALUES ('a') ON CONFLICT DO NOTHING -- seed\n;");
      assert.equal(fixes(rule, 'INSERT INTO roles (name) SELECT name FROM staging_roles JOIN x ON true'), 'INSERT INTO roles (name) SELECT name FROM staging_roles JOIN x ON true ON CONFLICT DO NOTHING');
      assert.equal(fixes(rule, "WITH r AS (SELECT 'a' AS n) INSERT INTO roles (name) SELECT n FROM r;"), "WITH r AS (SELECT 'a' AS n) INSERT INTO roles (name) SELECT n FROM r ON CONFLICT DO NOTHING;");
    });

    it('is silent on tables created earlier in the section, with ON CONFLICT, and when the SELECT filters existing rows', () => {
      passes(rule, `${NO_TX}CREATE TABLE IF NOT EXISTS roles (name text PRIMARY KEY);\nINSERT INTO roles (name) VALUES ('admin');`);
      passes(rule, "INSERT INTO roles (name) VALUES ('admin') ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name;");
      passes(rule, "INSERT INTO roles (name) SELECT 'admin' WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = 'admin');");
      passes(rule, 'INSERT INTO audit DEFAULT VALUES;');
      passes(rule, `${NO_TX}DO $$ BEGIN INSERT INTO roles (name) VALUES ('a'); EXCEPTION WHEN unique_violation THEN NULL; END $$;`);
    });

    it('still flags the table in another section', () => {
      flags(rule, "-- migrate:up\nCREATE TABLE roles (name text);\n-- migrate:down\nINSERT INTO roles (name) VALUES ('a');");
    });
  });

  it('the documented bad examples are flagged and the good ones are not', () => {
    for (const id of ['require-if-not-exists', 'require-if-exists', 'require-or-replace', 'unguarded-create', 'insert-without-on-conflict']) {
      const rule = ALL_RULES.find((r) => r.id === id);
      assert.ok(rule?.bad && rule.good, id);
      const settings = { assumeInTransaction: false, pgVersion: id === 'unguarded-create' ? 13 : 17 };
      assert.ok(findingsOf(id, rule.bad, settings).length > 0, `${id}: bad example not flagged`);
      passes(id, rule.good, settings);
    }
  });
});
