import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { ADMIN_URL, createTestDb, TestDb } from '../helpers/db';
import { CliResult, makeWorkspace, migration, runCli, Workspace } from '../helpers/workspace';

/**
 * What the CLI tells people and scripts: error locations in files, the `status --json` document and
 * exit codes, the protected-environment gates, that no password ever leaves the process, and that bad
 * input is refused before anything is written.
 */

/** 1-based line and column (UTF-16 code units, like editors) of the first `needle` in `text`. */
function posOf(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, `${needle} not in the fixture`);
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  return { line, column: i - (before.lastIndexOf('\n') + 1) + 1 };
}

describe('cli: output', function () {
  this.timeout(30000);

  let db: TestDb;
  let ws: Workspace;
  let env: Record<string, string>;
  const extraDbs: TestDb[] = [];
  const roles: string[] = [];

  beforeEach(async () => {
    db = await createTestDb();
    ws = makeWorkspace();
    env = { DATABASE_URL: db.url };
  });

  afterEach(async () => {
    for (const d of extraDbs.splice(0)) await d.drop();
    await db.drop();
    ws.cleanup();
    if (roles.length) {
      const admin = new Client({ connectionString: ADMIN_URL });
      await admin.connect();
      try {
        for (const r of roles.splice(0)) await admin.query(`DROP ROLE IF EXISTS ${r}`);
      } finally {
        await admin.end();
      }
    }
  });

  const cli = (args: string[], e: Record<string, string> = env) => runCli(args, { cwd: ws.dir, env: e });

  async function regclass(dbx: TestDb, ...names: string[]): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    for (const n of names) out[n] = (await dbx.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`public.${n}`]))[0].t;
    return out;
  }

  async function bulwarkSchema(dbx: TestDb): Promise<string | null> {
    return (await dbx.query<{ s: string | null }>(`SELECT to_regnamespace('bulwark')::text AS s`))[0].s;
  }

  // ---------------------------------------------------------------------------------------------------
  describe('a failing migration', () => {
    const BAD = [
      '-- description: fails on its second statement',
      '-- migrate:up',
      'CREATE TABLE first_table (id int);',
      '',
      'SELECT id,',
      "       'héllo 🎉' AS greeting, missing_col",
      '  FROM first_table;',
      '-- migrate:down',
      'DROP TABLE first_table;',
      '',
    ].join('\n');

    it('points at file:line:col of the bad token, rolls back, records the failure, and does not run what follows', async () => {
      ws.write('20240101000100_zero.sql', migration('CREATE TABLE zero (id int);'));
      ws.write('20240101000200_fails.sql', BAD);
      ws.write('20240101000300_third.sql', migration('CREATE TABLE third (id int);'));
      const at = posOf(BAD, 'missing_col');
      // The fixture: line 6, after a two-code-unit emoji (the server counts it as one character).
      assert.deepEqual(at, { line: 6, column: 32 });

      const r = await cli(['apply']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^✔ 20240101000100_zero applied/m);
      assert.match(r.stdout, /^✘ 20240101000200_fails failed$/m);
      assert.ok(
        r.stdout.includes(`migrations/20240101000200_fails.sql:${at.line}:${at.column}: error: column "missing_col" does not exist [42703]`),
        r.stdout,
      );
      assert.match(r.stdout, /The migration was rolled back; nothing of it persists\./);
      assert.match(r.stdout, /^· 20240101000300_third not executed$/m);

      assert.deepEqual(await regclass(db, 'zero', 'first_table', 'third'), { zero: 'zero', first_table: null, third: null });
      const rows = await db.query(`SELECT version, status, (error->>'line')::int AS line, (error->>'column')::int AS col, error->>'code' AS code FROM bulwark.migrations ORDER BY version`);
      assert.deepEqual(rows, [
        { version: '20240101000100', status: 'applied', line: null, col: null, code: null },
        { version: '20240101000200', status: 'failed', line: at.line, col: at.column, code: '42703' },
      ]);
      const audit = await db.query(`SELECT action, version, (details->>'line')::int AS line FROM bulwark.audit ORDER BY id`);
      assert.deepEqual(audit, [
        { action: 'apply', version: '20240101000100', line: null },
        { action: 'failure', version: '20240101000200', line: at.line },
      ]);

      // --json: the retry fails the same way; the migration after it is 'not-executed'.
      const j = await cli(['apply', '--json']);
      assert.equal(j.code, 1, j.stdout + j.stderr);
      const doc = JSON.parse(j.stdout);
      assert.equal(doc.ok, false);
      assert.deepEqual(doc.results.map((x: { version: string; status: string }) => [x.version, x.status]), [
        ['20240101000200', 'failed'],
        ['20240101000300', 'not-executed'],
      ]);
      const e = doc.results[0].error;
      assert.equal(e.line, at.line);
      assert.equal(e.column, at.column);
      assert.equal(e.code, '42703');
      assert.equal(e.statementIndex, 1);
      assert.equal(e.file, path.join(ws.migrationsDir, '20240101000200_fails.sql'));
      assert.deepEqual(await regclass(db, 'first_table', 'third'), { first_table: null, third: null });
      assert.deepEqual(await db.query(`SELECT count(*)::int AS n FROM bulwark.audit WHERE action = 'failure' AND version = '20240101000200'`), [{ n: 2 }]);

      // The dry run locates the same token.
      const d = await cli(['dry-run']);
      assert.equal(d.code, 1, d.stdout + d.stderr);
      assert.ok(d.stdout.includes(`migrations/20240101000200_fails.sql:${at.line}:${at.column}: error: column "missing_col" does not exist`), d.stdout);
    });
  });

  // ---------------------------------------------------------------------------------------------------
  describe('status and verify', () => {
    const one = () => migration('CREATE TABLE one (id int);', 'DROP TABLE one;');
    const two = () => migration('CREATE TABLE two (id int);', 'DROP TABLE two;');
    const three = () => migration('CREATE TABLE three (id int);', 'DROP TABLE three;');
    const four = () => migration('CREATE TABLE four (id int);', 'DROP TABLE four;');

    function statesOf(r: CliResult): Array<Record<string, unknown>> {
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.environments.length, 1);
      return doc.environments[0].migrations.map((m: Record<string, unknown>) => ({
        version: m.version,
        name: m.name,
        status: m.status,
        ...(m.edit ? { edit: m.edit } : {}),
      }));
    }

    it('status --json shows applied, pending, edited (cosmetic, semantic), missing and out-of-order; --exit-code says 2 until all is applied', async () => {
      ws.write('20240101000100_one.sql', one());
      ws.write('20240101000200_two.sql', two());
      ws.write('20240101000300_three.sql', three());
      ws.write('20240101000400_four.sql', four());

      const pending = await cli(['status', '--exit-code']);
      assert.equal(pending.code, 2, pending.stdout + pending.stderr);
      assert.match(pending.stdout, /· 20240101000100_one {2}pending/);
      assert.equal((await cli(['apply'])).code, 0);
      const clean = await cli(['status', '--exit-code']);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /4 applied/);

      ws.write('20240101000200_two.sql', migration('-- a comment added after apply\nCREATE TABLE two (id int);', 'DROP TABLE two;'));
      ws.write('20240101000300_three.sql', migration('CREATE TABLE three (id bigint);', 'DROP TABLE three;'));
      ws.remove('20240101000400_four.sql');
      ws.write('20240101000150_late_branch.sql', migration('CREATE TABLE late (id int);'));
      ws.write('20240101000500_five.sql', migration('CREATE TABLE five (id int);'));

      const r = await cli(['status', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(doc).sort(), ['environments', 'fileErrors']);
      assert.deepEqual(doc.fileErrors, []);
      const e0 = doc.environments[0];
      assert.equal(e0.environment, 'default');
      assert.equal(e0.reachable, true);
      assert.equal(e0.historyExists, true);
      assert.equal(e0.protected, false);
      assert.equal(e0.connection, db.url.replace(/\/$/, ''));
      assert.deepEqual(statesOf(r), [
        { version: '20240101000100', name: 'one', status: 'applied' },
        { version: '20240101000150', name: 'late_branch', status: 'out-of-order' },
        { version: '20240101000200', name: 'two', status: 'edited', edit: 'cosmetic' },
        { version: '20240101000300', name: 'three', status: 'edited', edit: 'semantic' },
        { version: '20240101000400', name: 'four', status: 'missing' },
        { version: '20240101000500', name: 'five', status: 'pending' },
      ]);
      const missing = e0.migrations.find((m: { version: string }) => m.version === '20240101000400');
      assert.equal(missing.file, undefined);
      assert.equal(typeof missing.appliedAt, 'string');

      assert.equal((await cli(['status', '--exit-code'])).code, 2);
      // Status is read-only: nothing of the new files ran.
      assert.deepEqual(await regclass(db, 'late', 'five'), { late: null, five: null });
    });

    it('verify: 0 with only cosmetic edits; 2 for semantic drift, a missing file, an out-of-order file (each alone)', async () => {
      ws.write('20240101000100_one.sql', one());
      ws.write('20240101000200_two.sql', two());
      assert.equal((await cli(['apply'])).code, 0);
      const kinds = async (expected: number) => {
        const r = await cli(['verify', '--json']);
        assert.equal(r.code, expected, r.stdout + r.stderr);
        return JSON.parse(r.stdout).findings.map((f: { kind: string; severity: string; version?: string }) => `${f.severity}:${f.kind}:${f.version ?? ''}`);
      };
      assert.deepEqual(await kinds(0), []);

      // Cosmetic edit only: a warning, exit 0 (text and JSON).
      ws.write('20240101000100_one.sql', migration('-- why: explained later\nCREATE   TABLE one (id int);', 'DROP TABLE one;'));
      assert.deepEqual(await kinds(0), ['warning:edited:20240101000100']);
      const text = await cli(['verify']);
      assert.equal(text.code, 0, text.stdout);
      assert.match(text.stdout, /warning: 20240101000100_one changed after it was applied on "default", cosmetically only/);
      assert.match(text.stdout, /verify: ok \(default\)/);
      assert.equal((await cli(['status', '--exit-code'])).code, 0, 'a cosmetic edit is not a finding for status --exit-code either');

      // Semantic drift.
      ws.write('20240101000200_two.sql', migration('CREATE TABLE two (id int, extra text);', 'DROP TABLE two;'));
      assert.deepEqual(await kinds(2), ['warning:edited:20240101000100', 'error:edited:20240101000200']);
      const drift = await cli(['verify']);
      assert.equal(drift.code, 2);
      assert.ok(drift.stdout.includes('migrations/20240101000200_two.sql: error: 20240101000200_two changed after it was applied on "default" (drift'), drift.stdout);
      ws.write('20240101000200_two.sql', two());
      assert.deepEqual(await kinds(0), ['warning:edited:20240101000100']);

      // Missing file.
      ws.remove('20240101000200_two.sql');
      assert.deepEqual(await kinds(2), ['warning:edited:20240101000100', 'error:missing:20240101000200']);
      ws.write('20240101000200_two.sql', two());

      // Out-of-order file.
      ws.write('20240101000150_between.sql', migration('CREATE TABLE between_them (id int);'));
      assert.deepEqual(await kinds(2), ['warning:edited:20240101000100', 'error:out-of-order:20240101000150']);
      ws.remove('20240101000150_between.sql');
      assert.deepEqual(await kinds(0), ['warning:edited:20240101000100']);
    });
  });

  // ---------------------------------------------------------------------------------------------------
  describe('protected environments', () => {
    let prod: TestDb;

    beforeEach(async () => {
      prod = await createTestDb();
      extraDbs.push(prod);
      ws.writeConfig({
        environments: [
          { name: 'dev', url: db.url },
          { name: 'prod', url: prod.url, protected: true, requires: 'dev' },
        ],
      });
      ws.write('20240101000100_one.sql', migration('CREATE TABLE one (id int);', 'DROP TABLE one;'));
      ws.write('20240101000200_two.sql', migration('CREATE TABLE two (id int);', 'DROP TABLE two;'));
    });

    const noEnv = {}; // the config names the databases; DATABASE_URL must not matter

    it('refuses prod without --confirm (exit 3, nothing written), refuses before dev has the migrations, applies after', async () => {
      const r1 = await cli(['apply', '--env', 'prod'], noEnv);
      assert.equal(r1.code, 3, r1.stdout + r1.stderr);
      assert.match(r1.stderr, /refused: "prod" is a protected environment: apply needs confirmation/);
      assert.match(r1.stderr, /--confirm prod/);
      assert.equal(await bulwarkSchema(prod), null);
      assert.deepEqual(await regclass(prod, 'one', 'two'), { one: null, two: null });

      const wrong = await cli(['apply', '--env', 'prod', '--confirm', 'dev'], noEnv);
      assert.equal(wrong.code, 3, wrong.stdout + wrong.stderr);
      assert.match(wrong.stderr, /the confirmation "dev" does not match its name/);
      assert.equal(await bulwarkSchema(prod), null);

      const r2 = await cli(['apply', '--env', 'prod', '--confirm', 'prod'], noEnv);
      assert.equal(r2.code, 3, r2.stdout + r2.stderr);
      assert.match(r2.stderr, /promotion order: "prod" requires each migration to be applied on "dev" first/);
      assert.match(r2.stderr, /20240101000100_one is pending on "dev"/);
      assert.match(r2.stderr, /20240101000200_two is pending on "dev"/);
      assert.deepEqual(await regclass(prod, 'one', 'two'), { one: null, two: null });
      assert.equal(await bulwarkSchema(prod), null, 'a refused apply leaves the database exactly as it was');

      const dev = await cli(['apply', '--env', 'dev'], noEnv);
      assert.equal(dev.code, 0, dev.stdout + dev.stderr);
      assert.deepEqual(await regclass(prod, 'one'), { one: null }, 'applying dev does not touch prod');

      const r3 = await cli(['apply', '--env', 'prod', '--confirm', 'prod'], noEnv);
      assert.equal(r3.code, 0, r3.stdout + r3.stderr);
      assert.deepEqual(await prod.query('SELECT version, status, environment FROM bulwark.migrations ORDER BY version'), [
        { version: '20240101000100', status: 'applied', environment: 'prod' },
        { version: '20240101000200', status: 'applied', environment: 'prod' },
      ]);
      assert.deepEqual(await prod.query(`SELECT action FROM bulwark.audit WHERE action = 'force'`), []);
      assert.deepEqual(await regclass(prod, 'one', 'two'), { one: 'one', two: 'two' });
    });

    it('--force past the promotion order is applied and audited with a "force" row', async () => {
      assert.equal((await cli(['apply', '--env', 'dev', '--to', '20240101000100'], noEnv)).code, 0);
      const r = await cli(['apply', '--env', 'prod', '--confirm', 'prod', '--force'], noEnv);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /warning: forced past the promotion order: 20240101000200_two is pending on "dev"/);
      const force = await prod.query(`SELECT version, details->>'gate' AS gate, details->>'requires' AS requires FROM bulwark.audit WHERE action = 'force'`);
      assert.deepEqual(force, [{ version: '20240101000200', gate: 'promotion', requires: 'dev' }]);
      assert.deepEqual(await regclass(prod, 'one', 'two'), { one: 'one', two: 'two' });
      assert.deepEqual(await regclass(db, 'two'), { two: null }, '--force on prod does not apply anything on dev');
    });

    it('consistency --json lists what is ready to promote, and a migration applied on prod but not on dev as a mismatch', async () => {
      ws.write('20240101000300_three.sql', migration('CREATE TABLE three (id int);'));
      assert.equal((await cli(['apply', '--env', 'dev'], noEnv)).code, 0);
      assert.equal((await cli(['apply', '--env', 'prod', '--confirm', 'prod', '--to', '20240101000100'], noEnv)).code, 0);

      const ok = await cli(['consistency', '--json'], noEnv);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const d1 = JSON.parse(ok.stdout);
      assert.equal(d1.ok, true);
      assert.deepEqual(d1.transitions, [{ from: 'dev', to: 'prod', ready: [{ version: '20240101000200', name: 'two' }, { version: '20240101000300', name: 'three' }] }]);
      assert.deepEqual(d1.mismatches, []);
      assert.deepEqual(d1.environments.map((e: { environment: string }) => e.environment), ['dev', 'prod']);
      const text1 = await cli(['consistency'], noEnv);
      assert.equal(text1.code, 0);
      assert.match(text1.stdout, /dev → prod: 2 ready to promote: 20240101000200_two, 20240101000300_three/);
      assert.match(text1.stdout, /consistency: ok/);

      // Promote everything, then record a hotfix on prod only.
      assert.equal((await cli(['apply', '--env', 'prod', '--confirm', 'prod'], noEnv)).code, 0);
      const promoted = JSON.parse((await cli(['consistency', '--json'], noEnv)).stdout);
      assert.deepEqual(promoted.transitions, [{ from: 'dev', to: 'prod', ready: [] }]);
      assert.equal(promoted.ok, true);
      ws.write('20240101000400_hotfix.sql', migration('CREATE TABLE hotfix (id int);'));
      const refused = await cli(['mark-applied', '20240101000400', '--env', 'prod'], noEnv);
      assert.equal(refused.code, 3, refused.stdout + refused.stderr);
      const marked = await cli(['mark-applied', '20240101000400', '--env', 'prod', '--confirm', 'prod'], noEnv);
      assert.equal(marked.code, 0, marked.stdout + marked.stderr);
      assert.deepEqual(await prod.query(`SELECT status FROM bulwark.migrations WHERE version = '20240101000400'`), [{ status: 'baseline' }]);
      assert.deepEqual(await prod.query(`SELECT action FROM bulwark.audit WHERE version = '20240101000400'`), [{ action: 'mark-applied' }]);

      const bad = await cli(['consistency', '--json'], noEnv);
      assert.equal(bad.code, 2, bad.stdout + bad.stderr);
      const d2 = JSON.parse(bad.stdout);
      assert.equal(d2.ok, false);
      assert.deepEqual(d2.transitions, [{ from: 'dev', to: 'prod', ready: [] }]);
      assert.deepEqual(
        d2.mismatches.map((m: { severity: string; kind: string; environment?: string; version?: string }) => [m.severity, m.kind, m.environment, m.version]),
        [['error', 'promotion', 'prod', '20240101000400']],
      );
      assert.match(d2.mismatches[0].message, /20240101000400_hotfix is applied on "prod" but not on "dev"/);
      const text = await cli(['consistency'], noEnv);
      assert.equal(text.code, 2);
      assert.match(text.stdout, /dev → prod: nothing to promote/);
      assert.match(text.stdout, /mismatch: 20240101000400_hotfix is applied on "prod" but not on "dev"/);
    });
  });

  // ---------------------------------------------------------------------------------------------------
  describe('secrets', () => {
    it('never prints or stores the password of the connection URL', async () => {
      const hex = randomBytes(5).toString('hex');
      const role = `bulwark_pw_${hex}`;
      const secret = `S3cret-${hex}`;
      roles.push(role);
      await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${secret}'`);
      await db.query(`GRANT ALL ON DATABASE ${db.name} TO ${role}`);
      await db.query(`GRANT ALL ON SCHEMA public TO ${role}`);
      const url = `postgres://${role}:${secret}@127.0.0.1:5432/${db.name}`;
      const e = { DATABASE_URL: url };
      ws.write('20240101000100_ok.sql', migration('CREATE TABLE ok (id int);', 'DROP TABLE ok;'));

      const runs: Array<[string, CliResult, number]> = [];
      const run = async (args: string[], expected: number, envx = e) => {
        const r = await cli(args, envx);
        runs.push([args.join(' '), r, expected]);
        assert.equal(r.code, expected, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
        return r;
      };
      await run(['status'], 0);
      await run(['status', '--json'], 0);
      await run(['plan', '--json'], 0);
      await run(['dry-run'], 0);
      const applied = await run(['apply'], 0);
      assert.match(applied.stdout, /✔ 20240101000100_ok applied/);
      ws.write('20240101000200_fails.sql', migration("CREATE TABLE doomed (id int);\nSELECT no_such_column FROM ok;"));
      await run(['dry-run', '--json'], 1);
      await run(['apply'], 1);
      await run(['apply', '--json'], 1);
      await run(['verify'], 2);
      await run(['verify', '--json'], 2);
      await run(['history'], 0);
      const h = await run(['history', '--json'], 0);
      assert.ok(JSON.parse(h.stdout).some((x: { db_user: string }) => x.db_user === role), 'the runs used the role of the URL');
      await run(['repair'], 2);

      // A closed port: connection refused, with the password in the URL.
      const port = await closedPort();
      const refusedEnv = { DATABASE_URL: `postgres://${role}:${secret}@127.0.0.1:${port}/${db.name}` };
      const st = await run(['status'], 1, refusedEnv);
      assert.match(st.stdout, new RegExp(`unreachable: cannot connect to postgres://${role}@127\\.0\\.0\\.1:${port}/${db.name}`));
      const ap = await run(['apply'], 1, refusedEnv);
      assert.match(ap.stderr, /ECONNREFUSED/);
      await run(['apply', '--json'], 1, refusedEnv);
      await run(['verify', '--json'], 2, refusedEnv);
      await run(['history'], 1, refusedEnv);

      for (const [what, r] of runs) {
        for (const [stream, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
          assert.ok(!text.includes(secret), `\`bulwark ${what}\` printed the password on ${stream}:\n${text}`);
        }
      }
      const stored = await db.query<{ t: string }>(
        `SELECT row_to_json(a)::text AS t FROM bulwark.audit a UNION ALL SELECT row_to_json(m)::text FROM bulwark.migrations m`,
      );
      assert.ok(stored.length >= 4, `expected audit and history rows, got ${stored.length}`);
      for (const { t } of stored) assert.ok(!t.includes(secret), `a Bulwark row contains the password: ${t}`);
    });
  });

  // ---------------------------------------------------------------------------------------------------
  describe('bad input', () => {
    const good = () => ws.write('20240101000100_good.sql', migration('CREATE TABLE good (id int);'));

    async function expectRefused(args: string[], where: string, message: RegExp | string): Promise<CliResult> {
      const r = await cli(args);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const prefix = `error: ${where}: `;
      const i = r.stderr.indexOf(prefix);
      assert.ok(i >= 0, `expected "${prefix}" in stderr:\n${r.stderr}`);
      const rest = r.stderr.slice(i + prefix.length);
      if (typeof message === 'string') assert.ok(rest.startsWith(message), `expected "${message}" after the location:\n${r.stderr}`);
      else assert.match(rest, message);
      assert.equal(await bulwarkSchema(db), null, 'no bulwark schema may be created');
      assert.deepEqual(await regclass(db, 'good'), { good: null }, 'the valid migration must not run either');
      return r;
    }

    it('a file with a duplicate -- migrate:up: names the file and the line of the second marker', async () => {
      good();
      const file = ws.write('20240101000200_dup.sql', '-- migrate:up\nCREATE TABLE dup1 (id int);\n\n-- migrate:up\nCREATE TABLE dup2 (id int);\n');
      await expectRefused(['apply'], `${file}:4:1`, 'duplicate -- migrate:up marker (the first is on line 1)');
      const j = await cli(['apply', '--json']);
      assert.equal(j.code, 1);
      const err = JSON.parse(j.stdout).error;
      assert.deepEqual({ code: err.code, file: err.file, line: err.line, column: err.column }, { code: 'MIGRATION_FILE', file, line: 4, column: 1 });
      const st = await cli(['status']);
      assert.equal(st.code, 1, 'status reports broken files too');
      assert.ok(st.stdout.includes(`${file}:4:1: duplicate -- migrate:up marker`), st.stdout);
      assert.equal(await bulwarkSchema(db), null);
    });

    it('a bad file name: names the file', async () => {
      good();
      const file = ws.write('2024-01-01_bad_name.sql', migration('CREATE TABLE bad_name (id int);'));
      await expectRefused(['apply'], file, 'bad migration file name "2024-01-01_bad_name.sql"');
    });

    it('two files with the same version: names the second file and the first', async () => {
      good();
      ws.write('20240101000200_first.sql', migration('CREATE TABLE first_v (id int);'));
      const second = ws.write('20240101000200_second.sql', migration('CREATE TABLE second_v (id int);'));
      await expectRefused(['apply'], second, 'duplicate version 20240101000200: also used by 20240101000200_first.sql');
      assert.deepEqual(await regclass(db, 'first_v', 'second_v'), { first_v: null, second_v: null });
    });

    it('a file that is not UTF-8: names the file, line and column of the bad byte', async () => {
      good();
      const bytes = Buffer.concat([Buffer.from("-- migrate:up\nINSERT INTO t VALUES ('caf", 'utf8'), Buffer.from([0xe9]), Buffer.from("');\n", 'utf8')]);
      const file = ws.write('20240101000200_latin1.sql', bytes);
      const offset = bytes.indexOf(0xe9);
      const column = offset - (bytes.lastIndexOf(0x0a, offset) + 1) + 1;
      await expectRefused(['apply'], `${file}:2:${column}`, `the file is not valid UTF-8 (byte 0xe9 at byte offset ${offset})`);
    });

    it('an empty file: names the file', async () => {
      good();
      const file = ws.write('20240101000200_empty.sql', '');
      await expectRefused(['apply'], `${file}:1:1`, 'the migration file is empty');
    });

    it('bulwark.json with an unknown field: names the file, line and column of the setting', async () => {
      good();
      ws.writeConfig({ environments: [{ name: 'dev', url: db.url, protectd: true }] });
      const configFile = path.join(ws.dir, 'bulwark.json');
      const text = JSON.stringify({ environments: [{ name: 'dev', url: db.url, protectd: true }] }, null, 2);
      const at = posOf(text, '"protectd"');
      await expectRefused(['apply', '--env', 'dev'], `${configFile}:${at.line}:${at.column}`, /^environments\[0\]\.protectd: unknown setting "protectd" in an environment; did you mean "protected"\?/);
    });

    it('a broken file after earlier applies changes nothing either', async () => {
      good();
      assert.equal((await cli(['apply'])).code, 0);
      const before = await db.query('SELECT row_to_json(a)::text AS t FROM bulwark.audit a ORDER BY id');
      ws.write('20240101000200_next.sql', migration('CREATE TABLE next_one (id int);'));
      const file = ws.write('20240101000300_dup.sql', '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n-- migrate:down\nSELECT 2;\n');
      const r = await cli(['apply']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(`error: ${file}:5:1: duplicate -- migrate:down marker (the first is on line 3)`), r.stderr);
      assert.deepEqual(await regclass(db, 'next_one'), { next_one: null });
      assert.deepEqual(await db.query('SELECT version, status FROM bulwark.migrations'), [{ version: '20240101000100', status: 'applied' }]);
      assert.deepEqual(await db.query('SELECT row_to_json(a)::text AS t FROM bulwark.audit a ORDER BY id'), before);
    });
  });
});

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
