import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from '../../src/core/errors';
import {
  CONFIG_FILE_NAME,
  ConfigValidationError,
  findEnvironment,
  loadConfig,
  parseConfig,
  resolveConnection,
  validateConfig,
  type BulwarkConfig,
  type ConfigProblem,
  type LoadConfigOptions,
} from '../../src/core/config/config';

const CWD = path.resolve('/proj');

function opts(env: Record<string, string | undefined> = {}, extra: Partial<LoadConfigOptions> = {}): LoadConfigOptions {
  return { cwd: CWD, env, ...extra };
}

function problemsOf(text: string): ConfigProblem[] {
  return validateConfig(text, 'bulwark.json', opts()).problems;
}

/** Asserts there is exactly one problem and returns it. */
function onlyProblem(text: string): ConfigProblem {
  const problems = problemsOf(text);
  assert.equal(problems.length, 1, `expected one problem, got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`);
  return problems[0];
}

/** 1-based line/column of the `occurrence`-th `needle` in `text`. */
function posOf(text: string, needle: string, occurrence = 1): { line: number; column: number } {
  let i = -1;
  for (let n = 0; n < occurrence; n++) {
    i = text.indexOf(needle, i + 1);
    assert.ok(i >= 0, `"${needle}" not found`);
  }
  const before = text.slice(0, i).split(/\r\n|\r|\n/);
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function assertAt(p: ConfigProblem, text: string, needle: string, occurrence = 1): void {
  const expected = posOf(text, needle, occurrence);
  assert.deepEqual({ line: p.location.line, column: p.location.column }, expected, `location of: ${p.path}: ${p.message}`);
  assert.equal(p.location.file, 'bulwark.json');
}

/** A file with one environment whose body is `envBody` (inside the braces). */
function envFile(envBody: string): string {
  return `{\n  "environments": [\n    { ${envBody} }\n  ]\n}\n`;
}

const SPEC_EXAMPLE = `{
  "migrationsDir": "migrations",          // default "migrations", relative to the config file's folder
  "templateDir": "migrations-template",   // default "migrations-template"
  "history": { "schema": "bulwark", "table": "migrations", "auditTable": "audit" }, // these defaults
  "environments": [                        // in promotion order
    { "name": "dev",  "url": "\${env:DEV_DATABASE_URL}" },
    { "name": "test", "connection": { "host": "db-test", "port": 5432, "database": "app", "user": "deploy", "sslmode": "require", "passwordEnv": "TEST_PGPASSWORD" }, "requires": "dev" },
    { "name": "prod", "url": "postgres://deploy@db-prod:5432/app", "protected": true, "requires": "test",
      "lockTimeout": "2s", "statementTimeout": "15min", "lockWaitTimeout": "60s", "color": "red" }
  ],
  "lint": { }   // owned by the linter (another module): accept any object here, keep it as \`unknown\`
}`;

describe('config: valid files', () => {
  it('parses the documented example, with comments', () => {
    const c = parseConfig(SPEC_EXAMPLE, 'bulwark.json', opts());
    assert.equal(c.file, path.join(CWD, 'bulwark.json'));
    assert.equal(c.root, CWD);
    assert.equal(c.migrationsDir, path.join(CWD, 'migrations'));
    assert.equal(c.templateDir, path.join(CWD, 'migrations-template'));
    assert.deepEqual(c.history, { schema: 'bulwark', table: 'migrations', auditTable: 'audit' });
    assert.equal(c.source, 'file');
    assert.deepEqual(c.lint, {});
    assert.deepEqual(
      c.environments.map((e) => e.name),
      ['dev', 'test', 'prod'],
    );
    const [dev, test, prod] = c.environments;
    assert.equal(dev.url, '${env:DEV_DATABASE_URL}');
    assert.equal(dev.protected, false);
    assert.equal(dev.requires, undefined);
    assert.equal(dev.lockTimeoutMs, undefined);
    assert.equal(dev.statementTimeoutMs, undefined);
    assert.equal(dev.lockWaitTimeoutMs, 60_000);
    assert.deepEqual(dev.location, { file: 'bulwark.json', ...posOf(SPEC_EXAMPLE, '{ "name": "dev"') });
    assert.deepEqual(test.connection, {
      host: 'db-test',
      port: 5432,
      database: 'app',
      user: 'deploy',
      sslmode: 'require',
      passwordEnv: 'TEST_PGPASSWORD',
    });
    assert.equal(test.url, undefined);
    assert.equal(test.requires, 'dev');
    assert.equal(prod.url, 'postgres://deploy@db-prod:5432/app');
    assert.equal(prod.protected, true);
    assert.equal(prod.requires, 'test');
    assert.equal(prod.lockTimeout, '2s');
    assert.equal(prod.lockTimeoutMs, 2000);
    assert.equal(prod.statementTimeout, '15min');
    assert.equal(prod.statementTimeoutMs, 15 * 60_000);
    assert.equal(prod.lockWaitTimeoutMs, 60_000);
    assert.equal(prod.color, 'red');
    // Settings keep their locations for late errors (missing variables).
    assert.deepEqual(prod.sources?.url, { path: 'environments[2].url', file: 'bulwark.json', ...posOf(SPEC_EXAMPLE, '"postgres://deploy') });
    assert.deepEqual(test.sources?.['connection.passwordEnv'], {
      path: 'environments[1].connection.passwordEnv',
      file: 'bulwark.json',
      ...posOf(SPEC_EXAMPLE, '"TEST_PGPASSWORD"'),
    });
  });

  it('applies defaults to an empty object', () => {
    const c = parseConfig('{}', 'bulwark.json', opts());
    assert.equal(c.migrationsDir, path.join(CWD, 'migrations'));
    assert.equal(c.templateDir, path.join(CWD, 'migrations-template'));
    assert.deepEqual(c.history, { schema: 'bulwark', table: 'migrations', auditTable: 'audit' });
    // No environments and no DATABASE_URL: the embedded database, as without a file.
    assert.deepEqual(c.environments.map((e) => [e.name, e.embedded?.dataDir]), [['local', path.join(CWD, '.bulwark', 'local')]]);
    assert.equal(c.lint, undefined);
    assert.equal(c.source, 'embedded');
  });

  it('accepts line and block comments and trailing commas', () => {
    const text = `// leading\n{ /* block\n comment */ "environments": [ { "name": "dev", "url": "postgres://h/db", }, ], // tail\n}`;
    const c = parseConfig(text, 'bulwark.json', opts());
    assert.equal(c.environments[0].url, 'postgres://h/db');
  });

  it('resolves relative folders against the config file folder, not cwd', () => {
    const c = parseConfig('{ "migrationsDir": "db/migrations", "templateDir": "../tpl" }', 'conf/bulwark.json', opts());
    assert.equal(c.root, path.join(CWD, 'conf'));
    assert.equal(c.migrationsDir, path.join(CWD, 'conf', 'db', 'migrations'));
    assert.equal(c.templateDir, path.join(CWD, 'tpl'));
  });

  it('lets --migrations-dir override migrationsDir, resolved against cwd', () => {
    const c = parseConfig('{ "migrationsDir": "db/migrations" }', 'conf/bulwark.json', opts({}, { migrationsDir: 'other' }));
    assert.equal(c.migrationsDir, path.join(CWD, 'other'));
  });

  it('keeps "lint" as it is, whatever it contains', () => {
    const c = parseConfig('{ "lint": { "rules": { "anything": ["goes", 1] }, "whatever": true } }', 'bulwark.json', opts());
    assert.deepEqual(c.lint, { rules: { anything: ['goes', 1] }, whatever: true });
  });

  it('accepts "$schema" for editor completion', () => {
    assert.deepEqual(problemsOf('{ "$schema": "./bulwark.schema.json" }'), []);
  });

  it('accepts every duration form', () => {
    const cases: [unknown, number, string][] = [
      ['500ms', 500, '500ms'],
      ['2s', 2000, '2s'],
      ['5min', 300_000, '5min'],
      ['1h', 3_600_000, '1h'],
      ['1d', 86_400_000, '1d'],
      ['1.5s', 1500, '1.5s'],
      ['2000', 2000, '2000'],
      [2000, 2000, '2000'],
      [0, 0, '0'],
      ['10 s', 10_000, '10 s'],
    ];
    for (const [value, ms, text] of cases) {
      const c = parseConfig(envFile(`"name": "dev", "url": "postgres://h/db", "lockTimeout": ${JSON.stringify(value)}`), 'bulwark.json', opts());
      assert.equal(c.environments[0].lockTimeoutMs, ms, String(value));
      assert.equal(c.environments[0].lockTimeout, text, String(value));
    }
    const c = parseConfig(envFile('"name": "dev", "url": "postgres://h/db", "lockWaitTimeout": "5s", "statementTimeout": 0'), 'bulwark.json', opts());
    assert.equal(c.environments[0].lockWaitTimeoutMs, 5000);
    assert.equal(c.environments[0].statementTimeoutMs, 0);
  });

  it('accepts ${env:VAR} references anywhere in a url, including as the password', () => {
    for (const url of ['${env:DATABASE_URL}', 'postgres://${env:PGUSER}:${env:PGPASS}@${env:PGHOST}/app', 'postgresql://u@h:5432/db?sslmode=require']) {
      assert.deepEqual(problemsOf(envFile(`"name": "dev", "url": ${JSON.stringify(url)}`)), [], url);
    }
  });

  it('accepts ${env:VAR} references in connection strings', () => {
    const c = parseConfig(envFile('"name": "dev", "connection": { "host": "${env:PGHOST}", "user": "${env:USER}", "sslmode": "${env:SSLMODE}" }'), 'bulwark.json', opts());
    assert.equal(c.environments[0].connection?.host, '${env:PGHOST}');
  });

  it('accepts an empty connection (all libpq defaults)', () => {
    const c = parseConfig(envFile('"name": "dev", "connection": {}'), 'bulwark.json', opts());
    assert.deepEqual(c.environments[0].connection, {});
  });

  it('ignores a byte order mark and counts CRLF lines', () => {
    const text = '\uFEFF{\r\n  "environments": [\r\n    { "name": "Dev", "url": "postgres://h/db" }\r\n  ]\r\n}';
    const p = onlyProblem(text);
    assert.equal(p.path, 'environments[0].name');
    assert.deepEqual(p.location, { file: 'bulwark.json', line: 3, column: 15 });
  });
});

describe('config: validation errors', () => {
  it('reports JSON syntax errors with their position', () => {
    const text = '{\n  "migrationsDir": "m"\n  "templateDir": "t"\n}';
    const p = problemsOf(text)[0];
    assert.match(p.message, /JSON syntax error: expected ","/);
    assertAt(p, text, '"templateDir"');
  });

  it('reports an unclosed comment', () => {
    const p = problemsOf('{ /* never closed ')[0];
    assert.match(p.message, /JSON syntax error/);
    assert.equal(p.location.line, 1);
  });

  it('reports an empty file', () => {
    const p = onlyProblem('  // nothing\n');
    assert.match(p.message, /empty/);
  });

  it('requires an object at the top level', () => {
    const text = '\n  [ { "name": "dev" } ]';
    const p = onlyProblem(text);
    assert.match(p.message, /top level must be a JSON object.*not an array/);
    assertAt(p, text, '[');
  });

  it('rejects unknown top-level settings, suggesting the likely one and listing the allowed ones', () => {
    const text = '{\n  "migrationDir": "m"\n}';
    const p = onlyProblem(text);
    assert.equal(p.path, 'migrationDir');
    assert.match(p.message, /unknown setting "migrationDir"/);
    assert.match(p.message, /did you mean "migrationsDir"\?/);
    assert.match(p.message, /Allowed: .*migrationsDir, templateDir, history, environments, lint/);
    assertAt(p, text, '"migrationDir"');
  });

  it('rejects unknown environment settings: lockTimout → did you mean lockTimeout', () => {
    const text = envFile('"name": "prod", "url": "postgres://h/db", "lockTimout": "2s"');
    const p = onlyProblem(text);
    assert.equal(p.path, 'environments[0].lockTimout');
    assert.match(p.message, /did you mean "lockTimeout"\?/);
    assert.match(p.message, /Allowed: name, url, connection, protected, requires, lockTimeout, statementTimeout, lockWaitTimeout, color/);
    assertAt(p, text, '"lockTimout"');
  });

  it('lists the allowed settings without a suggestion when nothing is close', () => {
    const p = onlyProblem(envFile('"name": "prod", "url": "postgres://h/db", "zzzzzzzz": 1'));
    assert.doesNotMatch(p.message, /did you mean/);
    assert.match(p.message, /unknown setting "zzzzzzzz" in an environment\. Allowed: name, url/);
  });

  it('points out connection settings written at the environment level', () => {
    const p = problemsOf(envFile('"name": "prod", "connection": {}, "host": "h"'))[0];
    assert.equal(p.path, 'environments[0].host');
    assert.match(p.hint ?? '', /belongs inside "connection"/);
  });

  it('rejects unknown settings in "history" and "connection"', () => {
    const h = onlyProblem('{ "history": { "tabel": "m" } }');
    assert.equal(h.path, 'history.tabel');
    assert.match(h.message, /did you mean "table"\?.*Allowed: schema, table, auditTable/);
    const text = envFile('"name": "dev", "connection": { "hostname": "h" }');
    const c = onlyProblem(text);
    assert.equal(c.path, 'environments[0].connection.hostname');
    assert.match(c.message, /did you mean "host"\?.*Allowed: host, port, database, user, sslmode, passwordEnv/);
    assertAt(c, text, '"hostname"');
  });

  it('rejects a setting written twice', () => {
    const text = '{\n  "migrationsDir": "a",\n  "migrationsDir": "b"\n}';
    const p = onlyProblem(text);
    assert.match(p.message, /set twice \(also on line 2\)/);
    assertAt(p, text, '"migrationsDir"', 2);
  });

  describe('types', () => {
    const cases: { name: string; text: string; path: string; message: RegExp; at: string }[] = [
      { name: 'migrationsDir', text: '{ "migrationsDir": 42 }', path: 'migrationsDir', message: /expected a string, got the number 42/, at: '42' },
      { name: 'empty migrationsDir', text: '{ "migrationsDir": "" }', path: 'migrationsDir', message: /is empty/, at: '""' },
      { name: 'templateDir', text: '{ "templateDir": null }', path: 'templateDir', message: /expected a string, got null/, at: 'null' },
      { name: 'history', text: '{ "history": "bulwark" }', path: 'history', message: /expected an object.*got the string "bulwark"/, at: '"bulwark"' },
      { name: 'environments', text: '{ "environments": { "dev": {} } }', path: 'environments', message: /expected an array of environments.*got an object/, at: '{ "dev"' },
      { name: 'lint', text: '{ "lint": [] }', path: 'lint', message: /expected an object, got an array/, at: '[]' },
      { name: 'environment item', text: '{ "environments": [ "dev" ] }', path: 'environments[0]', message: /expected an environment object.*got the string "dev"/, at: '"dev"' },
      { name: 'name', text: envFile('"name": 1, "url": "postgres://h/db"'), path: 'environments[0].name', message: /expected a string, got the number 1/, at: '1,' },
      { name: 'url', text: envFile('"name": "dev", "url": 5'), path: 'environments[0].url', message: /expected a string, got a number/, at: '5 }' },
      { name: 'connection', text: envFile('"name": "dev", "connection": "host=h"'), path: 'environments[0].connection', message: /expected an object.*got the string "host=h"/, at: '"host=h"' },
      { name: 'protected', text: envFile('"name": "dev", "url": "postgres://h/db", "protected": "yes"'), path: 'environments[0].protected', message: /expected true or false, got the string "yes"/, at: '"yes"' },
      { name: 'requires', text: envFile('"name": "dev", "url": "postgres://h/db", "requires": ["x"]'), path: 'environments[0].requires', message: /expected a string, got an array/, at: '["x"]' },
      { name: 'color', text: envFile('"name": "dev", "url": "postgres://h/db", "color": 255'), path: 'environments[0].color', message: /expected a string, got the number 255/, at: '255' },
      { name: 'lockTimeout', text: envFile('"name": "dev", "url": "postgres://h/db", "lockTimeout": true'), path: 'environments[0].lockTimeout', message: /expected a duration such as "2s", got true/, at: 'true' },
      { name: 'history.schema', text: '{ "history": { "schema": 3 } }', path: 'history.schema', message: /expected a string, got the number 3/, at: '3' },
      { name: 'connection.host', text: envFile('"name": "dev", "connection": { "host": false }'), path: 'environments[0].connection.host', message: /expected a string, got false/, at: 'false' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const p = onlyProblem(c.text);
        assert.equal(p.path, c.path);
        assert.match(p.message, c.message);
        assertAt(p, c.text, c.at);
      });
    }
  });

  it('allows an empty "environments" array', () => {
    assert.deepEqual(problemsOf('{ "environments": [] }'), []);
  });

  describe('environment names', () => {
    for (const bad of ['Prod', '1dev', 'dev env', 'dév', '', 'a'.repeat(33), '-dev']) {
      it(`rejects ${JSON.stringify(bad)}`, () => {
        const text = envFile(`"name": ${JSON.stringify(bad)}, "url": "postgres://h/db"`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].name');
        assert.match(p.message, /is not a valid environment name/);
        assertAt(p, text, JSON.stringify(bad));
      });
    }
    it('accepts names up to 32 characters with digits, _ and -', () => {
      assert.deepEqual(problemsOf(envFile(`"name": "a${'b'.repeat(31)}", "url": "postgres://h/db"`)), []);
      assert.deepEqual(problemsOf(envFile('"name": "qa-2_eu", "url": "postgres://h/db"')), []);
    });
    it('suggests the lower-case spelling', () => {
      assert.match(onlyProblem(envFile('"name": "Prod", "url": "postgres://h/db"')).hint ?? '', /"prod"/);
    });
    it('requires a name', () => {
      const text = envFile('"url": "postgres://h/db"');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0]');
      assert.match(p.message, /missing "name"/);
      assertAt(p, text, '{ "url"');
    });
    it('rejects duplicate names, pointing at the second', () => {
      const text = '{ "environments": [\n  { "name": "dev", "url": "postgres://a/db" },\n  { "name": "dev", "url": "postgres://b/db" }\n] }';
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[1].name');
      assert.match(p.message, /"dev" is already the name of environments\[0\] \(line 2\)/);
      assertAt(p, text, '"dev"', 2);
    });
  });

  describe('url / connection', () => {
    it('requires one of them', () => {
      const text = envFile('"name": "dev"');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0]');
      assert.match(p.message, /environment "dev" needs "url" or "connection"/);
      assertAt(p, text, '{ "name"');
    });
    it('rejects both', () => {
      const text = envFile('"name": "dev", "url": "postgres://h/db", "connection": { "host": "h" }');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0].connection');
      assert.match(p.message, /either "url" or "connection", not both/);
      assertAt(p, text, '"connection"');
    });
    for (const [url, expected] of [
      ['mysql://u@h/db', /must be a postgres:\/\/ or postgresql:\/\/ URL.*found "mysql:\/\/"/],
      ['localhost:5432/db', /must be a postgres:\/\/ or postgresql:\/\/ URL/],
      ['', /is empty/],
      ['postgres://${DB_HOST}/db', /invalid reference "\$\{DB_HOST\}"/],
      ['${env:}', /invalid reference "\$\{env:\}"/],
      ['${env:DATABASE_URL', /invalid reference/],
      ['${env:1BAD}', /invalid reference "\$\{env:1BAD\}"/],
    ] as const) {
      it(`rejects the url ${JSON.stringify(url)}`, () => {
        const text = envFile(`"name": "dev", "url": ${JSON.stringify(url)}`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].url');
        assert.match(p.message, expected);
        assertAt(p, text, JSON.stringify(url));
      });
    }
    it('suggests ${env:NAME} for ${NAME}', () => {
      assert.match(onlyProblem(envFile('"name": "dev", "url": "${DATABASE_URL}"')).hint ?? '', /\$\{env:DATABASE_URL\}/);
    });
  });

  describe('embedded', () => {
    it('accepts true (data in .bulwark/<name>) and { "dataDir" } (relative to the file)', () => {
      const c = parseConfig(
        '{ "environments": [ { "name": "local", "embedded": true }, { "name": "ci", "embedded": { "dataDir": "tmp/ci-db" }, "requires": "local" }, { "name": "dev", "embedded": {} } ] }',
        'bulwark.json',
        opts(),
      );
      assert.deepEqual(
        c.environments.map((e) => [e.name, e.embedded?.dataDir, e.url, e.connection]),
        [
          ['local', path.join(CWD, '.bulwark', 'local'), undefined, undefined],
          ['ci', path.join(CWD, 'tmp', 'ci-db'), undefined, undefined],
          ['dev', path.join(CWD, '.bulwark', 'dev'), undefined, undefined],
        ],
      );
    });
    it('treats false as not embedded: the environment then needs url or connection', () => {
      const text = envFile('"name": "dev", "embedded": false');
      const p = onlyProblem(text);
      assert.match(p.message, /environment "dev" needs "url" or "connection" \(or "embedded": true/);
      const c = parseConfig(envFile('"name": "dev", "embedded": false, "url": "postgres://h/db"'), 'bulwark.json', opts());
      assert.equal(c.environments[0].embedded, undefined);
    });
    it('rejects other types, pointing at the value', () => {
      for (const v of ['"yes"', '1', '[]', 'null']) {
        const text = envFile(`"name": "dev", "embedded": ${v}`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].embedded');
        assert.match(p.message, /expected true or an object like \{ "dataDir": ".bulwark\/dev" \}/);
        assertAt(p, text, v, v === '"yes"' ? 1 : 1);
      }
    });
    it('rejects unknown settings inside it, with a suggestion', () => {
      const text = envFile('"name": "dev", "embedded": { "datadir": "x" }');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0].embedded.datadir');
      assert.match(p.message, /did you mean "dataDir"\?.*Allowed: dataDir/);
      assertAt(p, text, '"datadir"');
    });
    it('rejects an empty or non-string dataDir, and ${env:…} in it', () => {
      for (const [v, re] of [['""', /is empty/], ['5', /expected a string, got the number 5/], ['"${env:X}/db"', /references are not expanded/]] as const) {
        const text = envFile(`"name": "dev", "embedded": { "dataDir": ${v} }`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].embedded.dataDir');
        assert.match(p.message, re);
        assertAt(p, text, v);
      }
    });
    it('rejects embedded together with url or connection', () => {
      for (const other of ['"url": "postgres://h/db"', '"connection": { "host": "h" }']) {
        const text = envFile(`"name": "dev", ${other}, "embedded": true`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].embedded');
        assert.match(p.message, /either embedded or has "(url|connection)", not both/);
        assertAt(p, text, '"embedded"');
      }
    });
    it('rejects two environments sharing one data directory', () => {
      const text = '{ "environments": [\n  { "name": "a", "embedded": { "dataDir": "db" } },\n  { "name": "b", "embedded": { "dataDir": "./db/" } }\n] }';
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[1].embedded');
      assert.match(p.message, /environments\[0\] uses the same embedded data directory/);
    });
  });

  describe('passwords in the file', () => {
    const SECRET = 'hunter2-Sup3rSecret';
    const urls = [
      `postgres://deploy:${SECRET}@db-prod:5432/app`,
      `postgresql://deploy:${SECRET}@db-prod/app`,
      `postgres://deploy:p@ss:${SECRET}@db-prod/app`,
      `postgres://deploy:${encodeURIComponent(SECRET + '@/:')}@db-prod/app`,
      `postgres://:${SECRET}@db-prod/app`,
      `postgres://deploy@db-prod/app?sslmode=require&password=${SECRET}`,
      `postgres://\${env:PGUSER}:${SECRET}@\${env:PGHOST}/app`,
    ];
    for (const url of urls) {
      it(`rejects ${url.replace(SECRET, '<secret>')} without echoing the password`, () => {
        const text = envFile(`"name": "prod", "url": ${JSON.stringify(url)}`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].url');
        assert.match(p.message, /contains a password/);
        assert.match(p.hint ?? '', /\$\{env:VAR\}.*PGPASSWORD.*~\/\.pgpass.*passwordEnv/);
        assertAt(p, text, JSON.stringify(url));
        let thrown: unknown;
        try {
          parseConfig(text, 'bulwark.json', opts());
        } catch (e) {
          thrown = e;
        }
        assert.ok(thrown instanceof ConfigError);
        const all = `${thrown.describe()} ${JSON.stringify(validateConfig(text, 'bulwark.json', opts()).problems)}`;
        assert.ok(!all.includes('hunter2') && !all.includes('Sup3r'), all);
      });
    }
    it('rejects "password" in "connection" without echoing it', () => {
      const text = envFile(`"name": "test", "connection": { "host": "h", "password": "${SECRET}" }`);
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0].connection.password');
      assert.match(p.message, /passwords must not be written in bulwark\.json/);
      assert.match(p.hint ?? '', /passwordEnv/);
      assert.ok(!JSON.stringify(p).includes('hunter2'));
      assertAt(p, text, '"password"');
    });
    it('rejects "password" at the environment level too', () => {
      const p = problemsOf(envFile(`"name": "test", "url": "postgres://h/db", "password": "${SECRET}"`))[0];
      assert.match(p.message, /passwords must not be written/);
      assert.ok(!JSON.stringify(p).includes('hunter2'));
    });
    it('accepts a user without password, and a password taken from the environment', () => {
      assert.deepEqual(problemsOf(envFile('"name": "prod", "url": "postgres://deploy@db-prod:5432/app"')), []);
      assert.deepEqual(problemsOf(envFile('"name": "prod", "url": "postgres://deploy:${env:PROD_PW}@db-prod:5432/app"')), []);
      assert.deepEqual(problemsOf(envFile('"name": "prod", "url": "postgres://deploy@db-prod/app?password=${env:PROD_PW}"')), []);
    });
  });

  describe('connection settings', () => {
    for (const [port, expected] of [
      ['"5432"', /expected an integer from 1 to 65535, got the string "5432"/],
      ['0', /expected an integer from 1 to 65535, got the number 0/],
      ['65536', /got the number 65536/],
      ['5432.5', /got the number 5432.5/],
      ['-1', /got the number -1/],
    ] as const) {
      it(`rejects port ${port}`, () => {
        const text = envFile(`"name": "dev", "connection": { "host": "h", "port": ${port} }`);
        const p = onlyProblem(text);
        assert.equal(p.path, 'environments[0].connection.port');
        assert.match(p.message, expected);
        assertAt(p, text, port);
      });
    }
    it('hints to drop the quotes around a numeric port', () => {
      assert.match(onlyProblem(envFile('"name": "dev", "connection": { "port": "5432" }')).hint ?? '', /write 5432 without quotes/);
    });
    it('accepts ports 1 and 65535', () => {
      assert.deepEqual(problemsOf(envFile('"name": "dev", "connection": { "port": 1 }')), []);
      assert.deepEqual(problemsOf(envFile('"name": "dev", "connection": { "port": 65535 }')), []);
    });
    it('rejects an unknown sslmode, suggesting the likely one', () => {
      const text = envFile('"name": "dev", "connection": { "sslmode": "requre" }');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0].connection.sslmode');
      assert.match(p.message, /"requre" is not an sslmode; did you mean "require"\?/);
      assert.match(p.hint ?? '', /disable, allow, prefer, require, verify-ca, verify-full/);
      assertAt(p, text, '"requre"');
    });
    it('accepts every sslmode', () => {
      for (const mode of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
        assert.deepEqual(problemsOf(envFile(`"name": "dev", "connection": { "sslmode": "${mode}" }`)), [], mode);
      }
    });
    it('rejects a passwordEnv that is a reference, hinting at the bare name', () => {
      const text = envFile('"name": "dev", "connection": { "passwordEnv": "${env:PGPASS_DEV}" }');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0].connection.passwordEnv');
      assert.match(p.message, /must be the name of an environment variable/);
      assert.match(p.hint ?? '', /write "PGPASS_DEV"/);
      assertAt(p, text, '"${env:PGPASS_DEV}"');
    });
    it('rejects a passwordEnv that looks like a password, without echoing it', () => {
      const p = onlyProblem(envFile('"name": "dev", "connection": { "passwordEnv": "s3cr3t!pw" }'));
      assert.match(p.message, /must be the name of an environment variable/);
      assert.ok(!JSON.stringify(p).includes('s3cr3t'));
    });
    it('rejects an empty host', () => {
      const p = onlyProblem(envFile('"name": "dev", "connection": { "host": "" }'));
      assert.equal(p.path, 'environments[0].connection.host');
      assert.match(p.message, /is empty/);
    });
    it('rejects malformed references in connection strings', () => {
      const p = onlyProblem(envFile('"name": "dev", "connection": { "user": "${USER}" }'));
      assert.equal(p.path, 'environments[0].connection.user');
      assert.match(p.message, /invalid reference "\$\{USER\}"/);
    });
  });

  describe('requires', () => {
    it('must name an environment defined earlier (message as documented)', () => {
      const text = [
        '{',
        '  "environments": [',
        '    { "name": "dev", "url": "postgres://h/dev" },',
        '    {',
        '      "name": "test",',
        '      "url": "postgres://h/test",',
        '      "requires": "stage"',
        '    }',
        '  ]',
        '}',
      ].join('\n');
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[1].requires');
      assert.equal(p.message, '"stage" is not an environment defined before "test"; the promotion order is the order of "environments" (dev, test)');
      assertAt(p, text, '"stage"');
      assert.deepEqual(p.location, { file: 'bulwark.json', line: 7, column: 19 });
      let thrown: unknown;
      try {
        parseConfig(text, 'bulwark.json', opts());
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof ConfigError);
      assert.equal(
        thrown.describe().split('\n')[0],
        'bulwark.json:7:19: environments[1].requires: "stage" is not an environment defined before "test"; the promotion order is the order of "environments" (dev, test)',
      );
    });
    it('rejects an environment defined later', () => {
      const text = '{ "environments": [\n { "name": "test", "url": "postgres://h/t", "requires": "prod" },\n { "name": "prod", "url": "postgres://h/p" }\n] }';
      const p = onlyProblem(text);
      assert.equal(p.path, 'environments[0].requires');
      assert.match(p.message, /"prod" is not an environment defined before "test"; .*\(test, prod\)/);
      assert.match(p.hint ?? '', /move "prod" above "test"/);
    });
    it('rejects an environment requiring itself', () => {
      const p = onlyProblem(envFile('"name": "dev", "url": "postgres://h/db", "requires": "dev"'));
      assert.match(p.message, /"dev" cannot require itself/);
    });
    it('suggests a close earlier name', () => {
      const text = '{ "environments": [ { "name": "test", "url": "postgres://h/t" }, { "name": "prod", "url": "postgres://h/p", "requires": "tset" } ] }';
      assert.match(onlyProblem(text).hint ?? '', /did you mean "test"\?/);
    });
  });

  describe('durations', () => {
    for (const [value, expected] of [
      ['"2m"', /"2m": "m" is not a PostgreSQL unit; did you mean "2min"\?/],
      ['"5 minutes"', /did you mean "5min"\?/],
      ['"abc"', /"abc" is not a duration/],
      ['"-5s"', /is negative/],
      ['-5', /-5 is not a valid duration/],
      ['1.5', /1.5 is not a valid duration/],
      ['"0.5ms"', /not a whole number of milliseconds/],
      ['"30days"', /did you mean "30d"\?/],
      ['"25d"', /too long/],
      ['"5us"', /unknown unit "us"/],
    ] as const) {
      it(`rejects ${value}`, () => {
        for (const key of ['lockTimeout', 'statementTimeout', 'lockWaitTimeout']) {
          const text = envFile(`"name": "dev", "url": "postgres://h/db", "${key}": ${value}`);
          const p = onlyProblem(text);
          assert.equal(p.path, `environments[0].${key}`);
          assert.match(p.message, expected);
          assertAt(p, text, value);
        }
      });
    }
  });

  describe('history', () => {
    for (const [value, expected] of [
      ['Bulwark', /"Bulwark" is not a valid unquoted PostgreSQL identifier/],
      ['my-schema', /not a valid unquoted PostgreSQL identifier/],
      ['1st', /not a valid unquoted PostgreSQL identifier/],
      ['', /not a valid unquoted PostgreSQL identifier/],
      ['a'.repeat(64), /not a valid unquoted PostgreSQL identifier/],
      ['user', /"user" is a reserved word/],
    ] as const) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        for (const key of ['schema', 'table', 'auditTable']) {
          const text = `{\n  "history": { "${key}": ${JSON.stringify(value)} }\n}`;
          const p = onlyProblem(text);
          assert.equal(p.path, `history.${key}`);
          assert.match(p.message, expected);
          assertAt(p, text, JSON.stringify(value));
        }
      });
    }
    it('accepts identifiers with _ and $ and up to 63 characters, keeps defaults for the rest', () => {
      const c = parseConfig(`{ "history": { "schema": "_ops$1", "table": "${'t'.repeat(63)}" } }`, 'bulwark.json', opts());
      assert.deepEqual(c.history, { schema: '_ops$1', table: 't'.repeat(63), auditTable: 'audit' });
    });
    it('suggests the lower-case spelling', () => {
      assert.match(onlyProblem('{ "history": { "schema": "Bulwark" } }').hint ?? '', /did you mean "bulwark"\?/);
    });
    it('rejects the same table for history and audit', () => {
      const text = '{ "history": { "table": "log", "auditTable": "log" } }';
      const p = onlyProblem(text);
      assert.equal(p.path, 'history.auditTable');
      assert.match(p.message, /must differ from history\.table/);
      assertAt(p, text, '"log"', 2);
    });
  });

  describe('collecting all problems', () => {
    const text = [
      '{',
      '  "migrationDir": "m",',
      '  "environments": [',
      '    { "name": "Dev", "url": "postgres://h/db" },',
      '    { "name": "prod", "url": "postgres://h/db", "protected": "yes", "lockTimeout": "2m" }',
      '  ]',
      '}',
    ].join('\n');

    it('returns every problem, in file order', () => {
      const problems = problemsOf(text);
      const at = (needle: string) => `${posOf(text, needle).line}:${posOf(text, needle).column}`;
      assert.deepEqual(
        problems.map((p) => `${p.location.line}:${p.location.column} ${p.path}`),
        [
          `${at('"migrationDir"')} migrationDir`,
          `${at('"Dev"')} environments[0].name`,
          `${at('"yes"')} environments[1].protected`,
          `${at('"2m"')} environments[1].lockTimeout`,
        ],
      );
      assert.deepEqual(posOf(text, '"yes"'), { line: 5, column: 62 });
    });

    it('throws one ConfigError listing them all, located at the first', () => {
      let thrown: unknown;
      try {
        parseConfig(text, 'bulwark.json', opts());
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof ConfigValidationError);
      assert.ok(thrown instanceof ConfigError);
      assert.equal(thrown.code, 'CONFIG');
      assert.equal(thrown.problems.length, 4);
      assert.deepEqual(thrown.location, { file: 'bulwark.json', line: 2, column: 3 });
      const lines = thrown.describe().split('\n');
      assert.match(lines[0], /^bulwark\.json:2:3: migrationDir: unknown setting "migrationDir"/);
      assert.ok(lines.some((l) => l.startsWith('bulwark.json:4:15: environments[0].name: "Dev" is not a valid environment name')));
      assert.ok(lines.some((l) => l.startsWith('bulwark.json:5:62: environments[1].protected: expected true or false')));
      assert.ok(lines.some((l) => l.startsWith('bulwark.json:5:84: environments[1].lockTimeout: "2m"')));
      // hints stay next to their problem
      const i = lines.findIndex((l) => l.includes('environments[0].name'));
      assert.match(lines[i + 1], /^ {2}hint: use 1 to 32 characters/);
    });

    it('puts the hint of a single problem in `hint`', () => {
      let thrown: unknown;
      try {
        parseConfig(envFile('"name": "Dev", "url": "postgres://h/db"'), 'bulwark.json', opts());
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof ConfigError);
      assert.match(thrown.hint ?? '', /use 1 to 32 characters/);
      assert.equal(thrown.message.split('\n').length, 1);
    });
  });
});

describe('config: loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-config-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads bulwark.json from cwd', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{ "environments": [ { "name": "dev", "url": "postgres://h/db" } ] }');
    const c = loadConfig({ cwd: dir, env: { DATABASE_URL: 'postgres://ignored/db' } });
    assert.equal(c.file, path.join(dir, CONFIG_FILE_NAME));
    assert.equal(c.root, dir);
    assert.equal(c.source, 'file');
    assert.deepEqual(
      c.environments.map((e) => e.name),
      ['dev'],
    );
    assert.equal(c.environments[0].location?.file, path.join(dir, CONFIG_FILE_NAME));
  });

  it('falls back to DATABASE_URL without a file', () => {
    const c = loadConfig({ cwd: dir, env: { DATABASE_URL: 'postgres://u:pw@h/db' } });
    assert.equal(c.file, undefined);
    assert.equal(c.root, dir);
    assert.equal(c.source, 'DATABASE_URL');
    assert.equal(c.migrationsDir, path.join(dir, 'migrations'));
    assert.equal(c.templateDir, path.join(dir, 'migrations-template'));
    assert.deepEqual(c.history, { schema: 'bulwark', table: 'migrations', auditTable: 'audit' });
    assert.equal(c.environments.length, 1);
    assert.equal(c.environments[0].name, 'default');
    // a reference, not the value: the password stays out of the config object
    assert.equal(c.environments[0].url, '${env:DATABASE_URL}');
    assert.equal(c.environments[0].protected, false);
    assert.equal(c.environments[0].lockWaitTimeoutMs, 60_000);
    assert.ok(!JSON.stringify(c).includes('pw'));
  });

  it('uses the embedded database "local" in .bulwark/local without a file and without DATABASE_URL (or with an empty one)', () => {
    for (const env of [{}, { DATABASE_URL: '' }]) {
      const c = loadConfig({ cwd: dir, env });
      assert.equal(c.source, 'embedded');
      assert.equal(c.file, undefined);
      assert.equal(c.migrationsDir, path.join(dir, 'migrations'));
      assert.deepEqual(c.environments, [
        { name: 'local', embedded: { dataDir: path.join(dir, '.bulwark', 'local') }, protected: false, lockWaitTimeoutMs: 60_000 },
      ]);
    }
  });

  it('uses the embedded database when the file defines no "environments" and DATABASE_URL is not set', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{ "migrationsDir": "db" }');
    const c = loadConfig({ cwd: dir, env: {} });
    assert.equal(c.source, 'embedded');
    assert.equal(c.environments[0].name, 'local');
    assert.equal(c.environments[0].embedded?.dataDir, path.join(dir, '.bulwark', 'local'));
    assert.equal(c.migrationsDir, path.join(dir, 'db'));
  });

  it('resolves an embedded dataDir against the folder of bulwark.json, not cwd', () => {
    fs.mkdirSync(path.join(dir, 'conf'));
    fs.writeFileSync(
      path.join(dir, 'conf', CONFIG_FILE_NAME),
      '{ "environments": [ { "name": "local", "embedded": true }, { "name": "ci", "embedded": { "dataDir": "../data/ci" } } ] }',
    );
    const c = loadConfig({ cwd: os.tmpdir(), env: { DATABASE_URL: 'postgres://ignored/db' }, configPath: path.join(dir, 'conf') });
    assert.equal(c.source, 'file');
    assert.deepEqual(c.environments.map((e) => e.embedded?.dataDir), [path.join(dir, 'conf', '.bulwark', 'local'), path.join(dir, 'data', 'ci')]);
  });

  it('applies --migrations-dir without a file', () => {
    const c = loadConfig({ cwd: dir, env: {}, migrationsDir: 'db/m' });
    assert.equal(c.migrationsDir, path.join(dir, 'db', 'm'));
  });

  it('does not walk up to a parent folder', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{ "environments": [ { "name": "dev", "url": "postgres://h/db" } ] }');
    const child = path.join(dir, 'child');
    fs.mkdirSync(child);
    const c = loadConfig({ cwd: child, env: {} });
    assert.equal(c.file, undefined);
    assert.equal(c.source, 'embedded');
    assert.equal(c.environments[0].embedded?.dataDir, path.join(child, '.bulwark', 'local'));
  });

  it('reads an explicit --config path, relative to cwd', () => {
    fs.mkdirSync(path.join(dir, 'conf'));
    fs.writeFileSync(path.join(dir, 'conf', 'db.json'), '{ "migrationsDir": "m" }');
    const c = loadConfig({ cwd: dir, env: {}, configPath: 'conf/db.json' });
    assert.equal(c.file, path.join(dir, 'conf', 'db.json'));
    assert.equal(c.migrationsDir, path.join(dir, 'conf', 'm'));
  });

  it('accepts a folder as --config', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{}');
    const c = loadConfig({ cwd: os.tmpdir(), env: {}, configPath: dir });
    assert.equal(c.file, path.join(dir, CONFIG_FILE_NAME));
  });

  it('fails when an explicit --config path does not exist', () => {
    assert.throws(
      () => loadConfig({ cwd: dir, env: { DATABASE_URL: 'postgres://h/db' }, configPath: 'missing.json' }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(path.join(dir, 'missing.json')) && /not found/.test(e.message),
    );
  });

  it('reports problems with the absolute file path', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{\n  "environments": 1\n}');
    assert.throws(
      () => loadConfig({ cwd: dir, env: {} }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.describe().startsWith(`${path.join(dir, CONFIG_FILE_NAME)}:2:19: environments: expected an array`),
    );
  });

  it('uses DATABASE_URL when the file defines no "environments" at all', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{ "migrationsDir": "db" }');
    const c = loadConfig({ cwd: dir, env: { DATABASE_URL: 'postgres://h/db' } });
    assert.equal(c.source, 'DATABASE_URL');
    assert.equal(c.environments[0].name, 'default');
    assert.equal(c.migrationsDir, path.join(dir, 'db'));
  });

  it('does not use DATABASE_URL when the file has an empty "environments"', () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{ "environments": [] }');
    const c = loadConfig({ cwd: dir, env: { DATABASE_URL: 'postgres://h/db' } });
    assert.equal(c.source, 'file');
    assert.deepEqual(c.environments, []);
  });
});

describe('config: findEnvironment', () => {
  const config = parseConfig(SPEC_EXAMPLE, 'bulwark.json', opts());

  it('returns the first environment when no name is given', () => {
    assert.equal(findEnvironment(config, undefined).name, 'dev');
  });

  it('finds an environment by name', () => {
    assert.equal(findEnvironment(config, 'prod').name, 'prod');
  });

  it('lists the environments for an unknown name, with a suggestion', () => {
    assert.throws(
      () => findEnvironment(config, 'prd'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === 'unknown environment "prd"; did you mean "prod"? The environments are: dev, test, prod' &&
        e.location?.file === path.join(CWD, 'bulwark.json'),
    );
    assert.throws(
      () => findEnvironment(config, 'staging'),
      (e: unknown) => e instanceof ConfigError && e.message === 'unknown environment "staging". The environments are: dev, test, prod',
    );
  });

  it('explains what to configure when there is nothing', () => {
    const none: BulwarkConfig = {
      root: CWD,
      migrationsDir: path.join(CWD, 'migrations'),
      templateDir: path.join(CWD, 'migrations-template'),
      history: { schema: 'bulwark', table: 'migrations', auditTable: 'audit' },
      environments: [],
      source: 'none',
    };
    for (const name of [undefined, 'prod']) {
      assert.throws(
        () => findEnvironment(none, name),
        (e: unknown) =>
          e instanceof ConfigError &&
          /no database configured/.test(e.message) &&
          e.message.includes('bulwark.json') &&
          e.message.includes('DATABASE_URL') &&
          (e.hint ?? '').includes('"environments"') &&
          (e.hint ?? '').includes('${env:DATABASE_URL}') &&
          (e.hint ?? '').includes('DATABASE_URL=postgres://'),
      );
    }
  });

  it('explains an empty "environments" in the file', () => {
    const empty = parseConfig('{ "environments": [] }', 'bulwark.json', opts());
    assert.throws(
      () => findEnvironment(empty, undefined),
      (e: unknown) => e instanceof ConfigError && /bulwark\.json defines no environments/.test(e.message) && (e.hint ?? '').includes('"name": "dev"'),
    );
  });

  it('explains that only "default" exists with DATABASE_URL', () => {
    const c = parseConfig('{}', 'bulwark.json', opts({ DATABASE_URL: 'postgres://h/db' }));
    assert.equal(findEnvironment(c, undefined).name, 'default');
    assert.equal(findEnvironment(c, 'default').name, 'default');
    assert.throws(
      () => findEnvironment(c, 'prod'),
      (e: unknown) => e instanceof ConfigError && /unknown environment "prod": the only environment is "default", made from DATABASE_URL/.test(e.message),
    );
  });
});

describe('config: resolveConnection', () => {
  const SECRET = 'Tr0ub4dor&3';
  const text = [
    '{',
    '  "environments": [',
    '    { "name": "dev", "url": "${env:DEV_DATABASE_URL}" },',
    '    { "name": "test", "connection": { "host": "${env:TEST_HOST}", "port": 5433, "database": "app", "user": "deploy", "sslmode": "require", "passwordEnv": "TEST_PGPASSWORD" } },',
    '    { "name": "prod", "url": "postgres://deploy@db-prod:5432/app", "requires": "test" },',
    '    { "name": "nopw", "connection": { "host": "localhost", "user": "me" } },',
    '    { "name": "split", "url": "postgres://${env:PGUSER}:${env:PGPW}@db:5432/app?sslmode=verify-full" },',
    '    { "name": "socket", "connection": { "host": "/var/run/postgresql", "database": "app" } },',
    '    { "name": "ssl", "connection": { "host": "h", "sslmode": "${env:SSLMODE}" } }',
    '  ]',
    '}',
  ].join('\n');
  const config = parseConfig(text, 'bulwark.json', opts());
  const env = (name: string) => findEnvironment(config, name);

  it('parsing does not need any variable; each environment needs only its own', () => {
    const r = resolveConnection(env('prod'), {});
    assert.deepEqual(r.pg, { connectionString: 'postgres://deploy@db-prod:5432/app' });
    assert.equal(r.display, 'postgres://deploy@db-prod:5432/app');
    assert.deepEqual(r.secrets, []);
  });

  it('expands ${env:VAR} in a url and hides its password', () => {
    const url = `postgres://deploy:${SECRET}@db-dev:5432/app`;
    const r = resolveConnection(env('dev'), { DEV_DATABASE_URL: url });
    assert.equal(r.pg.connectionString, url);
    assert.equal(r.pg.password, undefined);
    assert.equal(r.display, 'postgres://deploy@db-dev:5432/app');
    assert.deepEqual(r.secrets, [SECRET]);
  });

  it('hides passwords with @ and : and percent-encoding', () => {
    for (const pw of ['p@ss:w0rd', 'a@b@c', encodeURIComponent('p@ss:w/0rd#?')]) {
      const r = resolveConnection(env('dev'), { DEV_DATABASE_URL: `postgresql://deploy:${pw}@db-dev/app?sslmode=require` });
      assert.equal(r.display, 'postgresql://deploy@db-dev/app?sslmode=require', pw);
      assert.ok(r.secrets.includes(pw));
      assert.ok(r.secrets.includes(decodeURIComponent(pw)));
    }
  });

  it('hides a password given as a query parameter', () => {
    const encoded = encodeURIComponent(SECRET);
    const r = resolveConnection(env('dev'), { DEV_DATABASE_URL: `postgres://deploy@db/app?password=${encoded}&sslmode=require` });
    assert.equal(r.display, 'postgres://deploy@db/app?sslmode=require');
    assert.deepEqual(r.secrets, [encoded, SECRET]);
  });

  it('expands references inside a url', () => {
    const r = resolveConnection(env('split'), { PGUSER: 'deploy', PGPW: SECRET });
    // uselibpqcompat: pg then reads sslmode as libpq does (require = encrypt without verifying).
    assert.equal(r.pg.connectionString, `postgres://deploy:${SECRET}@db:5432/app?sslmode=verify-full&uselibpqcompat=true`);
    assert.equal(r.display, 'postgres://deploy@db:5432/app?sslmode=verify-full');
    assert.deepEqual(r.secrets, [SECRET]);
  });

  it('names the variable, the environment and the setting location when a variable is missing', () => {
    for (const processEnv of [{}, { DEV_DATABASE_URL: '' }]) {
      assert.throws(
        () => resolveConnection(env('dev'), processEnv),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message === 'environment variable DEV_DATABASE_URL is not set (used by environments[0].url of environment "dev")' &&
          e.describe().startsWith(`bulwark.json:3:${posOf(text, '"${env:DEV_DATABASE_URL}"').column}: environment variable DEV_DATABASE_URL`),
      );
    }
    assert.throws(
      () => resolveConnection(env('split'), { PGUSER: 'me' }),
      (e: unknown) => e instanceof ConfigError && /PGPW is not set \(used by environments\[4\]\.url of environment "split"\)/.test(e.message) && e.location?.line === 7,
    );
    assert.throws(
      () => resolveConnection(env('test'), { TEST_PGPASSWORD: SECRET }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /TEST_HOST is not set \(used by environments\[1\]\.connection\.host of environment "test"\)/.test(e.message) &&
        e.location?.line === 4 &&
        e.location?.column === text.split('\n')[3].indexOf('"${env:TEST_HOST}"') + 1,
    );
  });

  it('refuses a variable that does not hold a postgres URL, without echoing it', () => {
    assert.throws(
      () => resolveConnection(env('dev'), { DEV_DATABASE_URL: `mysql://root:${SECRET}@h/db` }),
      (e: unknown) =>
        e instanceof ConfigError && /does not expand to a postgres:\/\/ or postgresql:\/\/ URL \(it starts with "mysql:\/\/"\)/.test(e.message) && !e.describe().includes(SECRET),
    );
  });

  it('builds pg options from "connection", with the password from passwordEnv', () => {
    const r = resolveConnection(env('test'), { TEST_HOST: 'db-test', TEST_PGPASSWORD: SECRET });
    assert.deepEqual(r.pg, { host: 'db-test', port: 5433, database: 'app', user: 'deploy', password: SECRET, ssl: { rejectUnauthorized: false } });
    assert.equal(r.display, 'postgres://deploy@db-test:5433/app?sslmode=require');
    assert.deepEqual(r.secrets, [SECRET]);
  });

  it('fails when the passwordEnv variable is not set, pointing at passwordEnv', () => {
    assert.throws(
      () => resolveConnection(env('test'), { TEST_HOST: 'db-test' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /TEST_PGPASSWORD is not set \(named by environments\[1\]\.connection\.passwordEnv of environment "test"\)/.test(e.message) &&
        e.location?.line === 4 &&
        e.location?.column === text.split('\n')[3].indexOf('"TEST_PGPASSWORD"') + 1 &&
        /PGPASSWORD or ~\/\.pgpass/.test(e.hint ?? ''),
    );
  });

  it('leaves the password to libpq conventions when none is configured', () => {
    const r = resolveConnection(env('nopw'), { PGPASSWORD: 'not-read-here' });
    assert.deepEqual(r.pg, { host: 'localhost', user: 'me' });
    assert.ok(!('password' in r.pg));
    assert.equal(r.display, 'postgres://me@localhost');
    assert.deepEqual(r.secrets, []);
  });

  it('encodes a socket directory in the display', () => {
    assert.equal(resolveConnection(env('socket'), {}).display, 'postgres://%2Fvar%2Frun%2Fpostgresql/app');
  });

  it('maps sslmode to pg ssl options', () => {
    const expected: [string, unknown][] = [
      ['disable', false],
      ['allow', { rejectUnauthorized: false }],
      ['prefer', { rejectUnauthorized: false }],
      ['require', { rejectUnauthorized: false }],
      ['verify-ca', { rejectUnauthorized: true }],
      ['verify-full', { rejectUnauthorized: true }],
    ];
    for (const [mode, ssl] of expected) {
      assert.deepEqual(resolveConnection(env('ssl'), { SSLMODE: mode }).pg.ssl, ssl, mode);
    }
    assert.equal(resolveConnection(env('nopw'), {}).pg.ssl, undefined);
  });

  it('rejects an sslmode variable with an invalid value', () => {
    assert.throws(
      () => resolveConnection(env('ssl'), { SSLMODE: 'on' }),
      (e: unknown) => e instanceof ConfigError && /expands to "on", which is not an sslmode/.test(e.message) && e.location?.line === 9,
    );
  });

  it('resolves the DATABASE_URL fallback environment', () => {
    const c = parseConfig('{}', 'bulwark.json', opts({ DATABASE_URL: 'x' }));
    const d = findEnvironment(c, undefined);
    const r = resolveConnection(d, { DATABASE_URL: `postgres://app:${SECRET}@h:5432/db` });
    assert.equal(r.pg.connectionString, `postgres://app:${SECRET}@h:5432/db`);
    assert.equal(r.display, 'postgres://app@h:5432/db');
    assert.throws(
      () => resolveConnection(d, {}),
      (e: unknown) => e instanceof ConfigError && /DATABASE_URL is not set \(needed by environment "default"\)/.test(e.message),
    );
  });

  it('never puts a password in display', () => {
    const urls = [
      `postgres://u:${SECRET}@h/db`,
      `postgres://u:${SECRET}@h1:5432,h2:5433/db?target_session_attrs=read-write`,
      `postgresql://u%40x:${encodeURIComponent(SECRET)}@[::1]:5432/db`,
      `postgres://u:${SECRET}@${SECRET}x@h/db`,
      `postgres://u@h/db?sslpassword=${SECRET}`,
      `postgres://u:${SECRET}@h/db?application_name=a@b`,
    ];
    for (const url of urls) {
      const r = resolveConnection(env('dev'), { DEV_DATABASE_URL: url });
      assert.ok(!r.display.includes(SECRET) && !r.display.includes(encodeURIComponent(SECRET)), `${url} → ${r.display}`);
    }
  });
});

describe('config: backup', () => {
  const envOf = (body: string) => parseConfig(envFile(body), 'bulwark.json', opts()).environments[0];

  it('is on for protected server environments by default, in .bulwark/backups, with the touched tables', () => {
    const b = envOf('"name": "prod", "url": "postgres://h/db", "protected": true').backup;
    assert.deepEqual(b, { dir: path.join(CWD, '.bulwark', 'backups'), data: 'touched', explicit: false });
    assert.equal(envOf('"name": "dev", "url": "postgres://h/db"').backup, undefined);
    assert.equal(envOf('"name": "prod", "url": "postgres://h/db", "protected": true, "backup": false').backup, undefined);
    assert.equal(envOf('"name": "prod", "embedded": true, "protected": true').backup, undefined);
  });

  it('takes true or an object; folders and a pg_dump path resolve against the config file', () => {
    assert.deepEqual(envOf('"name": "dev", "url": "postgres://h/db", "backup": true').backup, { dir: path.join(CWD, '.bulwark', 'backups'), data: 'touched', explicit: true });
    assert.deepEqual(
      envOf('"name": "prod", "url": "postgres://h/db", "backup": { "dir": "../dumps", "pgDump": "tools/pg_dump", "data": "all" }').backup,
      { dir: path.resolve(CWD, '../dumps'), pgDump: path.join(CWD, 'tools', 'pg_dump'), data: 'all', explicit: true },
    );
    // A bare command name is looked up on PATH, not made a path.
    assert.equal(envOf('"name": "prod", "url": "postgres://h/db", "backup": { "pgDump": "pg_dump16" }').backup?.pgDump, 'pg_dump16');
    assert.equal(envOf('"name": "prod", "url": "postgres://h/db", "protected": true, "backup": { "enabled": false }').backup, undefined);
  });

  it('reports wrong values at their place', () => {
    const cases: [string, string, string, RegExp][] = [
      ['"backup": "yes"', 'environments[0].backup', '"yes"', /expected true, false or an object/],
      ['"backup": { "data": "some" }', 'environments[0].backup.data', '"some"', /expected "touched" .* or "all", got "some"/],
      ['"backup": { "dir": "" }', 'environments[0].backup.dir', '""', /must not be empty/],
      ['"backup": { "enabled": "no" }', 'environments[0].backup.enabled', '"no"', /expected true or false/],
      ['"backup": { "folder": "x" }', 'environments[0].backup', '"folder"', /folder/],
    ];
    for (const [setting, p, needle, re] of cases) {
      const text = envFile(`"name": "prod", "url": "postgres://h/db", ${setting}`);
      const problem = onlyProblem(text);
      assert.ok(problem.path.startsWith(p), `${setting}: ${problem.path}`);
      assert.match(problem.message, re, setting);
      assertAt(problem, text, needle);
    }
    const text = envFile('"name": "dev", "embedded": true, "backup": true');
    const problem = onlyProblem(text);
    assert.equal(problem.path, 'environments[0].backup');
    assert.match(problem.message, /pg_dump, which cannot reach the embedded PostgreSQL/);
  });
});
