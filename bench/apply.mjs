#!/usr/bin/env node
// Benchmark: `bulwark apply` of N small migrations against psql running the same SQL, and a no-op
// `bulwark status`. Whole-process wall times (Node start-up included), each measurement on its own fresh
// database. A benchmark, not a test: exits 0 whether or not the targets are met, 1 only when something
// failed to run or the databases do not hold what they should afterwards.
//
//   node esbuild.mjs && node bench/apply.mjs [--count 1000] [--runs 3] [--keep]
//
// BULWARK_BENCH_DATABASE_URL: admin connection (default postgres://postgres@127.0.0.1:5432/postgres); the
// bench creates databases bulwark_bench_<random> next to it and drops them at the end, even on failure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const WORK_ROOT = path.join(ROOT, 'bench', '.work');
const ADMIN_URL = process.env.BULWARK_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_APPLY_RATIO = 1.3;
const TARGET_STATUS_S = 0.3;
const STATUS_RUNS = 5;

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('Usage: node bench/apply.mjs [--count N (1000)] [--runs R (3)] [--keep (keep the temp folder)]');
  process.exit(0);
}
const N = Number(args.count);
const RUNS = Number(args.runs);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(RUNS) || RUNS < 1) {
  console.error('--count and --runs must be positive integers');
  process.exit(64);
}

// ---------------------------------------------------------------------------------------------- helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtS = (ms) => `${(ms / 1000).toFixed(3)} s`;
const fmtX = (r) => `${r.toFixed(2)}×`;

function dbUrl(name) {
  const u = new URL(ADMIN_URL);
  u.pathname = '/' + encodeURIComponent(name);
  return u.toString();
}

/** Run a process; resolve with its wall time (spawn → exit and stdio closed) and output; reject on a non-zero exit. */
function run(cmd, argv, { env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    if (interrupted) return reject(new Error(`interrupted (${interrupted})`));
    const child = spawn(cmd, argv, { cwd: cwd ?? ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (interrupted) reject(new Error(`interrupted (${interrupted})`));
      else if (code !== 0) {
        const tail = (stderr || stdout).trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${path.basename(cmd)} ${argv.join(' ')} exited with ${code ?? signal}:\n${tail}`));
      } else resolve({ ms, stdout, stderr });
    });
  });
}

const created = new Set();
let admin;

async function createDb() {
  const name = `bulwark_bench_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  created.add(name);
  return name;
}

async function dropDb(name) {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  created.delete(name);
}

async function withDb(name, fn) {
  const c = new pg.Client({ connectionString: dbUrl(name) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let workDir;
async function cleanup() {
  if (admin) {
    for (const name of [...created]) {
      try {
        await dropDb(name);
      } catch (e) {
        console.error(`warning: could not drop database ${name}: ${e.message}`);
      }
    }
    await admin.end().catch(() => {});
    admin = undefined;
  }
  if (workDir && !args.keep) fs.rmSync(workDir, { recursive: true, force: true });
  if (fs.existsSync(WORK_ROOT) && fs.readdirSync(WORK_ROOT).length === 0) fs.rmdirSync(WORK_ROOT);
}

// On Ctrl-C / SIGTERM: stop the running child; the failed run unwinds through main's finally, which cleans up.
let interrupted;
const children = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\n${sig}: stopping and cleaning up…`);
    for (const c of children) c.kill(sig);
  });
}

// ------------------------------------------------------------------------------------------- migrations

function upSection(i) {
  const rows = Array.from({ length: 10 }, (_, k) => `(${k + 1},'${String.fromCharCode(97 + k)}')`).join(',');
  return (
    `CREATE TABLE t_${i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n` +
    `CREATE INDEX t_${i}_name_idx ON t_${i} (name);\n` +
    `INSERT INTO t_${i} (id, name) VALUES ${rows};\n`
  );
}

/** 20250101000000 + (i-1) seconds, as yyyymmddHHMMSS (UTC). */
function version(i) {
  const d = new Date(Date.UTC(2025, 0, 1, 0, 0, 0) + (i - 1) * 1000);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function generate(dir) {
  const migDir = path.join(dir, 'migrations');
  fs.mkdirSync(migDir, { recursive: true });
  const all = [];
  const perTx = [];
  for (let i = 1; i <= N; i++) {
    const up = upSection(i);
    fs.writeFileSync(path.join(migDir, `${version(i)}_m${i}.sql`), `-- migrate:up\n${up}-- migrate:down\nDROP TABLE t_${i};\n`);
    all.push(up);
    perTx.push(`BEGIN;\n${up}COMMIT;\n`);
  }
  const allSql = path.join(dir, 'all.sql');
  const perTxSql = path.join(dir, 'per-tx.sql');
  fs.writeFileSync(allSql, all.join(''));
  fs.writeFileSync(perTxSql, perTx.join(''));
  return { migDir, allSql, perTxSql };
}

// ----------------------------------------------------------------------------------------- verification

/** Names of the ordinary tables in public, sorted. */
async function publicTables(c) {
  const r = await c.query(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`);
  return r.rows.map((x) => x.relname);
}

const expectedTables = () => Array.from({ length: N }, (_, k) => `t_${k + 1}`).sort();

async function verifyTables(c, label) {
  const tables = await publicTables(c);
  const want = expectedTables();
  if (tables.length !== want.length || tables.some((t, k) => t !== want[k])) {
    throw new Error(`${label}: expected tables t_1…t_${N} in public, found ${tables.length} table(s)`);
  }
  const idx = await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 't\\_%\\_name\\_idx'`);
  if (idx.rows[0].n !== N) throw new Error(`${label}: expected ${N} name indexes, found ${idx.rows[0].n}`);
  const last = await c.query(`SELECT count(*)::int AS n FROM t_${N}`);
  if (last.rows[0].n !== 10) throw new Error(`${label}: t_${N} has ${last.rows[0].n} rows, expected 10`);
  return tables;
}

async function verifyBulwark(c) {
  const tables = await verifyTables(c, 'bulwark apply');
  const h = await c.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'applied')::int AS applied FROM bulwark.migrations`);
  if (h.rows[0].n !== N || h.rows[0].applied !== N) {
    throw new Error(`bulwark apply: bulwark.migrations has ${h.rows[0].n} row(s), ${h.rows[0].applied} applied; expected ${N} applied`);
  }
  return tables;
}

// ------------------------------------------------------------------------------------------------- main

async function main() {
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(process.cwd(), CLI)} does not exist: build first (node esbuild.mjs)`);
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  const psqlVersion = (await run('psql', ['--version'])).stdout.trim();

  workDir = path.join(WORK_ROOT, `run-${process.pid}-${randomBytes(3).toString('hex')}`);
  fs.mkdirSync(workDir, { recursive: true });
  const { migDir, allSql, perTxSql } = generate(workDir);
  const psql = (file, db, extra = []) => run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...extra, '-f', file, '-d', dbUrl(db)]);
  // Bulwark runs in the work folder so no bulwark.json of the repository is picked up: DATABASE_URL only.
  const bulwark = (argv, db) => run(process.execPath, [CLI, ...argv, '--migrations-dir', migDir], { cwd: workDir, env: { DATABASE_URL: dbUrl(db), NO_COLOR: '1' } });

  // Every database is created up front and dropped only at the end: on this kind of storage (ext4 with
  // online discard on a virtual disk) the first write-heavy run after DROP DATABASE is up to 2× slower, which
  // would land on whichever measurement came next.
  const warmDb = await createDb();
  const dbs = [];
  for (let r = 0; r < RUNS; r++) dbs.push({ psql1: await createDb(), psqlTx: await createDb(), bulwark: await createDb() });

  // Warm-up, not timed: psql, node + the bundle (file cache), a first connection, and one full write-heavy
  // run so that whatever the storage does after earlier drops is paid here.
  await run('psql', ['-X', '-q', '-c', 'SELECT 1', '-d', dbUrl(warmDb)]);
  await run(process.execPath, [CLI, '--version']);
  await bulwark(['status'], warmDb);
  process.stderr.write('warm-up: psql per-tx (not timed) … ');
  await psql(perTxSql, warmDb);
  process.stderr.write('done\n');

  // CHECKPOINT before each measurement: the previous run's dirty buffers are written now, not by a checkpoint
  // that would run during (and slow down) the next measurement.
  let canCheckpoint = true;
  const checkpoint = async () => {
    if (!canCheckpoint) return;
    try {
      await admin.query('CHECKPOINT');
    } catch (e) {
      canCheckpoint = false;
      console.error(`note: CHECKPOINT not allowed (${e.message}); measurements may include checkpoint work`);
    }
  };

  const times = { psql1: [], psqlTx: [], bulwark: [] };
  let referenceTables;
  let statusDb;
  // Rounds interleave the three so a drift of the machine (other load, checkpoints, storage) hits all alike.
  for (let r = 0; r < RUNS; r++) {
    const d = dbs[r];
    process.stderr.write(`round ${r + 1}/${RUNS}: psql -1 … `);
    await checkpoint();
    times.psql1.push((await psql(allSql, d.psql1, ['-1'])).ms);
    referenceTables = await withDb(d.psql1, (c) => verifyTables(c, 'psql -1'));

    process.stderr.write('psql per-tx … ');
    await checkpoint();
    times.psqlTx.push((await psql(perTxSql, d.psqlTx)).ms);
    const txTables = await withDb(d.psqlTx, (c) => verifyTables(c, 'psql per-migration transactions'));
    if (txTables.join() !== referenceTables.join()) throw new Error('psql -1 and psql per-migration transactions produced different sets of tables');

    process.stderr.write('bulwark apply … ');
    await checkpoint();
    times.bulwark.push((await bulwark(['apply'], d.bulwark)).ms);
    const tables = await withDb(d.bulwark, (c) => verifyBulwark(c));
    if (tables.join() !== referenceTables.join()) throw new Error('bulwark apply and psql produced different sets of tables');
    statusDb = d.bulwark; // the last one (all N applied) serves the status measurements
    process.stderr.write('done\n');
  }

  // No-op status: everything applied.
  process.stderr.write(`status ×${STATUS_RUNS}, status --json ×${STATUS_RUNS} … `);
  await checkpoint();
  const statusTimes = [];
  const statusJsonTimes = [];
  for (let k = 0; k < STATUS_RUNS; k++) {
    const t = await bulwark(['status'], statusDb);
    statusTimes.push(t.ms);
    const appliedLines = t.stdout.split('\n').filter((l) => /^\s+✔ /.test(l)).length;
    if (appliedLines !== N) throw new Error(`bulwark status: ${appliedLines} applied line(s), expected ${N}`);
    const j = await bulwark(['status', '--json'], statusDb);
    statusJsonTimes.push(j.ms);
    const doc = JSON.parse(j.stdout);
    const ms = doc.environments?.[0]?.migrations ?? [];
    if (ms.length !== N || ms.some((m) => m.status !== 'applied')) throw new Error(`bulwark status --json: expected ${N} applied migrations, got ${ms.length} (${ms.filter((m) => m.status === 'applied').length} applied)`);
  }
  process.stderr.write('done\n\n');

  // ------------------------------------------------------------------------------------------ report
  const m1 = median(times.psql1);
  const mTx = median(times.psqlTx);
  const mB = median(times.bulwark);
  const mS = median(statusTimes);
  const mSJ = median(statusJsonTimes);
  const cpus = os.cpus();
  const samples = (xs) => xs.map((x) => (x / 1000).toFixed(3)).join(' / ');
  const verdict = (ok) => (ok ? 'MET' : 'MISSED');

  const rows = [
    ['psql -1 (one transaction)', fmtS(m1), samples(times.psql1), ''],
    ['psql, one transaction per migration', fmtS(mTx), samples(times.psqlTx), ''],
    ['bulwark apply', fmtS(mB), samples(times.bulwark), ''],
    ['  bulwark / psql -1', fmtX(mB / m1), '', `target ≤ ${TARGET_APPLY_RATIO}×: ${verdict(mB / m1 <= TARGET_APPLY_RATIO)}`],
    ['  bulwark / psql per-migration tx', fmtX(mB / mTx), '', `target ≤ ${TARGET_APPLY_RATIO}×: ${verdict(mB / mTx <= TARGET_APPLY_RATIO)}`],
    [`bulwark status (no-op, ${N} applied)`, fmtS(mS), samples(statusTimes), `target ≤ ${TARGET_STATUS_S} s: ${verdict(mS / 1000 <= TARGET_STATUS_S)}`],
    ['bulwark status --json', fmtS(mSJ), samples(statusJsonTimes), `target ≤ ${TARGET_STATUS_S} s: ${verdict(mSJ / 1000 <= TARGET_STATUS_S)}`],
  ];
  const head = ['measurement', 'median', 'samples (s)', 'target'];
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (r) => r.map((c, k) => c.padEnd(w[k])).join('  ').trimEnd();

  console.log(`Bulwark apply benchmark: ${N} migrations (CREATE TABLE + CREATE INDEX + INSERT 10 rows each)`);
  console.log(`machine: ${cpus.length} CPU(s) (${cpus[0]?.model.trim() ?? 'unknown'}), ${os.platform()} ${os.release()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`);
  console.log(`node ${process.version}; PostgreSQL server ${serverVersion}; ${psqlVersion}`);
  console.log(`server: ${new URL(ADMIN_URL).host}; whole-process wall times (spawn to exit); ${canCheckpoint ? 'CHECKPOINT before each measurement; ' : ''}apply: median of ${RUNS} (fresh database each), status: median of ${STATUS_RUNS}`);
  console.log('');
  console.log(line(head));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log(`targets: apply ≤ ${TARGET_APPLY_RATIO}× psql — ${verdict(mB / mTx <= TARGET_APPLY_RATIO)} against per-migration transactions (same guarantees), ${verdict(mB / m1 <= TARGET_APPLY_RATIO)} against psql -1;`);
  console.log(`         status ≤ ${TARGET_STATUS_S} s — ${verdict(mS / 1000 <= TARGET_STATUS_S)} (${fmtS(mS)}; --json ${fmtS(mSJ)})`);
  console.log(`verified: after each psql run, t_1…t_${N} exist with their indexes and t_${N} has 10 rows; after each bulwark apply, the same tables, ` +
    `and bulwark.migrations has ${N} rows, all 'applied'; status reports ${N} applied.`);
}

let code = 0;
try {
  await main();
} catch (e) {
  if (interrupted) code = 130;
  else {
    console.error(`\nbench failed: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  }
} finally {
  await cleanup();
}
process.exit(code);
