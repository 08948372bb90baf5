import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A real PostgreSQL server that demands a password (scram-sha-256), for the credential paths: the shared
 * test server trusts every local connection, so it never asks. Made with the machine's initdb/pg_ctl in a
 * temporary folder (about a second), on a free port; `stop()` removes everything.
 * Unavailable (returns undefined) where the PostgreSQL server binaries are not installed.
 */
export interface PasswordServer {
  /** URL without the password. */
  url: string;
  password: string;
  stop(): void;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPasswordServer(): Promise<PasswordServer | undefined> {
  const bin = binDir();
  if (!bin) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-pwserver-'));
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  // initdb refuses to run as root: run the server as the postgres user then.
  const asRoot = process.getuid?.() === 0;
  // stdio 'ignore': the server started by pg_ctl would inherit a pipe and keep execFileSync waiting.
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'ignore' }) : execFileSync(path.join(bin, cmd), args, { stdio: 'ignore' });
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, password + '\n');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '-N']);
    run('pg_ctl', ['-D', data, '-w', '-l', path.join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  } catch (e) {
    stop();
    throw e;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, password, stop };
}
