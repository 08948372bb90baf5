import { strict as assert } from 'node:assert';
import { ALL_RULES } from '../../src/core/lint';
import { at, findingsOf, fixes, flags, passes, useParser } from '../helpers/lint';


describe('data-loss rules', () => {
  useParser();

  describe('ban-drop-table', () => {
    it('flags each existing table at its name', () => {
      const sql = 'DROP TABLE users, billing."Invoices" CASCADE;';
      const f = flags('ban-drop-table', sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['users', 'billing."Invoices"']);
      assert.equal(f[0].severity, 'error');
      assert.match(f[0].message, /DROP TABLE users deletes the table and all its rows/);
      assert.match(f[0].message, /running app versions/);
      assert.match(f[0].message, /deploy that first, back the data up/);
      assert.match(f[0].message, /CASCADE also drops the views/);
      assert.match(f[1].message, /billing\.Invoices/);
    });

    it('flags IF EXISTS too', () => {
      const sql = 'DROP TABLE IF EXISTS sessions;';
      assert.equal(at(sql, flags('ban-drop-table', sql)[0]), 'sessions');
    });

    it('is silent on a table created earlier in the section, but not in another section', () => {
      passes('ban-drop-table', 'CREATE TABLE tmp (id bigint);\nINSERT INTO tmp VALUES (1);\nDROP TABLE tmp;');
      const sql = 'CREATE TABLE tmp (id bigint);\nDROP TABLE tmp, users;';
      assert.equal(at(sql, flags('ban-drop-table', sql)[0]), 'users');
      flags('ban-drop-table', '-- migrate:up\nCREATE TABLE tmp (id bigint);\n-- migrate:down\nDROP TABLE users;\n');
      flags('ban-drop-table', '-- migrate:up\nCREATE TABLE t (id bigint);\n-- migrate:down\nSELECT 1;\n-- migrate:up\nDROP TABLE t;\n');
    });

    it('is silent on other object kinds', () => {
      passes('ban-drop-table', 'DROP VIEW users_v; DROP INDEX users_email_idx; DROP MATERIALIZED VIEW mv;');
    });

    it('runs inside DO blocks', () => {
      const sql = 'DO $$ BEGIN DROP TABLE users; END $$;';
      assert.equal(at(sql, flags('ban-drop-table', sql)[0]), 'users');
      passes('ban-drop-table', 'DO $$ BEGIN CREATE TABLE t (id bigint); DROP TABLE t; END $$;');
    });

    it('is not fooled by comments and names that look like keywords', () => {
      const sql = 'DROP /* TABLE x */ TABLE -- a, b\n "table", t2;';
      const f = flags('ban-drop-table', sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['"table"', 't2']);
    });
  });

  describe('ban-drop-column', () => {
    it('flags each dropped column at its name', () => {
      const sql = 'ALTER TABLE drop DROP CONSTRAINT legacy_fk, DROP COLUMN IF EXISTS legacy, DROP "Other" CASCADE;';
      const f = flags('ban-drop-column', sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['legacy', '"Other"']);
      assert.match(f[0].message, /drop\.legacy deletes its data/);
      assert.match(f[0].message, /Remove legacy from the code first/);
      assert.match(f[1].message, /CASCADE also drops/);
      assert.equal(f[0].severity, 'error');
    });

    it('is silent on new tables and on columns added earlier in the section', () => {
      passes('ban-drop-column', 'CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;');
      passes('ban-drop-column', 'ALTER TABLE users ADD COLUMN tmp int;\nALTER TABLE users DROP COLUMN tmp;');
      passes('ban-drop-column', 'ALTER TABLE users ADD COLUMN tmp int;\nALTER TABLE users RENAME COLUMN tmp TO tmp2;\nALTER TABLE users DROP COLUMN tmp2;');
      const sql = 'ALTER TABLE users ADD COLUMN tmp int;\nALTER TABLE users DROP COLUMN tmp, DROP COLUMN name;';
      assert.equal(at(sql, flags('ban-drop-column', sql)[0]), 'name');
    });

    it('is silent on other ALTER TABLE actions', () => {
      passes('ban-drop-column', 'ALTER TABLE users DROP CONSTRAINT users_email_key, ALTER COLUMN name DROP NOT NULL, ALTER COLUMN a DROP DEFAULT;');
    });

    it('runs inside DO blocks', () => {
      const sql = "DO $$ BEGIN IF true THEN ALTER TABLE users DROP COLUMN name; END IF; END $$;";
      assert.equal(at(sql, flags('ban-drop-column', sql)[0]), 'name');
    });
  });

  describe('ban-drop-schema', () => {
    it('flags each schema, mentioning CASCADE', () => {
      const sql = 'DROP SCHEMA IF EXISTS reporting, staging CASCADE;';
      const f = flags('ban-drop-schema', sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['reporting', 'staging']);
      assert.match(f[0].message, /CASCADE drops every table/);
      const plain = 'DROP SCHEMA reporting;';
      assert.match(flags('ban-drop-schema', plain)[0].message, /fails if anything is still in it/);
    });

    it('is silent on a schema created earlier in the section', () => {
      passes('ban-drop-schema', 'CREATE SCHEMA scratch;\nDROP SCHEMA scratch CASCADE;');
    });

    it('runs inside DO blocks', () => {
      flags('ban-drop-schema', 'DO $$ BEGIN DROP SCHEMA reporting CASCADE; END $$;');
    });
  });

  describe('ban-drop-database', () => {
    it('flags DROP DATABASE at the name', () => {
      const sql = 'DROP DATABASE IF EXISTS analytics WITH (FORCE);';
      const [f] = flags('ban-drop-database', sql);
      assert.equal(at(sql, f), 'analytics');
      assert.equal(f.severity, 'error');
      assert.match(f.message, /deletes the whole database/);
    });

    it('is silent on other statements', () => {
      passes('ban-drop-database', 'DROP SCHEMA IF EXISTS x; CREATE DATABASE y;');
    });
  });

  describe('ban-truncate', () => {
    it('flags each existing table at its name, as a warning', () => {
      const sql = 'TRUNCATE TABLE ONLY audit_log, s.events RESTART IDENTITY;';
      const f = flags('ban-truncate', sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['audit_log', 's.events']);
      assert.equal(f[0].severity, 'warning');
      assert.match(f[0].message, /deletes all its rows and takes an ACCESS EXCLUSIVE lock/);
    });

    it('is silent on new tables and when CASCADE is given (ban-truncate-cascade reports it)', () => {
      passes('ban-truncate', 'CREATE TABLE t (id bigint);\nTRUNCATE t;');
      passes('ban-truncate', 'TRUNCATE users CASCADE;');
    });

    it('runs inside DO blocks', () => {
      flags('ban-truncate', 'DO $$ BEGIN TRUNCATE audit_log; END $$;');
    });
  });

  describe('ban-truncate-cascade', () => {
    it('flags CASCADE once, naming the tables', () => {
      const sql = 'TRUNCATE users, orders CASCADE;';
      const [f] = flags('ban-truncate-cascade', sql);
      assert.equal(at(sql, f), 'CASCADE');
      assert.equal(f.severity, 'error');
      assert.match(f.message, /TRUNCATE users, orders CASCADE also empties every table with a foreign key/);
    });

    it('is silent without CASCADE and when every named table is new', () => {
      passes('ban-truncate-cascade', 'TRUNCATE users RESTRICT;');
      passes('ban-truncate-cascade', 'CREATE TABLE t (id bigint);\nTRUNCATE t CASCADE;');
    });

    it('fix: removes CASCADE', () => {
      assert.equal(fixes('ban-truncate-cascade', 'TRUNCATE users CASCADE;'), 'TRUNCATE users;');
    });

    it('runs inside DO blocks', () => {
      const sql = 'DO $$ BEGIN TRUNCATE users CASCADE; END $$;';
      assert.equal(at(sql, flags('ban-truncate-cascade', sql)[0]), 'CASCADE');
      assert.equal(fixes('ban-truncate-cascade', sql), 'DO $$ BEGIN TRUNCATE users; END $$;');
    });
  });

  describe('delete-without-where', () => {
    it('flags DELETE without WHERE at the table', () => {
      const sql = 'DELETE FROM sessions;';
      const [f] = flags('delete-without-where', sql);
      assert.equal(at(sql, f), 'sessions');
      assert.equal(f.severity, 'error');
      assert.match(f.message, /deletes every row of sessions/);
      assert.match(f.message, /TRUNCATE deliberately/);
    });

    it('flags data-modifying CTEs and DELETE … USING without WHERE', () => {
      flags('delete-without-where', 'WITH gone AS (DELETE FROM s.sessions RETURNING id) SELECT count(*) FROM gone;');
      flags('delete-without-where', 'DELETE FROM sessions USING users;');
    });

    it('is silent with a WHERE, on new tables, and in function bodies', () => {
      passes('delete-without-where', 'DELETE FROM sessions WHERE expires_at < now();');
      passes('delete-without-where', 'CREATE TABLE t (id bigint);\nINSERT INTO t VALUES (1);\nDELETE FROM t;');
      passes('delete-without-where', 'CREATE FUNCTION purge() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM sessions; END;');
    });

    it('runs inside DO blocks', () => {
      flags('delete-without-where', 'DO $$ BEGIN DELETE FROM sessions; END $$;');
    });
  });

  describe('update-without-where', () => {
    it('flags UPDATE without WHERE at the table', () => {
      const sql = "UPDATE public.users SET status = 'active';";
      const [f] = flags('update-without-where', sql);
      assert.equal(at(sql, f), 'public.users');
      assert.match(f.message, /rewrites every row of public\.users/);
      assert.match(f.message, /in batches outside the schema migration/);
    });

    it('is silent with a WHERE and on tables created earlier in the section', () => {
      passes('update-without-where', "UPDATE users SET status = 'active' WHERE status IS NULL;");
      passes('update-without-where', "CREATE TABLE t (a int);\nUPDATE t SET a = 1;");
      passes('update-without-where', "-- migrate:up\nCREATE TABLE t (a int);\nUPDATE t SET a = 1;\n");
    });

    it('runs inside DO blocks', () => {
      flags('update-without-where', "DO $$ BEGIN UPDATE users SET status = 'x'; END $$;");
    });
  });

  describe('rename-column', () => {
    it('flags the old column name', () => {
      const sql = 'ALTER TABLE rename RENAME COLUMN rename TO full_name;';
      const [f] = flags('rename-column', sql);
      assert.equal(f.start, sql.indexOf('rename TO'));
      assert.equal(at(sql, f), 'rename');
      assert.equal(f.severity, 'warning');
      assert.match(f.message, /Renaming rename\.rename to full_name breaks the running app version/);
      assert.match(f.message, /Expand\/contract/);
      const short = 'ALTER TABLE IF EXISTS users RENAME "Name" TO name;';
      assert.equal(at(short, flags('rename-column', short)[0]), '"Name"');
    });

    it('is silent on new tables and columns added earlier in the section', () => {
      passes('rename-column', 'CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;');
      passes('rename-column', 'CREATE TABLE t (a int);\nALTER TABLE t RENAME TO u;\nALTER TABLE u RENAME COLUMN a TO b;');
      passes('rename-column', 'ALTER TABLE users ADD COLUMN nick text;\nALTER TABLE users RENAME COLUMN nick TO handle;');
      passes('rename-column', 'ALTER TABLE users RENAME CONSTRAINT a TO b;');
    });

    it('runs inside DO blocks', () => {
      flags('rename-column', 'DO $$ BEGIN ALTER TABLE users RENAME COLUMN a TO b; END $$;');
    });
  });

  describe('rename-table', () => {
    it('flags the old name, with a compatibility-view fix', () => {
      const sql = 'ALTER TABLE users RENAME TO customers;';
      const [f] = flags('rename-table', sql);
      assert.equal(at(sql, f), 'users');
      assert.match(f.message, /Renaming table users to customers breaks the running app version/);
      assert.match(f.message, /CREATE VIEW users AS SELECT \* FROM customers/);
      assert.equal(fixes('rename-table', sql), 'ALTER TABLE users RENAME TO customers;\nCREATE VIEW users AS SELECT * FROM customers;');
    });

    it('fix keeps the schema and quotes the new name when needed', () => {
      assert.equal(
        fixes('rename-table', 'ALTER TABLE billing.users RENAME TO "user"'),
        'ALTER TABLE billing.users RENAME TO "user";\nCREATE VIEW billing.users AS SELECT * FROM billing."user"',
      );
    });

    it('flags views too', () => {
      assert.match(flags('rename-table', 'ALTER VIEW active_users RENAME TO current_users;')[0].message, /Renaming view active_users/);
    });

    it('is silent on new tables and when a view keeps the old name', () => {
      passes('rename-table', 'CREATE TABLE t (id bigint);\nALTER TABLE t RENAME TO u;');
      passes('rename-table', 'ALTER TABLE users RENAME TO customers;\nCREATE VIEW users AS SELECT * FROM customers;');
      passes('rename-table', 'ALTER INDEX users_pkey RENAME TO customers_pkey;');
    });

    it('honours ignore comments', () => {
      passes('rename-table', '-- bulwark-ignore rename-table\nALTER TABLE users RENAME TO customers;');
    });

    it('runs inside DO blocks, and its fix works there', () => {
      const sql = 'DO $$ BEGIN ALTER TABLE users RENAME TO customers; END $$;';
      assert.equal(at(sql, flags('rename-table', sql)[0]), 'users');
      assert.equal(fixes('rename-table', sql), 'DO $$ BEGIN ALTER TABLE users RENAME TO customers;\nCREATE VIEW users AS SELECT * FROM customers; END $$;');
    });
  });

  describe('rename-schema', () => {
    it('flags the old schema name', () => {
      const sql = 'ALTER SCHEMA billing RENAME TO payments;';
      const [f] = flags('rename-schema', sql);
      assert.equal(at(sql, f), 'billing');
      assert.match(f.message, /Renaming schema billing to payments breaks the running app version/);
    });

    it('is silent on a schema created earlier in the section', () => {
      passes('rename-schema', 'CREATE SCHEMA tmp;\nALTER SCHEMA tmp RENAME TO scratch;');
    });

    it('runs inside DO blocks', () => {
      flags('rename-schema', 'DO $$ BEGIN ALTER SCHEMA billing RENAME TO payments; END $$;');
    });
  });

  describe('rename-enum-value', () => {
    it('flags the old value', () => {
      const sql = "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';";
      const [f] = flags('rename-enum-value', sql);
      assert.equal(at(sql, f), "'shipped'");
      assert.match(f.message, /Renaming order_status value 'shipped' to 'dispatched' breaks the running app version/);
      assert.match(f.message, /Add 'dispatched' instead/);
    });

    it('is silent on an enum created earlier in the section and on other ALTER TYPE forms', () => {
      passes('rename-enum-value', "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood RENAME VALUE 'ok' TO 'fine';");
      passes('rename-enum-value', "ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'; ALTER TYPE mood RENAME TO feeling;");
    });

    it('runs inside DO blocks', () => {
      flags('rename-enum-value', "DO $$ BEGIN ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'; END $$;");
    });
  });

  describe('adding-required-field', () => {
    it('flags ADD COLUMN … NOT NULL without DEFAULT at NOT NULL', () => {
      const sql = 'ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;';
      const [f] = flags('adding-required-field', sql);
      assert.equal(at(sql, f), 'NOT NULL');
      assert.equal(f.severity, 'error');
      assert.match(f.message, /Adding users\.tenant_id as NOT NULL without a DEFAULT fails on any non-empty table/);
      assert.match(f.message, /Add it nullable/);
    });

    it('flags DEFAULT NULL, named NOT NULL constraints and new primary-key columns', () => {
      flags('adding-required-field', 'ALTER TABLE users ADD COLUMN a int DEFAULT NULL NOT NULL;');
      const named = 'ALTER TABLE users ADD COLUMN a int CONSTRAINT a_nn NOT NULL CHECK (a > 0);';
      assert.equal(at(named, flags('adding-required-field', named)[0]), 'CONSTRAINT a_nn NOT NULL');
      const pk = 'ALTER TABLE users ADD COLUMN uid uuid PRIMARY KEY;';
      const [f] = flags('adding-required-field', pk);
      assert.equal(at(pk, f), 'PRIMARY KEY');
      assert.deepEqual(f.fixes, undefined);
    });

    it('is silent with a DEFAULT, on generated/identity/serial columns, and on new tables', () => {
      passes('adding-required-field', "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';");
      passes('adding-required-field', 'ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;');
      passes('adding-required-field', 'ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS (id * 2) STORED NOT NULL;');
      passes('adding-required-field', 'ALTER TABLE users ADD COLUMN n bigserial NOT NULL;');
      passes('adding-required-field', 'ALTER TABLE users ADD COLUMN note text;');
      passes('adding-required-field', 'CREATE TABLE t (id bigint);\nALTER TABLE t ADD COLUMN a int NOT NULL;');
      passes('adding-required-field', 'CREATE TABLE t (id bigint, a int NOT NULL);');
    });

    it('fix: adds the column nullable', () => {
      assert.equal(fixes('adding-required-field', 'ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;'), 'ALTER TABLE users ADD COLUMN tenant_id bigint;');
      assert.equal(
        fixes('adding-required-field', 'ALTER TABLE users ADD COLUMN a int CONSTRAINT a_nn NOT NULL CHECK (a > 0), ADD COLUMN b int;'),
        'ALTER TABLE users ADD COLUMN a int CHECK (a > 0), ADD COLUMN b int;',
      );
    });

    it('runs inside DO blocks', () => {
      const sql = 'DO $$ BEGIN ALTER TABLE users ADD COLUMN a int NOT NULL; END $$;';
      assert.equal(at(sql, flags('adding-required-field', sql)[0]), 'NOT NULL');
      assert.equal(fixes('adding-required-field', sql), 'DO $$ BEGIN ALTER TABLE users ADD COLUMN a int; END $$;');
    });
  });

  describe('prefer-jsonb', () => {
    it('flags json columns in CREATE TABLE, ADD COLUMN and ALTER COLUMN TYPE', () => {
      const sql = 'CREATE TABLE events (id bigint, payload json, tags json[], meta pg_catalog.json);';
      const f = flags('prefer-jsonb', sql, {}, 3);
      assert.deepEqual(f.map((x) => at(sql, x)), ['json', 'json[]', 'pg_catalog.json']);
      assert.equal(f[0].severity, 'warning');
      assert.match(f[0].message, /events\.payload is json: it has no equality operator/);
      assert.match(f[0].message, /Use jsonb/);
      flags('prefer-jsonb', 'ALTER TABLE events ADD COLUMN extra JSON;');
      flags('prefer-jsonb', 'ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json;');
    });

    it('fires on new tables too (the type choice is the point)', () => {
      flags('prefer-jsonb', 'CREATE TABLE t (a json);\nALTER TABLE t ADD COLUMN b int;');
    });

    it('is silent on jsonb, json casts and user types named json in other schemas', () => {
      passes('prefer-jsonb', "CREATE TABLE t (a jsonb, b public.json, c text DEFAULT '{}'::json::text);");
      passes('prefer-jsonb', "SELECT '{}'::json;");
    });

    it('fix: replaces the type name only', () => {
      assert.equal(fixes('prefer-jsonb', 'CREATE TABLE t (a json[] NOT NULL);'), 'CREATE TABLE t (a jsonb[] NOT NULL);');
      assert.equal(fixes('prefer-jsonb', 'CREATE TABLE t (a pg_catalog.json);'), 'CREATE TABLE t (a pg_catalog.jsonb);');
      assert.equal(fixes('prefer-jsonb', 'CREATE TABLE t (a "json");'), 'CREATE TABLE t (a jsonb);');
      assert.equal(
        fixes('prefer-jsonb', 'ALTER TABLE t ALTER COLUMN a TYPE json USING a::json;'),
        'ALTER TABLE t ALTER COLUMN a TYPE jsonb USING a::json;',
      );
    });

    it('runs inside DO blocks', () => {
      const sql = 'DO $$ BEGIN ALTER TABLE t ADD COLUMN x json; END $$;';
      assert.equal(fixes('prefer-jsonb', sql), 'DO $$ BEGIN ALTER TABLE t ADD COLUMN x jsonb; END $$;');
    });
  });

  describe('enum-value-without-position', () => {
    it('flags ADD VALUE without BEFORE/AFTER at the value', () => {
      const sql = "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled';";
      const [f] = flags('enum-value-without-position', sql);
      assert.equal(at(sql, f), "'cancelled'");
      assert.equal(f.severity, 'info');
      assert.match(f.message, /appended at the end of order_status/);
      assert.match(f.message, /BEFORE/);
      assert.doesNotMatch(f.message, /cannot run inside a transaction block/);
    });

    it('mentions the transaction-block restriction before PostgreSQL 12', () => {
      const sql = "ALTER TYPE order_status ADD VALUE 'cancelled';";
      assert.match(flags('enum-value-without-position', sql, { pgVersion: 11 })[0].message, /cannot run inside a transaction block/);
      assert.doesNotMatch(flags('enum-value-without-position', `-- migrate:up transaction:false\n${sql}\n`, { pgVersion: 11 })[0].message, /cannot run inside/);
    });

    it('is silent with BEFORE or AFTER', () => {
      passes('enum-value-without-position', "ALTER TYPE order_status ADD VALUE 'cancelled' AFTER 'pending';");
      passes('enum-value-without-position', "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'draft' BEFORE 'pending';");
      passes('enum-value-without-position', "ALTER TYPE order_status RENAME VALUE 'a' TO 'b';");
    });

    it('runs inside DO blocks', () => {
      flags('enum-value-without-position', "DO $$ BEGIN ALTER TYPE order_status ADD VALUE 'x'; END $$;");
    });
  });

  describe('documentation', () => {
    const ids = ['ban-drop-table', 'ban-drop-column', 'ban-drop-schema', 'ban-drop-database', 'ban-truncate', 'ban-truncate-cascade', 'delete-without-where', 'update-without-where', 'rename-column', 'rename-table', 'rename-schema', 'rename-enum-value', 'adding-required-field', 'prefer-jsonb', 'enum-value-without-position'];
    it('every rule is registered, embedded, documented, and its bad/good examples behave', () => {
      for (const id of ids) {
        const rule = ALL_RULES.find((r) => r.id === id);
        assert.ok(rule, id);
        assert.equal(rule.category, 'data-loss');
        assert.equal(rule.embedded, true, id);
        assert.ok(rule.summary && rule.details && rule.bad && rule.good, id);
        assert.ok(findingsOf(id, rule.bad).length > 0, `${id}: bad example not flagged`);
        passes(id, rule.good);
      }
    });
  });

  describe('robustness', () => {
    it('never crashes on odd statements', () => {
      const sql = [
        'DROP TABLE;',
        "ALTER TABLE t ADD COLUMN é int NOT NULL, ADD COLUMN \"a\"\"b\" json;",
        "DO $x$ BEGIN EXECUTE 'DROP TABLE t'; END $x$;",
        "DO LANGUAGE sql 'DELETE FROM t';",
        'ALTER TABLE ONLY "ünïcödé" DROP COLUMN "ü";',
        'UPDATE t SET a = $1;',
        'TRUNCATE;',
      ].join('\n');
      assert.deepEqual(findingsOf('internal-error', sql), []);
      const f = findingsOf('ban-drop-column', sql);
      assert.deepEqual(f.map((x) => at(sql, x)), ['"ü"']);
    });
  });
});
