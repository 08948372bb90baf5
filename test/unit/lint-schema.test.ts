import { strict as assert } from 'node:assert';
import { at, fixes, flags, passes, useParser } from '../helpers/lint';

describe('domain, DROP NOT NULL, statement_timeout and schema rules', () => {
  useParser();

  it('ban-create-domain-with-constraint', () => {
    const sql = 'CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);';
    const [f] = flags('ban-create-domain-with-constraint', sql);
    assert.equal(at(sql, f), 'CHECK');
    assert.match(f.message, /re-checks every column of this type/);
    passes('ban-create-domain-with-constraint', 'CREATE DOMAIN positive_int AS int NOT NULL;');
    flags('ban-create-domain-with-constraint', 'DO $$ BEGIN CREATE DOMAIN d AS int CHECK (VALUE > 0); END $$;');
  });

  it('ban-alter-domain-with-add-constraint, with a NOT VALID fix', () => {
    const sql = 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0);';
    const [f] = flags('ban-alter-domain-with-add-constraint', sql);
    assert.equal(at(sql, f), 'ADD');
    assert.match(fixes('ban-alter-domain-with-add-constraint', sql), /CHECK \(VALUE > 0\) NOT VALID;$/);
    passes('ban-alter-domain-with-add-constraint', 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID;');
    passes('ban-alter-domain-with-add-constraint', 'ALTER DOMAIN positive_int SET NOT NULL;');
  });

  it('ban-drop-not-null', () => {
    const sql = 'ALTER TABLE users ALTER COLUMN email DROP NOT NULL;';
    const [f] = flags('ban-drop-not-null', sql);
    assert.equal(at(sql, f), 'DROP NOT NULL');
    assert.equal(f.severity, 'info');
    passes('ban-drop-not-null', 'CREATE TABLE IF NOT EXISTS users (email text NOT NULL);\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;');
    passes('ban-drop-not-null', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;');
  });

  it('require-statement-timeout (opt-in): once per section, silenced by SET statement_timeout', () => {
    const on = { rules: { 'require-statement-timeout': 'warning' as const } };
    const sql = '-- migrate:up\nALTER TABLE users ADD COLUMN IF NOT EXISTS age int;\nUPDATE users SET age = 1 WHERE age IS NULL;\n';
    passes('require-statement-timeout', sql);
    const [f] = flags('require-statement-timeout', sql, on);
    assert.ok(f.start === sql.indexOf('ALTER TABLE'));
    const fixed = fixes('require-statement-timeout', sql, on);
    assert.match(fixed, /SET LOCAL statement_timeout = '30s';\nALTER TABLE/);
    passes('require-statement-timeout', "-- migrate:up\nSET statement_timeout = '1min';\nALTER TABLE users ADD COLUMN IF NOT EXISTS age int;\n", on);
    passes('require-statement-timeout', '-- migrate:up\nCREATE TABLE IF NOT EXISTS t (id int);\nALTER TABLE t ADD COLUMN IF NOT EXISTS c int;\n', on);
  });

  it('require-table-schema (opt-in)', () => {
    const on = { rules: { 'require-table-schema': 'warning' as const } };
    const sql = 'CREATE TABLE IF NOT EXISTS users (id bigint);';
    passes('require-table-schema', sql);
    const [f] = flags('require-table-schema', sql, on);
    assert.equal(at(sql, f), 'users');
    passes('require-table-schema', 'CREATE TABLE IF NOT EXISTS public.users (id bigint);', on);
    passes('require-table-schema', 'CREATE TEMP TABLE scratch (id bigint);', on);
  });
});
