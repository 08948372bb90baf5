import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  acquireDataDirLock, defaultCacheDir, EmbeddedLockedError, holderAlive, LOCK_FILE, LockInfo, PGLITE_VERSION, templateDir,
} from '../../src/core/db/embedded';

/** The embedded database's lock file (one process per data directory) and its cache paths; no PGlite needed. */
describe('embedded: data directory lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lockFile = () => path.join(dir, LOCK_FILE);
  const writeLock = (info: Partial<LockInfo>) =>
    fs.writeFileSync(lockFile(), JSON.stringify({ pid: 1, hostname: os.hostname(), command: 'bulwark apply', since: '2026-01-01T00:00:00.000Z', token: 't', ...info }));

  it('writes pid, host and command, and removes the file on release', async () => {
    const lock = await acquireDataDirLock(dir);
    const info = JSON.parse(fs.readFileSync(lockFile(), 'utf8'));
    assert.equal(info.pid, process.pid);
    assert.equal(info.hostname, os.hostname());
    assert.equal(typeof info.command, 'string');
    assert.ok(!Number.isNaN(Date.parse(info.since)));
    lock.release();
    assert.equal(fs.existsSync(lockFile()), false);
    lock.release(); // twice is harmless
  });

  it('refuses a second open in the same process', async () => {
    const lock = await acquireDataDirLock(dir);
    try {
      await assert.rejects(acquireDataDirLock(dir), (e: unknown) => e instanceof EmbeddedLockedError && e.code === 'LOCK_HELD' && /already open in this process/.test(e.message));
    } finally {
      lock.release();
    }
  });

  it('refuses while another live process holds it, naming pid, host, command and time', async () => {
    writeLock({ pid: process.ppid });
    await assert.rejects(acquireDataDirLock(dir), (e: unknown) => {
      assert.ok(e instanceof EmbeddedLockedError);
      assert.equal(e.message, `the embedded database in ${dir} is in use by another process: pid ${process.ppid} on ${os.hostname()} (bulwark apply), since 2026-01-01T00:00:00.000Z`);
      assert.match(e.hint ?? '', /wait for that one to finish/);
      assert.equal(e.holder.pid, process.ppid);
      return true;
    });
    assert.equal(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid, process.ppid, 'the holder keeps its lock');
  });

  it('takes over the lock of a process that is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeLock({ pid: gone });
    assert.equal(holderAlive({ pid: gone, hostname: os.hostname(), command: '', since: '', token: '' }), false);
    const lock = await acquireDataDirLock(dir);
    assert.equal(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid, process.pid);
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (Linux: start time differs)', async function () {
    if (process.platform !== 'linux') this.skip();
    writeLock({ pid: process.ppid, processStart: '1' });
    const lock = await acquireDataDirLock(dir);
    assert.equal(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid, process.pid);
    lock.release();
  });

  it("takes over a lock naming this process's pid that this process does not hold (pid reused, e.g. pid 1 in containers)", async () => {
    writeLock({ pid: process.pid, token: 'from-an-earlier-life' });
    const lock = await acquireDataDirLock(dir);
    assert.notEqual(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).token, 'from-an-earlier-life');
    lock.release();
  });

  it('does not guess about a holder on another host', async () => {
    writeLock({ pid: 999999, hostname: 'build-box-7' });
    await assert.rejects(acquireDataDirLock(dir), (e: unknown) =>
      e instanceof EmbeddedLockedError && /pid 999999 on build-box-7/.test(e.message) && (e.hint ?? '').includes(`delete ${lockFile()}`),
    );
  });

  it('takes over an unreadable lock once it is old, waits while it is fresh', async () => {
    fs.writeFileSync(lockFile(), '');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile(), old, old);
    const lock = await acquireDataDirLock(dir);
    lock.release();

    // A fresh empty file is a writer between open and write: the lock goes to us once it is complete or gone.
    fs.writeFileSync(lockFile(), '');
    setTimeout(() => fs.rmSync(lockFile()), 150);
    const started = Date.now();
    const second = await acquireDataDirLock(dir);
    assert.ok(Date.now() - started >= 100);
    second.release();
  });

  it('release never removes a lock another process took over', async () => {
    const lock = await acquireDataDirLock(dir);
    writeLock({ pid: process.ppid, token: 'someone-else' });
    lock.release();
    assert.equal(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).token, 'someone-else');
  });

  it('lets exactly one of many concurrent takeovers of a stale lock win', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeLock({ pid: gone });
    // Other processes race for the same stale lock; each reports whether it won, and a winner holds on
    // until every result is in (so that a slow starter cannot come after the winner has gone).
    const stop = path.join(dir, 'stop');
    const script = `
      const fs = require('fs');
      const { acquireDataDirLock } = require(${JSON.stringify(path.resolve(__dirname, '../../src/core/db/embedded.ts'))});
      acquireDataDirLock(process.argv[1]).then(
        () => { console.log('won'); const t = setInterval(() => { if (fs.existsSync(process.argv[2])) clearInterval(t); }, 20); },
        (e) => console.log('lost ' + e.code));`;
    const tsx = require.resolve('tsx/cjs');
    const { spawn } = await import('node:child_process');
    const children: import('node:child_process').ChildProcess[] = [];
    const runs = Array.from({ length: 4 }, () =>
      new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['--require', tsx, '-e', script, dir, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(c);
        let out = '';
        c.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out.trim());
        });
        c.on('close', () => resolve(out.trim()));
      }),
    );
    const results = (await Promise.all(runs)).sort();
    fs.writeFileSync(stop, '');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('close', r)))));
    assert.deepEqual(results, ['lost LOCK_HELD', 'lost LOCK_HELD', 'lost LOCK_HELD', 'won']);
  });
});

describe('embedded: cache paths and the PGlite pin', () => {
  it('keeps templates in $XDG_CACHE_HOME/bulwark, else ~/.cache/bulwark, keyed by the PGlite version', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/a' }), path.join('/x/cache', 'bulwark'));
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/a' }), path.join('/home/a', '.cache', 'bulwark'));
    assert.equal(defaultCacheDir({ HOME: '/home/a' }), path.join('/home/a', '.cache', 'bulwark'));
    assert.ok(templateDir('/c').startsWith(path.join('/c', `pglite-${PGLITE_VERSION}`)));
  });

  it('PGLITE_VERSION is the installed PGlite, pinned exactly in package.json, which needs no install script', () => {
    const root = path.resolve(__dirname, '../..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.dependencies['@electric-sql/pglite'], PGLITE_VERSION);
    const installed = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'));
    assert.equal(installed.version, PGLITE_VERSION);
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(installed.scripts?.[s], undefined, s);
    assert.deepEqual(Object.keys(installed.dependencies ?? {}), []);
  });
});
