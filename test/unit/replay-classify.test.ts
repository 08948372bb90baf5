import { strict as assert } from 'node:assert';
import { collapseSql, diff, Fingerprint, OBJECT_KINDS } from '../../src/core/db/fingerprint';
import { environmentReason, shadowSkipReason } from '../../src/core/engine/replay';
import { splitStatements } from '../../src/core/sql/split';

const kw = (sql: string) => splitStatements(sql).statements[0].keywords;

describe('replay: what a shadow does not run', () => {
  it('never runs statements that act on the whole server or outside the database', () => {
    for (const sql of [
      'CREATE ROLE app', 'create user app', 'ALTER ROLE app SET search_path = x', 'DROP ROLE IF EXISTS app', 'CREATE GROUP g',
      "CREATE TABLESPACE t LOCATION '/x'", 'CREATE DATABASE other', 'ALTER DATABASE app SET timezone = UTC', 'ALTER SYSTEM SET work_mem = 1',
      "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", 'IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y', "SECURITY LABEL ON TABLE t IS 'x'",
      'SET ROLE app', 'SET LOCAL ROLE app', 'RESET ROLE', 'SET SESSION AUTHORIZATION app', 'GRANT app TO bob', 'REVOKE app FROM bob',
      'GRANT CONNECT ON DATABASE app TO bob', 'GRANT CREATE ON TABLESPACE t TO bob', "COMMENT ON DATABASE app IS 'x'", "COMMENT ON ROLE app IS 'x'",
      "COPY t FROM PROGRAM 'cat /etc/passwd'",
    ]) {
      assert.ok(shadowSkipReason(sql, kw(sql)), sql);
    }
  });

  it('runs everything else, FDW user mappings and grants on objects included', () => {
    for (const sql of [
      'CREATE TABLE t (id int)', 'CREATE USER MAPPING FOR CURRENT_USER SERVER s', 'DROP USER MAPPING FOR bob SERVER s',
      'GRANT SELECT ON t TO bob', "GRANT SELECT ON TABLE \"database\" TO bob", 'REVOKE ALL ON SCHEMA s FROM PUBLIC', 'ALTER TABLE t OWNER TO bob',
      'SET search_path = app', "COMMENT ON TABLE t IS 'role'", "COPY t FROM '/tmp/x'", "SELECT 'CREATE ROLE x'",
    ]) {
      assert.equal(shadowSkipReason(sql, kw(sql)), undefined, sql);
    }
  });

  it('tells a missing role, file, privilege or extension from a real error', () => {
    const e = (code: string, message: string) => ({ code, message });
    assert.match(environmentReason(e('42704', 'role "x" does not exist'), kw('ALTER TABLE t OWNER TO x'))!, /role "x" does not exist on the shadow/);
    assert.equal(environmentReason(e('42704', 'type "geometry" does not exist'), kw('CREATE TABLE t (g geometry)')), undefined);
    assert.match(environmentReason(e('0A000', 'extension "postgis" is not available'), kw('CREATE EXTENSION postgis'))!, /not available on the shadow/);
    assert.match(environmentReason(e('58P01', 'could not open extension control file'), kw('CREATE EXTENSION postgis'))!, /missing on the shadow/);
    // A real "not supported" (a column used by a view cannot change type) is a failure.
    assert.equal(environmentReason(e('0A000', 'cannot alter type of a column used by a view or rule'), kw('ALTER TABLE t ALTER COLUMN a TYPE int')), undefined);
    assert.equal(environmentReason(e('42703', 'column "x" does not exist'), kw('SELECT x FROM t')), undefined);
    // In another language, by the statement.
    const sql = 'ALTER TABLE t OWNER TO x';
    assert.ok(environmentReason(e('42704', 'el rol «x» no existe'), kw(sql), sql));
    assert.equal(environmentReason(e('42704', 'el tipo «g» no existe'), kw('CREATE TABLE t (a g)'), 'CREATE TABLE t (a g)'), undefined);
  });
});

describe('fingerprint helpers', () => {
  it('normalises the layout of deparsed SQL, and column qualifiers when told the schemas', () => {
    assert.equal(collapseSql(' SELECT  a,\n   b\n FROM ( x ) '), 'SELECT a, b FROM (x)');
    assert.equal(collapseSql("SELECT 'a   b', \"c  d\"  FROM t"), "SELECT 'a   b', \"c  d\" FROM t");
    const schemas = new Set(['public', 'app', 'pg_catalog']);
    assert.equal(
      collapseSql('SELECT users.id, u.email, "Weird"."Col" FROM public.users u JOIN app.orders o ON o.uid = u.id', schemas),
      'SELECT id, email, "Col" FROM public.users u JOIN app.orders o ON uid = id',
    );
    assert.equal(collapseSql('SELECT 1.5, (x).f FROM t', schemas), 'SELECT 1.5, (x).f FROM t');
  });

  it('says what differs in words, without repeating the objects of a missing table', () => {
    const empty = (): Fingerprint['objects'] => Object.fromEntries(OBJECT_KINDS.map((k) => [k, {}])) as Fingerprint['objects'];
    const a: Fingerprint = { format: 1, hash: 'a', objects: empty() };
    const b: Fingerprint = { format: 1, hash: 'b', objects: empty() };
    a.objects.tables['public.t'] = { kind: 'table' };
    a.objects.columns['public.t.id'] = { table: 'public.t', type: 'integer', notNull: false };
    a.objects.indexes['public.t_idx'] = { table: 'public.t', definition: 'CREATE INDEX ON public.t USING btree (id)' };
    a.objects.tables['public.constructor'] = { kind: 'table' };
    b.objects.tables['public.constructor'] = { kind: 'table' };
    a.objects.functions['public.f()'] = { kind: 'function', body: 'x'.repeat(100) };
    b.objects.functions['public.f()'] = { kind: 'function', body: 'y'.repeat(100) };
    b.objects.types['app.mood'] = { kind: 'enum', labels: ['a'] };
    assert.deepEqual(diff(a, b, { expected: 'before up', actual: 'after down' }).map((d) => d.message), [
      'enum type app.mood exists after down but not before up',
      'table t is missing after down',
      'function f(): body differs (before up → after down)',
    ]);
    assert.deepEqual(diff(a, a), []);
  });
});
