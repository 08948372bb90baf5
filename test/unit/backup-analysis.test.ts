import { strict as assert } from 'node:assert';
import { touchedRelations } from '../../src/core';
import { parseMigration } from '../../src/core/migrations/parse';
import { sectionStatements } from '../../src/core/engine/statements';
import { useParser } from '../helpers/lint';

/** Which tables a backup must hold the rows of, read from the migrations' SQL. */
describe('backup: the tables a migration changes', () => {
  useParser();
  const analyse = async (up: string) => {
    const m = parseMigration(`-- migrate:up\n${up}\n`, '/m/20260101000000_x.sql', '20260101000000_x.sql');
    return touchedRelations([{ migration: m, direction: 'up', statements: sectionStatements(m, m.up, 'up') }]);
  };

  it('names the targets of DDL and DML that can change or lose rows, as written', async () => {
    const r = await analyse(`ALTER TABLE app.users DROP COLUMN email;
DROP TABLE IF EXISTS old_logs, "Mixed Case";
TRUNCATE sessions, app.tokens;
UPDATE accounts SET plan = 'free';
DELETE FROM audit_tmp WHERE true;
INSERT INTO seeds VALUES (1) ON CONFLICT DO NOTHING;
MERGE INTO stock s USING incoming i ON s.id = i.id WHEN MATCHED THEN UPDATE SET n = i.n;
COPY imported FROM '/srv/import.csv' (FORMAT csv);
COPY exported TO STDOUT;
CREATE TABLE fresh (id int);
CREATE INDEX CONCURRENTLY fresh_id ON fresh (id);
ALTER TABLE accounts RENAME TO customers;
DROP SCHEMA legacy CASCADE;`);
    assert.deepEqual(r.names, [['app', 'users'], ['old_logs'], ['Mixed Case'], ['sessions'], ['app', 'tokens'], ['accounts'], ['audit_tmp'], ['seeds'], ['stock'], ['imported']]);
    assert.deepEqual(r.schemas, ['legacy']);
    assert.deepEqual(r.opaque, []);
  });

  it('says which statements it cannot see through, with their lines', async () => {
    const r = await analyse(`SELECT set_config('lock_timeout', '2s', true);
DO $$ BEGIN DELETE FROM t; END $$;
SELECT backfill_accounts(1000);
CALL archive_old();
DROP TYPE mood CASCADE;
DROP TYPE IF EXISTS other;`);
    assert.deepEqual(r.opaque.map((x) => [x.line, x.what]), [
      [3, 'a DO block'],
      [4, 'SELECT calling backfill_accounts()'],
      [5, 'a CALL'],
      [6, 'DROP … CASCADE of a type (may drop columns of tables that use it)'],
    ]);
    assert.deepEqual(r.names, []);
  });
});
