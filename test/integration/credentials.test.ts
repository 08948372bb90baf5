import { strict as assert } from 'node:assert';
import { apply, ConnectionError, CredentialSource, Engine, EnvironmentConfig, loadConfig } from '../../src/core';
import { PasswordServer, startPasswordServer } from '../helpers/passwordServer';
import { makeWorkspace, migration, Workspace } from '../helpers/workspace';

/** An in-memory credential store that records what the engine asked of it. */
function store(answers: (string | undefined)[]) {
  const saved = new Map<string, string>();
  const calls: string[] = [];
  const source: CredentialSource = {
    async saved(env) {
      calls.push(`saved:${env.name}`);
      return saved.get(env.name);
    },
    async ask(env, display, reason) {
      calls.push(`ask:${env.name}`);
      assert.ok(!display.includes('pw-'), 'the connection shown when asking has no password');
      assert.ok(reason.length > 0);
      return answers.shift();
    },
    async save(env: EnvironmentConfig, pw: string) {
      calls.push(`save:${env.name}`);
      saved.set(env.name, pw);
    },
    async forget(env) {
      calls.push(`forget:${env.name}`);
      saved.delete(env.name);
    },
  };
  return { saved, calls, source };
}

describe('credentials: a server that demands a password', function () {
  let server: PasswordServer | undefined;
  let ws: Workspace;
  before(async function () {
    server = await startPasswordServer();
    if (!server) this.skip();
  });
  after(() => server?.stop());
  beforeEach(() => {
    ws = makeWorkspace();
    ws.write('20260101000000_a.sql', migration('CREATE TABLE IF NOT EXISTS cred_a (id int);', 'DROP TABLE IF EXISTS cred_a;'));
    ws.writeConfig({ environments: [{ name: 'secure', url: server!.url }] });
  });
  afterEach(() => ws.cleanup());

  const engineWith = (source: CredentialSource, logs: string[] = []) =>
    new Engine({
      config: loadConfig({ cwd: ws.dir, env: {} }),
      processEnv: {},
      credentials: source,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
    });

  it('asks once when the server wants a password, saves it after it worked, then reuses it without asking', async () => {
    const s = store([server!.password]);
    const r = await apply(engineWith(s.source), 'secure');
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(s.calls, ['saved:secure', 'ask:secure', 'save:secure']);
    assert.equal(s.saved.get('secure'), server!.password);
    s.calls.length = 0;
    const st = await engineWith(s.source).status('secure');
    assert.equal(st.reachable, true);
    assert.equal(st.migrations[0].status, 'applied');
    assert.deepEqual(s.calls, ['saved:secure'], 'no second prompt');
  });

  it('forgets a saved password the server rejects and asks again', async () => {
    const s = store([server!.password]);
    s.saved.set('secure', 'stale-password');
    const st = await engineWith(s.source).status('secure');
    assert.equal(st.reachable, true, st.error);
    assert.deepEqual(s.calls, ['saved:secure', 'forget:secure', 'ask:secure', 'save:secure']);
    assert.equal(s.saved.get('secure'), server!.password);
  });

  it('a declined prompt is a clear connection error that names the environment; a wrong answer is not saved', async () => {
    const declined = store([undefined]);
    await assert.rejects(apply(engineWith(declined.source), 'secure'), (e: unknown) => {
      assert.ok(e instanceof ConnectionError);
      assert.match((e as Error).message, /"secure" needs a password and none was given/);
      return true;
    });
    const wrong = store(['not-the-password']);
    const logs: string[] = [];
    await assert.rejects(apply(engineWith(wrong.source, logs), 'secure'), (e: unknown) => {
      assert.ok(!(e as Error).message.includes('not-the-password'), 'the typed password never appears in errors');
      return true;
    });
    assert.equal(wrong.saved.size, 0);
    assert.ok(!logs.join('\n').includes('not-the-password'));
  });

  it('a password from the configuration (passwordEnv) wins: the source is never asked', async () => {
    const u = new URL(server!.url);
    ws.writeConfig({ environments: [{ name: 'secure', connection: { host: u.hostname, port: Number(u.port), user: 'postgres', database: 'postgres', passwordEnv: 'SECURE_PW' } }] });
    const s = store([]);
    const engine = new Engine({ config: loadConfig({ cwd: ws.dir, env: {} }), processEnv: { SECURE_PW: server!.password }, credentials: s.source });
    const st = await engine.status('secure');
    assert.equal(st.reachable, true, st.error);
    assert.deepEqual(s.calls, []);
  });
});
