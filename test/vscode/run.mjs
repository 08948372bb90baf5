#!/usr/bin/env node
// Runs Bulwark's tests inside a REAL VS Code: code-server (the VS Code server and its Node extension
// host, installed from npm by install-host.sh and run on Node 24) shown in Debian's chromium, driven by
// playwright-core.
//
//   npm run build && node test/vscode/run.mjs [--only host|ui] [--grep <pattern>]
//
// Phase "host": the mocha suite out/vscode-test/suite.js (test/vscode/suite/) runs INSIDE the extension
//   host, with the extension loaded from this repository in development form (the web workbench's
//   `payload` development options; code-server must run with --vscode-option enable-smoke-test-driver).
// Phase "ui": Playwright journeys (test/vscode/ui/journeys.mjs) click through the workbench like a
//   person, on a fresh copy of the fixture workspace and fresh databases; a screenshot of each goes to
//   test/.artifacts/vscode/<journey>.png.
//
// Each run creates two throwaway PostgreSQL databases (the fixture's "dev" and "prod") on
// BULWARK_TEST_DATABASE_URL || DATABASE_URL || postgres://postgres@127.0.0.1:5432/postgres and always
// drops them. Environment knobs:
//   BULWARK_VSCODE_KEEP=1             keep the temp folder (workspaces, profile, code-server.log)
//   BULWARK_VSCODE_DEBUG=1            also print the browser console and code-server's own log
//   BULWARK_VSCODE_HOST_TIMEOUT_MS    deadline of the host phase (default 600000)
//   BULWARK_VSCODE_JOURNEY_TIMEOUT_MS deadline of each UI journey (default 180000)
//   BULWARK_VSCODE_EXTENSION=<dir>    load another extension folder instead of the repository (harness debugging)
//   BULWARK_VSCODE_CHROMIUM=<path>    browser binary (default /usr/bin/chromium)
//   BULWARK_VSCODE_JOURNEYS=<file>    another journeys module (default test/vscode/ui/journeys.mjs)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { packageVsix } from './vsix.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const FIXTURE = path.join(HERE, 'fixture');
const SUITE = path.join(REPO, 'out/vscode-test/suite.js');
const ARTIFACTS = path.join(REPO, 'test/.artifacts/vscode');
const ADMIN_URL = process.env.BULWARK_TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const KEEP = process.env.BULWARK_VSCODE_KEEP === '1';
const DEBUG = process.env.BULWARK_VSCODE_DEBUG === '1';
const HOST_TIMEOUT_MS = Number(process.env.BULWARK_VSCODE_HOST_TIMEOUT_MS || 600_000);
const JOURNEY_TIMEOUT_MS = Number(process.env.BULWARK_VSCODE_JOURNEY_TIMEOUT_MS || 180_000);
const WORKBENCH_TIMEOUT_MS = 180_000;
const CHROMIUM = process.env.BULWARK_VSCODE_CHROMIUM || '/usr/bin/chromium';
const JOURNEYS = path.resolve(process.env.BULWARK_VSCODE_JOURNEYS || path.join(HERE, 'ui/journeys.mjs'));
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
// The test profile: no start page, trust prompt, telemetry, update checks, experiments or AI features,
// and nothing of Bulwark's that runs on its own in the background.
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.enableExperiments': false,
  'chat.disableAIFeatures': true,
  'workbench.tips.enabled': false,
  // The web workbench saves after a delay by default; desktop VS Code (what users have) does not.
  'files.autoSave': 'off',
  // The secondary side bar (chat) would take a third of every screenshot.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'bulwark.replayOnSave': false,
};

// ---------------------------------------------------------------------------------------------------
// output, timing

const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const say = (msg) => console.log(`[vscode ${secs(Date.now() - t0).padStart(7)}] ${msg}`);
const timings = [];
async function timed(label, fn) {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([label, Date.now() - start]);
  }
}

class SetupError extends Error {}

function usage(code) {
  console.log('usage: node test/vscode/run.mjs [--only host|ui] [--grep <pattern>]\n' +
    '  --only host   only the mocha suite inside the extension host (test/vscode/suite)\n' +
    '  --only ui     only the Playwright journeys (test/vscode/ui/journeys.mjs)\n' +
    '  --grep P      only host tests whose full title matches P, and journeys whose name matches P\n' +
    'Build first: npm run build (dist/extension.js and out/vscode-test/).');
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { only: undefined, grep: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) {
        console.error(`${key} needs a value`);
        usage(64);
      }
      return argv[++i];
    };
    if (key === '--only') opts.only = value();
    else if (key === '--grep' || key === '-g') opts.grep = value();
    else if (key === '--help' || key === '-h') usage(0);
    else {
      console.error(`unknown argument: ${a}`);
      usage(64);
    }
  }
  if (opts.only !== undefined && opts.only !== 'host' && opts.only !== 'ui') {
    console.error(`--only must be "host" or "ui", not ${JSON.stringify(opts.only)}`);
    usage(64);
  }
  if (opts.grep !== undefined) {
    try {
      new RegExp(opts.grep);
    } catch (e) {
      console.error(`--grep: ${e.message}`);
      usage(64);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------
// cleanup: everything this run starts or creates registers its undo here; it runs once, in reverse
// order, on normal exit, on errors and on SIGINT/SIGTERM.

const cleanups = [];
let cleaning;
function onCleanup(label, fn) {
  cleanups.push({ label, fn });
}
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const { label, fn } = cleanups.pop();
      try {
        await fn();
      } catch (e) {
        console.error(`[vscode] cleanup: ${label}: ${e?.message ?? e}`);
      }
    }
  })();
  return cleaning;
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) {
      // Second signal: stop waiting for a slow cleanup, but still stop the processes (synchronous).
      killGroupsNow();
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n[vscode] ${sig}: stopping code-server and the browser, dropping the test databases…`);
    cleanup().finally(() => process.exit(130));
  });
}
// Last resort when the process exits without running cleanup (process.exit elsewhere, a crash):
// only synchronous work is possible here, so stop the process groups; databases may be left behind.
const groups = new Set();
function killGroupsNow() {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
}
process.on('exit', killGroupsNow);

// ---------------------------------------------------------------------------------------------------
// host install

async function installHost() {
  say('bash test/vscode/install-host.sh (Node 24 + code-server; reuses the cache when installed)');
  const child = spawn('bash', [path.join(HERE, 'install-host.sh')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => process.stderr.write(d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new SetupError(`test/vscode/install-host.sh failed (exit code ${code})`);
  const dir = out.trim().split('\n').pop()?.trim();
  if (!dir) throw new SetupError('test/vscode/install-host.sh printed no folder on its last line');
  const node = path.join(dir, 'node24/bin/node');
  const codeServer = path.join(dir, 'cs/bin/code-server');
  for (const f of [node, codeServer]) if (!fs.existsSync(f)) throw new SetupError(`install-host.sh reported ${dir}, but ${f} is missing`);
  // bin/code-server is a symlink to out/node/entry.js (a `#!/usr/bin/env node` script): run that file with Node 24.
  return { dir, node, entry: fs.realpathSync(codeServer) };
}

function checkBuild(opts) {
  const missing = [];
  if (!fs.existsSync(path.join(REPO, 'dist/extension.js'))) missing.push('dist/extension.js');
  if (opts.only !== 'ui' && !fs.existsSync(SUITE)) missing.push('out/vscode-test/suite.js');
  if (missing.length) throw new SetupError(`${missing.join(' and ')} missing: run \`npm run build\` first (it bundles the extension and the in-host tests)`);
  if (!fs.existsSync(CHROMIUM)) throw new SetupError(`${CHROMIUM} not found (install-host.sh installs Debian's chromium)`);
}

// ---------------------------------------------------------------------------------------------------
// databases

function urlFor(database) {
  const u = new URL(ADMIN_URL);
  u.pathname = '/' + database;
  return u.toString();
}
function redact(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function admin(fn) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (e) {
    throw new SetupError(`cannot connect to PostgreSQL at ${redact(ADMIN_URL)} (BULWARK_TEST_DATABASE_URL / DATABASE_URL): ${e.message}`);
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

async function dropDatabase(c, name) {
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } catch (e) {
    if (e.code !== '42601') throw e; // before PostgreSQL 13 there is no WITH (FORCE)
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await c.query(`DROP DATABASE IF EXISTS "${name}"`);
  }
}

/** The fixture's two databases, created empty (dropped first when they exist: a reset). */
let databasesTouched = false;
async function createDatabases(names) {
  await admin(async (c) => {
    databasesTouched = true;
    for (const name of Object.values(names)) {
      await dropDatabase(c, name);
      await c.query(`CREATE DATABASE "${name}"`);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// code-server

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Stops a whole process group: SIGTERM, then SIGKILL when it has not gone within `graceMs`. */
async function killGroup(pid, graceMs = 5000) {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    groups.delete(pid);
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(-pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(-pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  groups.delete(pid);
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function startCodeServer(host, tmp, env) {
  const port = await freePort();
  const dirs = {
    udd: path.join(tmp, 'profile/user-data'),
    exts: path.join(tmp, 'profile/extensions'),
    xdgConfig: path.join(tmp, 'xdg/config'),
    xdgData: path.join(tmp, 'xdg/data'),
    xdgRuntime: path.join(tmp, 'xdg/run'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(dirs.xdgRuntime, 0o700);
  fs.mkdirSync(path.join(dirs.udd, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.udd, 'User/settings.json'), JSON.stringify(USER_SETTINGS, null, 2) + '\n');
  const config = path.join(tmp, 'profile/config.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const log = path.join(tmp, 'code-server.log');
  const logFd = fs.openSync(log, 'a');
  const args = [
    host.entry,
    '--config', config,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--user-data-dir', dirs.udd,
    '--extensions-dir', dirs.exts,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--vscode-option', 'enable-smoke-test-driver',
  ];
  const childEnv = {
    ...process.env,
    ...env,
    // Node 24 first: code-server and the processes it starts (extension host, pty host) use it.
    PATH: `${path.dirname(host.node)}${path.delimiter}${process.env.PATH ?? ''}`,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_RUNTIME_DIR: dirs.xdgRuntime,
  };
  // What this runner was given must not leak into the extension host as the fixture's connection.
  delete childEnv.DATABASE_URL;
  delete childEnv.NODE_OPTIONS;
  const started = Date.now();
  // detached: its own process group (like setsid), so that the extension host, the pty host and the
  // file watcher can be stopped with it: kill(-pid).
  const child = spawn(host.node, args, { cwd: tmp, env: childEnv, detached: true, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  groups.add(child.pid);
  let exited = null;
  const died = new Promise((_, reject) =>
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      reject(new Error(`code-server exited (${JSON.stringify(exited)}):\n${tail(log)}`));
    }),
  );
  died.catch(() => {}); // only the phases racing against it report it
  onCleanup('stop code-server', async () => {
    await killGroup(child.pid);
    if (DEBUG) console.log(`----- code-server.log -----\n${tail(log, 200)}\n-----`);
  });
  say(`code-server pid ${child.pid} on 127.0.0.1:${port} (log: ${log})`);
  const deadline = Date.now() + 90_000;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    if (exited) throw new SetupError(`code-server exited during start-up (${JSON.stringify(exited)}):\n${tail(log)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new SetupError(`code-server did not answer /healthz within 90 s:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, delay));
  }
  say(`code-server ready after ${secs(Date.now() - started)}`);
  return { port, pid: child.pid, log, died, hasExited: () => exited !== null };
}

// ---------------------------------------------------------------------------------------------------
// browser

function workbenchUrl(port, workspace, payload) {
  const authority = `127.0.0.1:${port}`;
  return `http://${authority}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
const remote = (port, p) => `vscode-remote://127.0.0.1:${port}${p}`;

function copyFixture(dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(FIXTURE, dest, { recursive: true });
  return dest;
}

async function newPage(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  page.on('pageerror', (e) => DEBUG && console.log(`[${name} page error] ${e.message}`));
  if (DEBUG) page.on('console', (m) => console.log(`[${name} console.${m.type()}] ${m.text()}`));
  return { context, page };
}

/** Resolves when the workbench's activity bar is on screen (the page's `load` event can come very late). */
async function openWorkbench(page, url, server) {
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: WORKBENCH_TIMEOUT_MS });
  await Promise.race([
    page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: WORKBENCH_TIMEOUT_MS }),
    watchServer(server),
  ]);
}

/** Rejects when code-server exits (never resolves otherwise). */
function watchServer(server) {
  return server.died;
}

function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${secs(ms)}`)), ms);
  });
  return { promise: p, cancel: () => clearTimeout(timer) };
}

// ---------------------------------------------------------------------------------------------------
// phase: host (mocha inside the extension host)

const LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, warning: 3, error: 4 };
// Workbench chatter that says nothing about the tests (shown with BULWARK_VSCODE_DEBUG=1): connection
// set-up, the gallery lookup that fails offline, and shutdown notes.
const NOISE = new RegExp(
  [
    'open-vsx\\.org', 'Resolv(ing|ed) connection token', 'Creating a socket', '\\[reconnection-grace-time\\]',
    'Updating additional builtin extensions cache', '\\[Service Worker\\]', '\\[AgentHost', '\\[AccountPolicyGate\\]',
    '\\[lifecycle\\] Long running operations during shutdown', "authentication provider 'github'",
    'Extension host \\(.*\\) is (un)?responsive',
  ].join('|'),
);

async function hostPhase({ browser, server, tmp, extensionPath, grep, resultsFile }) {
  const result = { passed: 0, failed: 0, pending: 0, failures: [], error: undefined };
  const workspace = copyFixture(path.join(tmp, 'host/bulwark-fixture'));
  fs.rmSync(resultsFile, { force: true });
  const { context, page } = await newPage(browser, 'host');
  const url = workbenchUrl(server.port, workspace, [
    ['extensionDevelopmentPath', remote(server.port, extensionPath)],
    ['extensionTestsPath', remote(server.port, SUITE)],
    ['skipWelcome', 'true'],
  ]);
  let exitInfo;
  let reportExit;
  const exited = new Promise((resolve) => (reportExit = resolve));
  // The workbench calls these when it runs extension tests (the hooks @vscode/test-web uses):
  // codeAutomationLog(level, message) carries the extension host's console and the workbench log,
  // codeAutomationExit(code, logs) comes when run() settles (0 = resolved). Exposed before page.goto.
  await page.exposeFunction('codeAutomationLog', (level, message) => {
    const text = Array.isArray(message) ? message.join(' ') : String(message);
    if (!DEBUG && ((LEVELS[level] ?? 2) < LEVELS.info || NOISE.test(text) || !text.trim())) return;
    for (const line of text.split('\n')) console.log(`  [host${level === 'info' ? '' : ' ' + level}] ${line}`);
  });
  await page.exposeFunction('codeAutomationExit', (code, logs) => {
    exitInfo = { code, logs };
    reportExit(code);
  });
  const limit = deadline(HOST_TIMEOUT_MS, 'host tests');
  const startedAt = Date.now();
  try {
    await Promise.race([openWorkbench(page, url, server), limit.promise]);
    say(`host: workbench up after ${secs(Date.now() - startedAt)}; waiting for the suite (deadline ${secs(HOST_TIMEOUT_MS)})`);
    timings.push(['host: workbench up', Date.now() - startedAt]);
    const code = await Promise.race([exited, limit.promise, watchServer(server), new Promise((_, rej) => page.on('crash', () => rej(new Error('the browser page crashed'))))]);
    say(`host: extension host reported exit code ${code}`);
  } catch (e) {
    result.error = e.message;
  } finally {
    limit.cancel();
  }
  // What the suite wrote (index.ts): one JSON object a line.
  let ended = false;
  if (fs.existsSync(resultsFile)) {
    for (const line of fs.readFileSync(resultsFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let ev;
      try {
        ev = JSON.parse(line);
      } catch {
        continue;
      }
      if (ev.event === 'pass') result.passed++;
      else if (ev.event === 'pending') result.pending++;
      else if (ev.event === 'fail') {
        result.failed++;
        result.failures.push(`${ev.title}: ${String(ev.error ?? '').split('\n')[0]}`);
      } else if (ev.event === 'end') ended = true;
      else if (ev.event === 'error') result.error ??= `the suite could not start: ${String(ev.error).split('\n')[0]}`;
    }
  }
  if (!result.error) {
    if (!exitInfo) result.error = 'the workbench never reported the end of the tests';
    else if (!ended) result.error = `the suite did not run to its end (exit code ${exitInfo.code}; is out/vscode-test/suite.js current? see the [host] lines above)`;
    else if (exitInfo.code !== 0 && result.failed === 0) result.error = `the extension host reported exit code ${exitInfo.code}`;
  }
  if (exitInfo?.logs?.length && (result.error || result.failed)) {
    const dir = path.join(ARTIFACTS, 'host-logs');
    for (const { relativePath, contents } of exitInfo.logs) {
      const f = path.join(dir, relativePath);
      if (!f.startsWith(dir + path.sep)) continue;
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, contents);
    }
    say(`host: workbench and extension host logs in ${path.relative(REPO, dir)}/`);
  }
  if (result.error || result.failed) {
    const shot = path.join(ARTIFACTS, 'host-failure.png');
    if (await page.screenshot({ path: shot }).then(() => true, () => false)) say(`host: screenshot ${path.relative(REPO, shot)}`);
  }
  await context.close().catch(() => {});
  return result;
}

// ---------------------------------------------------------------------------------------------------
// phase: ui (Playwright journeys on a fresh workspace)

const kebab = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

async function uiPhase({ browser, server, tmp, extensionPath, grep, dbUrls }) {
  const result = { passed: 0, failed: 0, failures: [], error: undefined, journeys: [] };
  const mod = await import(pathToFileURL(JOURNEYS).href);
  const lib = await import(pathToFileURL(path.join(HERE, 'ui/lib.mjs')).href);
  const order = Array.isArray(mod.order) ? mod.order : Object.keys(mod);
  const journeys = order
    .filter((k) => typeof mod[k] === 'function')
    .map((k) => ({ name: kebab(k), fn: mod[k] }))
    .filter((j) => !grep || new RegExp(grep).test(j.name));
  if (journeys.length === 0) {
    say(`ui: no journey matches --grep ${JSON.stringify(grep)}`);
    return result;
  }
  const workspace = copyFixture(path.join(tmp, 'ui/bulwark-fixture'));
  const { context, page } = await newPage(browser, 'ui');
  try {
    const startedAt = Date.now();
    // The extension in development form, no tests: the workbench as a person would use it.
    const url = workbenchUrl(server.port, workspace, [['extensionDevelopmentPath', remote(server.port, extensionPath)]]);
    try {
      await openWorkbench(page, url, server);
    } catch (e) {
      result.error = `the workbench did not come up: ${e.message}`;
      await page.screenshot({ path: path.join(ARTIFACTS, 'ui-workbench.png') }).catch(() => {});
      return result;
    }
    say(`ui: workbench up after ${secs(Date.now() - startedAt)}`);
    timings.push(['ui: workbench up', Date.now() - startedAt]);
    for (const [i, j] of journeys.entries()) {
      const started = Date.now();
      const log = (msg) => console.log(`  [ui ${j.name} +${secs(Date.now() - started)}] ${msg}`);
      const shot = path.join(ARTIFACTS, `${j.name}.png`);
      say(`ui: journey ${i + 1}/${journeys.length} ${j.name}`);
      const limit = deadline(JOURNEY_TIMEOUT_MS, `journey ${j.name}`);
      let error;
      try {
        await Promise.race([j.fn({ page, workspace, dbUrls, shotsDir: ARTIFACTS, log }), limit.promise, watchServer(server)]);
      } catch (e) {
        error = e;
      } finally {
        limit.cancel();
      }
      await page.screenshot({ path: shot }).catch((e) => log(`screenshot failed: ${e.message}`));
      const ms = Date.now() - started;
      timings.push([`ui: ${j.name}`, ms]);
      if (error) {
        result.failed++;
        const msg = String(error?.message ?? error).replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim()).slice(0, 6).join('\n      ');
        result.failures.push(`${j.name}: ${msg.split('\n')[0]}`);
        console.log(`  ✘ ${j.name} (${secs(ms)})\n      ${msg}\n      screenshot: ${path.relative(REPO, shot)}`);
      } else {
        result.passed++;
        console.log(`  ✔ ${j.name} (${secs(ms)}) screenshot: ${path.relative(REPO, shot)}`);
      }
      if (i < journeys.length - 1) {
        // The next journey starts from a tidy workbench: no editors, hovers, menus or widgets left open.
        await lib.resetUi(page).catch((e) => log(`could not tidy the workbench: ${e.message}`));
      }
    }
  } finally {
    await context.close().catch(() => {});
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const phases = opts.only ? [opts.only] : ['host', 'ui'];
  checkBuild(opts);
  const extensionPath = process.env.BULWARK_VSCODE_EXTENSION ? path.resolve(process.env.BULWARK_VSCODE_EXTENSION) : REPO;
  const host = await timed('install-host.sh', installHost);
  say(`host: ${host.dir}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-vscode-'));
  onCleanup('remove the temp folder', () => {
    if (KEEP) say(`kept ${tmp} (BULWARK_VSCODE_KEEP=1)`);
    else fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  });
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  const prefix = `bulwark_vsc_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbNames = { dev: `${prefix}_dev`, prod: `${prefix}_prod` };
  const dbUrls = { dev: urlFor(dbNames.dev), prod: urlFor(dbNames.prod), admin: ADMIN_URL };
  onCleanup('drop the test databases', async () => {
    if (!databasesTouched) return;
    await admin(async (c) => {
      for (const n of Object.values(dbNames)) await dropDatabase(c, n);
    });
  });
  await timed('create databases', () => createDatabases(dbNames));
  say(`databases ${dbNames.dev}, ${dbNames.prod} on ${redact(ADMIN_URL)}`);

  const resultsFile = path.join(tmp, 'host-results.jsonl');
  const server = await timed('start code-server', () =>
    startCodeServer(host, tmp, {
      BULWARK_VSC_DEV_URL: dbUrls.dev,
      BULWARK_VSC_PROD_URL: dbUrls.prod,
      BULWARK_VSC_ADMIN_URL: ADMIN_URL,
      BULWARK_VSC_FIXTURE: FIXTURE,
      BULWARK_VSC_RESULTS: resultsFile,
      BULWARK_VSC_GREP: opts.grep ?? '',
    }),
  );

  const browser = await timed('launch chromium', () => chromium.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      // Playwright's own signal handlers exit the process at once: ours must drop the databases first.
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    }));
  onCleanup('close chromium', () => browser.close());

  const results = {};
  if (phases.includes('host')) {
    say('phase host: mocha inside the extension host');
    results.host = await timed('phase host', () => hostPhase({ browser, server, tmp, extensionPath, grep: opts.grep, resultsFile }));
  }
  if (phases.includes('ui') && server.hasExited()) {
    results.ui = { passed: 0, failed: 0, failures: [], error: 'not run: code-server exited during the host phase' };
  } else if (phases.includes('ui') && !interrupted) {
    say('phase ui: Playwright journeys');
    // The journeys run on the extension as users install it: the .vsix that `npm run package:vsix` makes
    // (same flags, from the current build), unpacked. Packaging mistakes show up here, in the real editor.
    const uiExtension = process.env.BULWARK_VSCODE_EXTENSION ? extensionPath : await timed('package the .vsix', () => packageVsix(tmp).extension);
    say(`ui: extension from ${path.relative(REPO, uiExtension) || '.'}`);
    // Fresh databases (same names: code-server's environment is fixed) and a fresh workspace copy.
    await timed('reset databases', () => createDatabases(dbNames));
    results.ui = await timed('phase ui', () => uiPhase({ browser, server, tmp, extensionPath: uiExtension, grep: opts.grep, dbUrls }));
  }
  return results;
}

const plain = (s) => String(s).replace(/\x1b\[[0-9;]*m/g, '');

function report(results) {
  console.log('\n──────── timings');
  for (const [label, ms] of timings) console.log(`  ${label.padEnd(28)} ${secs(ms).padStart(8)}`);
  console.log(`  ${'total'.padEnd(28)} ${secs(Date.now() - t0).padStart(8)}`);
  console.log('──────── summary');
  let ok = true;
  if (results.host) {
    const r = results.host;
    console.log(`vscode host tests: ${r.passed} passed, ${r.failed} failed${r.pending ? `, ${r.pending} pending` : ''}`);
    for (const f of r.failures) console.log(`  ✘ ${f}`);
    if (r.error) console.log(`  error: ${plain(r.error)}`);
    ok &&= !r.failed && !r.error;
  }
  if (results.ui) {
    const r = results.ui;
    console.log(`ui journeys: ${r.passed} passed, ${r.failed} failed (screenshots in ${path.relative(REPO, ARTIFACTS)}/)`);
    for (const f of r.failures) console.log(`  ✘ ${f}`);
    if (r.error) console.log(`  error: ${plain(r.error)}`);
    ok &&= !r.failed && !r.error;
  }
  return ok;
}

let exitCode = 1;
try {
  const results = await main();
  // Interrupted: the signal handler cleans up and exits 130; what the phases saw of it is no result.
  if (!interrupted) exitCode = report(results) ? 0 : 1;
} catch (e) {
  if (!interrupted) console.error(`\n[vscode] ${e instanceof SetupError ? e.message : e?.stack ?? e}`);
  exitCode = 1;
} finally {
  if (!interrupted) await cleanup();
}
if (!interrupted) process.exit(exitCode);
