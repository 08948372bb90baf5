import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { Db, diffFingerprints, fingerprint, Migration, MigrationReplay, openEmbedded, replay, ReplayResult, serverShadow } from '../../src/core';
import { connectPg } from '../../src/core/db/pg';
import { ADMIN_URL, createTestDb, TestDb } from '../helpers/db';
import { makeWorkspace, migration, runCli, Workspace } from '../helpers/workspace';

/**
 * `bulwark verify --replay`: every migration's up, down and up again on an empty shadow database, with
 * the schema fingerprinted around each step. Shadows here are throwaway databases on the test server
 * (the `--shadow-url` path) and, where noted, the embedded PostgreSQL (PGlite, PostgreSQL 18).
 */

/** 1-based line and column of the first `needle` in `text`. */
function posOf(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, `${needle} not in the fixture`);
  const before = text.slice(0, i);
  return { line: before.split('\n').length, column: i - (before.lastIndexOf('\n') + 1) + 1 };
}

async function shadowDatabases(): Promise<string[]> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return (await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'bulwark\\_shadow\\_%'")).rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}

async function roleExists(name: string): Promise<boolean> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
  } finally {
    await c.end();
  }
}

const server = serverShadow(ADMIN_URL, { applicationName: 'bulwark-test replay' });

const embeddedShadow = () => openEmbedded(undefined);

const byName = (r: ReplayResult, name: string): MigrationReplay => {
  const m = r.migrations.find((x) => x.name === name);
  assert.ok(m, `no result for ${name}`);
  return m;
};

describe('replay on a shadow database', function () {
  this.timeout(60000);
  let ws: Workspace;
  let leftBefore: string[];

  beforeEach(async () => {
    ws = makeWorkspace();
    leftBefore = await shadowDatabases();
  });
  afterEach(async () => {
    ws.cleanup();
    // Every shadow (the rebuilt ones too) is dropped.
    assert.deepEqual((await shadowDatabases()).filter((d) => !leftBefore.includes(d)), []);
  });

  const migrations = (): Migration[] => {
    const set = ws.engine({}).migrations();
    assert.deepEqual(set.errors, []);
    return set.migrations;
  };

  const CHAIN: Record<string, string> = {
    '20260101000000_users.sql': migration(
      "CREATE TYPE mood AS ENUM ('sad', 'happy');\nCREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, m mood DEFAULT 'happy');\nCOMMENT ON TABLE users IS 'people';",
      'DROP TABLE users;\nDROP TYPE mood;',
    ),
    '20260102000000_email_index.sql': migration(
      'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
      'DROP INDEX CONCURRENTLY users_email_idx;',
      { upOptions: 'transaction:false', downOptions: 'transaction:false' },
    ),
    '20260103000000_audit.sql': migration(
      [
        'CREATE TABLE audit (id int GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL DEFAULT now(), who bigint REFERENCES users (id));',
        'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$;',
        'CREATE TRIGGER audit_touch BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION touch();',
        'CREATE VIEW recent AS SELECT a.id, u.email FROM audit a JOIN users u ON u.id = a.who;',
        "ALTER TYPE mood ADD VALUE 'meh';",
      ].join('\n'),
      'DROP VIEW recent;\nDROP TABLE audit;\nDROP FUNCTION touch();',
    ),
    '20260104000000_seed.sql': migration("INSERT INTO users (email) VALUES ('a@example.com');"),
  };

  it('passes on a correct chain: every up, down and up again (transaction:false sections too)', async () => {
    // The enum value added by 20260103 cannot be removed by a down: that migration's down leaves it, so
    // its round trip must show exactly that and nothing else.
    for (const [f, c] of Object.entries(CHAIN)) ws.write(f, c);
    const r = await replay(migrations(), server.open);
    assert.deepEqual(r.migrations.map((m) => [m.name, m.status]), [
      ['users', 'replayed'], ['email_index', 'replayed'], ['audit', 'down-mismatch'], ['seed', 'replayed'],
    ]);
    const audit = byName(r, 'audit');
    assert.deepEqual(audit.problems.map((p) => p.kind), ['down-mismatch', 'reup-failed']);
    assert.deepEqual(audit.problems[0].differences!.map((d) => d.message), ['enum type mood: labels [sad, happy] → [sad, happy, meh] (before up → after down)']);
    // …and so the up cannot add it again.
    assert.match(audit.problems[1].message, /enum label "meh" already exists/);
    assert.equal(byName(r, 'seed').reversible, false);
    assert.equal(r.ok, false);

    // Without the enum change the chain is clean.
    ws.write('20260103000000_audit.sql', CHAIN['20260103000000_audit.sql'].replace("ALTER TYPE mood ADD VALUE 'meh';\n", ''));
    const ok = await replay(migrations(), server.open);
    assert.deepEqual(ok.migrations.map((m) => m.status), ['replayed', 'replayed', 'replayed', 'replayed']);
    assert.equal(ok.ok, true);
    assert.deepEqual(ok.summary, {
      total: 4, replayed: 4, 'replayed-with-skips': 0, failed: 0, 'not-replayed': 0, 'down-mismatch': 0, 'down-failed': 0, 'reup-failed': 0,
      irreversible: 1, skippedStatements: 0,
    });
    assert.match(ok.finalFingerprint!, /^[0-9a-f]{64}$/);
  });

  it('locates the first failing up exactly (file, line, column) and replays nothing after it', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;'));
    const bad = migration('CREATE TABLE b (id int);\nINSERT INTO b (id, nope) VALUES (1, 2);', 'DROP TABLE b;');
    const file = ws.write('20260102000000_b.sql', bad);
    ws.write('20260103000000_c.sql', migration('CREATE TABLE c (id int);', 'DROP TABLE c;'));
    ws.write('20260104000000_d.sql', migration('CREATE TABLE d (id int);'));
    const r = await replay(migrations(), server.open);
    assert.equal(r.ok, false);
    assert.deepEqual(r.migrations.map((m) => m.status), ['replayed', 'failed', 'not-replayed', 'not-replayed']);
    const p = byName(r, 'b').problems[0];
    assert.deepEqual({ kind: p.kind, file: p.file, ...posOf(bad, 'nope'), code: p.code }, { kind: 'up-failed', file, line: p.line, column: p.column, code: '42703' });
    assert.deepEqual([p.line, p.column], [3, 20]);
    assert.match(p.message, /column "nope" of relation "b" does not exist/);
    assert.equal(byName(r, 'c').reason, 'not replayed: 20260102000000_b failed before it');
    assert.equal(r.summary['not-replayed'], 2);
  });

  it('reports a lossy down with the exact difference, and goes on with the next migrations', async () => {
    ws.write('20260101000000_users.sql', migration('CREATE TABLE users (id int PRIMARY KEY, email text);', 'DROP TABLE users;'));
    const lossy = migration('ALTER TABLE users ADD COLUMN nickname text;\nCREATE INDEX users_email_idx ON users (email);', 'ALTER TABLE users DROP COLUMN nickname;');
    const file = ws.write('20260102000000_nickname.sql', lossy);
    ws.write('20260103000000_next.sql', migration('CREATE TABLE next (id int);', 'DROP TABLE next;'));
    const r = await replay(migrations(), server.open);
    const m = byName(r, 'nickname');
    assert.equal(m.status, 'down-mismatch');
    assert.deepEqual(m.problems.map((p) => p.kind), ['down-mismatch', 'reup-failed']);
    const mismatch = m.problems[0];
    assert.deepEqual([mismatch.file, mismatch.line, mismatch.column], [file, posOf(lossy, '-- migrate:down').line, 1]);
    assert.deepEqual(mismatch.differences!.map((d) => ({ kind: d.kind, name: d.name, change: d.change, message: d.message })), [
      { kind: 'indexes', name: 'public.users_email_idx', change: 'unexpected', message: 'index users_email_idx exists after down but not before up' },
    ]);
    // The index left behind also makes the up fail when it runs again, at the CREATE INDEX.
    const reup = m.problems[1];
    assert.equal(reup.code, '42P07');
    assert.deepEqual([reup.line, reup.column], [posOf(lossy, 'CREATE INDEX').line, 1]);
    assert.match(reup.message, /cannot run again after the down section: relation "users_email_idx" already exists/);
    // A fresh shadow was rebuilt, so the next migration is replayed normally.
    assert.equal(byName(r, 'next').status, 'replayed');
    assert.equal(r.ok, false);
  });

  it('reports a wrong down: the object it should drop remains, one that existed before is gone, a type differs', async () => {
    ws.write('20260101000000_users.sql', migration('CREATE TABLE users (id int PRIMARY KEY, email varchar(200));\nCREATE INDEX users_id_email ON users (id, email);', 'DROP TABLE users;'));
    ws.write('20260102000000_posts.sql', migration('CREATE TABLE posts (id int);', 'DROP INDEX users_id_email;'));
    ws.write('20260103000000_shorter.sql', migration('ALTER TABLE users ALTER COLUMN email TYPE varchar(100);', 'ALTER TABLE users ALTER COLUMN email TYPE varchar(150);'));
    const r = await replay(migrations(), server.open);
    assert.deepEqual(r.migrations.map((m) => m.status), ['replayed', 'down-mismatch', 'down-mismatch']);
    assert.deepEqual(byName(r, 'posts').problems[0].differences!.map((d) => d.message), [
      'table posts exists after down but not before up',
      'index users_id_email is missing after down',
    ]);
    // (only the table is listed, not its columns)
    assert.deepEqual(byName(r, 'shorter').problems[0].differences!.map((d) => d.message), [
      'column users.email: type character varying(200) → character varying(150) (before up → after down)',
    ]);
  });

  it('reports an up that cannot run again after its down', async () => {
    ws.write('20260101000000_settings.sql', migration('CREATE TABLE settings (key text PRIMARY KEY, value text);', 'DROP TABLE settings;'));
    // The down undoes the schema but not the row: the second up hits the primary key.
    const up = "CREATE TABLE feature_x (id int);\nINSERT INTO settings (key, value) VALUES ('feature_x', 'on');";
    const text = migration(up, 'DROP TABLE feature_x;');
    const file = ws.write('20260102000000_feature.sql', text);
    const r = await replay(migrations(), server.open);
    const m = byName(r, 'feature');
    assert.equal(m.status, 'reup-failed');
    assert.deepEqual(m.problems.map((p) => [p.kind, p.code, p.file, p.line, p.column]), [['reup-failed', '23505', file, posOf(text, 'INSERT').line, 1]]);
    assert.match(m.problems[0].message, /^the up section cannot run again after the down section: duplicate key value/);
    assert.equal(r.ok, false);
  });

  it('reports a failing down and goes on', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;\nDROP TABLE not_there;'));
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);', 'DROP TABLE b;'));
    const r = await replay(migrations(), server.open);
    assert.deepEqual(r.migrations.map((m) => m.status), ['down-failed', 'replayed']);
    const p = byName(r, 'a').problems[0];
    assert.equal(p.code, '42P01');
    assert.equal(p.line, 5);
    assert.match(p.message, /^the down section fails: table "not_there" does not exist/);
  });

  it('skips what a shadow cannot run, with the reason, and never reports it as a failure', async () => {
    const up = [
      'CREATE ROLE bulwark_replay_test_role;',
      'CREATE TABLE t (id int);',
      'ALTER TABLE t OWNER TO bulwark_missing_owner;',
      'GRANT SELECT ON t TO bulwark_replay_test_role;',
      'CREATE EXTENSION IF NOT EXISTS bulwark_no_such_extension;',
      'CREATE TABLE u (id int DEFAULT bulwark_ext_fn());',
      'CREATE TABLE v (id int);',
    ].join('\n');
    const text = migration(up, 'DROP TABLE v;\nDROP TABLE IF EXISTS u;\nDROP TABLE t;\nDROP EXTENSION bulwark_no_such_extension;\nDROP ROLE bulwark_replay_test_role;');
    const file = ws.write('20260101000000_roles.sql', text);
    const r = await replay(migrations(), server.open);
    const m = r.migrations[0];
    assert.equal(m.status, 'replayed-with-skips');
    assert.deepEqual(m.problems, []);
    assert.equal(r.ok, true);
    const upSkips = m.skipped.filter((s) => s.phase === 'up');
    assert.deepEqual(upSkips.map((s) => [s.line, s.file]), [
      [posOf(text, 'CREATE ROLE').line, file], [posOf(text, 'ALTER TABLE t OWNER').line, file], [posOf(text, 'GRANT').line, file],
      [posOf(text, 'CREATE EXTENSION').line, file], [posOf(text, 'CREATE TABLE u').line, file],
    ]);
    assert.match(upSkips[0].reason, /roles belong to the whole server/);
    assert.match(upSkips[1].reason, /role "bulwark_missing_owner" does not exist on the shadow/);
    assert.equal(upSkips[1].code, '42704');
    assert.match(upSkips[2].reason, /role "bulwark_replay_test_role" does not exist/);
    assert.match(upSkips[3].reason, /bulwark_no_such_extension/);
    // It fails only because the extension was not created: "could not verify", pointing at it.
    assert.ok(upSkips[4].reason.startsWith(`could not verify: it fails without the statement skipped at 20260101000000_roles.sql:${posOf(text, 'CREATE EXTENSION').line}:1 (function bulwark_ext_fn() does not exist)`), upSkips[4].reason);
    assert.deepEqual(upSkips[4].dependsOn, { file, line: posOf(text, 'CREATE EXTENSION').line, column: 1 });
    // The statements after the skipped ones ran (a savepoint per statement), and the down's DROP EXTENSION is skipped too.
    assert.ok(m.skipped.some((s) => s.phase === 'down' && /could not verify/.test(s.reason) && s.statement.startsWith('DROP EXTENSION')));
    assert.ok(m.skipped.some((s) => s.phase === 'down' && s.statement.startsWith('DROP ROLE')));
    // Nothing happened on the server outside the shadow database.
    assert.equal(await roleExists('bulwark_replay_test_role'), false);
  });

  it('a real error after a skipped statement is still a failure', async () => {
    const text = migration('CREATE EXTENSION IF NOT EXISTS bulwark_no_such_extension;\nCREATE TABLE t (id int);\nINSERT INTO t (nope) VALUES (1);', 'DROP TABLE t;');
    ws.write('20260101000000_typo.sql', text);
    const r = await replay(migrations(), server.open);
    assert.equal(r.migrations[0].status, 'failed');
    assert.deepEqual([r.migrations[0].problems[0].line, r.migrations[0].problems[0].column], [posOf(text, 'nope').line, posOf(text, 'nope').column]);
  });

  it('stops at once when cancelled: nothing is replayed and the shadow is dropped', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;'));
    ws.write('20260102000000_b.sql', migration('CREATE TABLE b (id int);', 'DROP TABLE b;'));
    const c = new AbortController();
    c.abort();
    const r = await replay(migrations(), server.open, { signal: c.signal });
    assert.equal(r.cancelled, true);
    assert.equal(r.ok, false);
    assert.deepEqual(r.migrations.map((m) => [m.status, m.reason]), [['not-replayed', 'cancelled'], ['not-replayed', 'not replayed: the replay was cancelled']]);
  });

  it('runs on the embedded PostgreSQL too, with the same results', async function () {
    this.timeout(120000);
    for (const [f, c] of Object.entries(CHAIN)) ws.write(f, c);
    ws.write('20260105000000_roles.sql', migration('CREATE ROLE x;\nALTER TABLE users OWNER TO bulwark_missing_owner;\nCREATE EXTENSION bulwark_no_such_extension;\nCREATE TABLE z (id int);', 'DROP TABLE z;'));
    const [e, s] = [await replay(migrations(), embeddedShadow), await replay(migrations(), server.open)];
    assert.deepEqual(e.migrations.map((m) => m.status), ['replayed', 'replayed', 'down-mismatch', 'replayed', 'replayed-with-skips']);
    assert.deepEqual(e.migrations.map((m) => m.status), s.migrations.map((m) => m.status));
    assert.deepEqual(e.migrations.map((m) => m.problems.map((p) => p.differences?.map((d) => d.message))), s.migrations.map((m) => m.problems.map((p) => p.differences?.map((d) => d.message))));
    assert.deepEqual(byName(e, 'roles').skipped.map((k) => [k.phase, k.line]), byName(s, 'roles').skipped.map((k) => [k.phase, k.line]));
    assert.ok(e.shadowServerVersion! >= 170000);
    assert.equal(e.finalFingerprint, s.finalFingerprint);
  });
});

/** A schema that exercises every kind the fingerprint describes. */
const RICH_SCHEMA = `
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'the app';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE app.pair AS (a int, b text);
CREATE DOMAIN posint AS integer DEFAULT 1 NOT NULL CHECK (VALUE > 0);
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TABLE users (
  id bigserial PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, name text COLLATE "C", m mood DEFAULT 'ok', n posint,
  created_at timestamptz NOT NULL DEFAULT now(), born date DEFAULT '2000-01-01', score numeric(10,2) CHECK (score > 0),
  ratio float8 DEFAULT 0.1, up text GENERATED ALWAYS AS (upper(name)) STORED, tags text[] DEFAULT '{}',
  doc jsonb DEFAULT '{"a": 1}'::jsonb, iv interval DEFAULT '1 day 02:00:00'
);
COMMENT ON TABLE users IS 'people';
COMMENT ON COLUMN users.email IS 'their email';
CREATE TABLE app.orders (
  id int GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5) PRIMARY KEY,
  user_id bigint REFERENCES users(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  total numeric NOT NULL DEFAULT 0, status text,
  CONSTRAINT total_pos CHECK (total >= 0),
  EXCLUDE USING btree (status WITH =) WHERE (status = 'open')
) WITH (fillfactor = 70);
ALTER TABLE app.orders ADD CONSTRAINT total_small CHECK (total < 1000000) NOT VALID;
CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v text);
CREATE INDEX users_lower_email ON users (lower(email)) WHERE name IS NOT NULL;
CREATE UNIQUE INDEX ON app.orders (user_id, status) INCLUDE (total);
CREATE INDEX ON users USING gin (tags);
CREATE INDEX users_nd ON users (email) NULLS NOT DISTINCT;
CREATE TABLE events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_def PARTITION OF events DEFAULT;
CREATE INDEX ON events (at);
ALTER TABLE events ADD PRIMARY KEY (id, at);
CREATE TABLE parent_t (a int);
CREATE TABLE child_t (b int) INHERITS (parent_t);
CREATE SEQUENCE app.counter AS int START 5 INCREMENT 2 MAXVALUE 1000 CYCLE CACHE 3;
CREATE VIEW active_users AS SELECT u.id, u.email, (SELECT count(*) FROM app.orders o WHERE o.user_id = u.id) AS n FROM users u WHERE u.name IS NOT NULL ORDER BY u.email;
CREATE VIEW v2 WITH (security_barrier) AS SELECT id, email FROM users WHERE email LIKE '%@x.com' WITH CHECK OPTION;
CREATE VIEW v4 AS SELECT CASE WHEN score > 1 THEN 'a' ELSE 'b' END AS c, coalesce(name, 'x') AS nm, born + 1 AS d FROM users;
CREATE MATERIALIZED VIEW mv AS SELECT status, sum(total) AS s FROM app.orders GROUP BY status WITH NO DATA;
CREATE UNIQUE INDEX ON mv (status);
CREATE FUNCTION add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT a + b $$;
CREATE FUNCTION add2(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE FUNCTION add3(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a + 1; END;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE FUNCTION tbl(x int) RETURNS TABLE (a int, b text) LANGUAGE sql AS 'SELECT x, x::text';
CREATE PROCEDURE proc(INOUT x int) LANGUAGE plpgsql AS $$ BEGIN x := x + 1; END $$;
CREATE AGGREGATE mysum(int) (sfunc = int4pl, stype = int, initcond = '0');
CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE OF email ON users FOR EACH ROW WHEN (NEW.email IS NOT NULL) EXECUTE FUNCTION touch();
CREATE TRIGGER ev_touch AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE users DISABLE TRIGGER users_touch;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON users FOR SELECT USING (email = current_user);
CREATE POLICY ins ON users AS RESTRICTIVE FOR INSERT TO public WITH CHECK (score > 0);
CREATE RULE no_del AS ON DELETE TO cache DO INSTEAD NOTHING;
CREATE STATISTICS st (dependencies) ON email, name FROM users;
CREATE TABLE typed OF app.pair;
ALTER TABLE cache REPLICA IDENTITY FULL;
ALTER TABLE users ADD COLUMN drop_me int;
ALTER TABLE users DROP COLUMN drop_me;
CREATE TABLE "Weird Name" ("Col" int, "constructor" int);
CREATE INDEX "weird idx" ON "Weird Name" ("Col");
`;

describe('schema fingerprint', function () {
  this.timeout(60000);
  const dbs: TestDb[] = [];
  const sessions: Db[] = [];

  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
    for (const d of dbs.splice(0)) await d.drop();
  });

  const fresh = async (sql: string): Promise<Db> => {
    const t = await createTestDb();
    dbs.push(t);
    await t.query(sql);
    const db = await connectPg({ pg: { connectionString: t.url }, display: t.name, libpq: t.url, secrets: [] }, { applicationName: 'bulwark-test' });
    sessions.push(db);
    return db;
  };

  it('is the same for the same schema built on two databases, and says what differs when one column differs', async () => {
    const a = await fingerprint(await fresh(RICH_SCHEMA));
    const b = await fingerprint(await fresh(RICH_SCHEMA));
    assert.equal(a.hash, b.hash);
    assert.deepEqual(diffFingerprints(a, b), []);
    assert.ok(Object.keys(a.objects.columns).length > 30);
    for (const k of ['schemas', 'types', 'sequences', 'tables', 'constraints', 'indexes', 'views', 'materializedViews', 'functions', 'triggers', 'policies', 'rules', 'statistics'] as const) {
      assert.ok(Object.keys(a.objects[k]).length > 0, `no ${k}`);
    }
    // OIDs, owners and the layout of deparsed SQL are not in it: only what the migrations decide.
    assert.doesNotMatch(JSON.stringify(a), /postgres|oid/i);

    const c = await fingerprint(await fresh(RICH_SCHEMA.replace('email varchar(200) NOT NULL UNIQUE', 'email varchar(20) NOT NULL UNIQUE')));
    assert.notEqual(a.hash, c.hash);
    assert.deepEqual(diffFingerprints(a, c).map((d) => d.message), [
      'column users.email: type character varying(200) → character varying(20)',
      // The views that select it see the new type too.
      'view active_users: columns [id bigint, email character varying(200), n bigint] → [id bigint, email character varying(20), n bigint]',
      'view v2: columns [id bigint, email character varying(200)] → [id bigint, email character varying(20)]',
    ]);
  });

  it('leaves out Bulwark history, search_path effects and column order', async () => {
    const a = await fingerprint(await fresh('CREATE SCHEMA bulwark; CREATE TABLE bulwark.migrations (v text); CREATE TABLE t (a int, b text);'));
    const b = await fingerprint(await fresh('SET search_path = nowhere, public; CREATE TABLE t (a int, c int); ALTER TABLE t ADD COLUMN b text; ALTER TABLE t DROP COLUMN c;'));
    assert.equal(a.hash, b.hash);
    const withHistory = await fingerprint(sessions[0], { excludeSchemas: [] });
    assert.ok(withHistory.objects.tables['bulwark.migrations']);
  });

  it('is the same on the embedded PostgreSQL (PGlite) as on the server after the same migrations', async function () {
    this.timeout(120000);
    const embedded = await openEmbedded(undefined);
    sessions.push(embedded);
    await embedded.query(RICH_SCHEMA);
    const onServer = await fresh(RICH_SCHEMA);
    assert.notEqual(Math.floor(embedded.serverVersion / 10000), Math.floor(onServer.serverVersion / 10000), 'two different major versions');
    const [e, s] = [await fingerprint(embedded), await fingerprint(onServer)];
    assert.deepEqual(diffFingerprints(s, e), []);
    assert.equal(e.hash, s.hash);
  });
});

describe('cli: verify --replay', function () {
  this.timeout(60000);
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace();
  });
  afterEach(() => ws.cleanup());

  it('prints problems like a compiler, exits 2, and prints the ReplayResult with --json', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int, email text);', 'DROP TABLE a;'));
    ws.write('20260102000000_idx.sql', migration('CREATE INDEX a_email ON a (email);\nALTER TABLE a ADD COLUMN x int;', 'ALTER TABLE a DROP COLUMN x;'));
    const bad = migration('CREATE TABLE b (id int);\nSELECT nope FROM b;', 'DROP TABLE b;');
    ws.write('20260103000000_b.sql', bad);
    ws.write('20260104000000_c.sql', migration('CREATE TABLE c (id int);', 'DROP TABLE c;'));
    const r = await runCli(['verify', '--replay', '--shadow-url', ADMIN_URL], { cwd: ws.dir });
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes(`${path.join('migrations', '20260102000000_idx.sql')}:4:1: error: the down section does not restore the schema as it was before the up section (1 difference)`), r.stdout);
    assert.ok(lines.includes('  - index a_email exists after down but not before up'), r.stdout);
    const p = posOf(bad, 'nope');
    assert.ok(lines.includes(`${path.join('migrations', '20260103000000_b.sql')}:${p.line}:${p.column}: error: column "nope" does not exist [42703]`), r.stdout);
    assert.ok(lines.includes('· 20260104000000_c not replayed: 20260103000000_b failed before it'), r.stdout);
    assert.match(r.stdout, /replay: 4 migration\(s\) on a throwaway database on postgres:\/\/.*\(PostgreSQL \d+\.\d+\): 1 replayed, 1 failed, 1 with a down that does not restore the schema, 1 not replayed/);

    const j = await runCli(['verify', '--replay', '--shadow-url', ADMIN_URL, '--json'], { cwd: ws.dir });
    assert.equal(j.code, 2);
    const doc = JSON.parse(j.stdout) as ReplayResult & { shadow: string };
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.migrations.map((m) => m.status), ['replayed', 'down-mismatch', 'failed', 'not-replayed']);
    assert.equal(doc.migrations[2].problems[0].line, p.line);
  });

  it('exits 0 on a clean chain; --shadow-url alone is a usage error', async () => {
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);', 'DROP TABLE a;'));
    const r = await runCli(['verify', '--replay', '--shadow-url', ADMIN_URL], { cwd: ws.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /✔ 20260101000000_a replayed \(up, down, up again/);
    const u = await runCli(['verify', '--shadow-url', ADMIN_URL], { cwd: ws.dir });
    assert.equal(u.code, 64);
    assert.match(u.stderr, /--shadow-url goes with --replay/);
  });

  it('uses the embedded PostgreSQL when no --shadow-url is given', async function () {
    this.timeout(120000);
    ws.write('20260101000000_a.sql', migration('CREATE TABLE a (id int);\nCREATE ROLE r;', 'DROP TABLE a;'));
    const r = await runCli(['verify', '--replay', '--json'], { cwd: ws.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as ReplayResult & { shadow: string };
    assert.match(doc.shadow, /embedded/);
    assert.deepEqual(doc.migrations.map((m) => m.status), ['replayed-with-skips']);
    assert.ok(fs.existsSync(ws.dir));
  });
});
