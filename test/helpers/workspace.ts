import { spawn, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, loadConfig } from '../../src/core';

export const CLI = path.resolve(__dirname, '../../dist/cli.js');

export interface Workspace {
  dir: string;
  migrationsDir: string;
  /** Write (or overwrite) migrations/<file>. */
  write(file: string, content: string | Buffer): string;
  remove(file: string): void;
  writeConfig(config: unknown): void;
  engine(env?: Record<string, string | undefined>): Engine;
  cleanup(): void;
}

/** A temporary project folder with a migrations folder; `env` gets DATABASE_URL unless a config is written. */
export function makeWorkspace(files: Record<string, string> = {}): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-ws-'));
  const migrationsDir = path.join(dir, 'migrations');
  fs.mkdirSync(migrationsDir);
  const ws: Workspace = {
    dir,
    migrationsDir,
    write(file, content) {
      const p = path.join(migrationsDir, file);
      fs.writeFileSync(p, content);
      return p;
    },
    remove(file) {
      fs.rmSync(path.join(migrationsDir, file));
    },
    writeConfig(config) {
      fs.writeFileSync(path.join(dir, 'bulwark.json'), JSON.stringify(config, null, 2));
    },
    engine(env = {}) {
      const config = loadConfig({ cwd: dir, env });
      return new Engine({ config, processEnv: env });
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const [f, c] of Object.entries(files)) ws.write(f, c);
  return ws;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI (`node dist/cli.js`) as a user would. */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<CliResult> {
  const child = startCli(args, opts);
  return child.done;
}

export function startCli(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }, spawnOpts: SpawnOptions = {}) {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...opts.env };
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Migration file text with up and (optional) down sections. */
export function migration(up: string, down?: string, opts: { header?: string; upOptions?: string; downOptions?: string } = {}): string {
  return `${opts.header ?? ''}-- migrate:up${opts.upOptions ? ' ' + opts.upOptions : ''}\n${up}\n${down !== undefined ? `-- migrate:down${opts.downOptions ? ' ' + opts.downOptions : ''}\n${down}\n` : ''}`;
}
