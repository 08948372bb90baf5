#!/usr/bin/env node
// Benchmark: start-up of the embedded PostgreSQL (PGlite) as a user meets it, in one run.
//
//   node esbuild.mjs && node bench/embedded.mjs [--runs 3] [--keep]
//
// Whole processes (`node dist/cli.js …`, Node start-up included), in a temporary project with no
// bulwark.json and no DATABASE_URL, each round with its own empty XDG_CACHE_HOME:
//   cold, no template     a new data directory, no template anywhere: a copy of dist/ without the build's
//                         template, empty cache (initdb; the template is then kept in the cache)
//   cold, cached template the same copy of dist/, template in the cache (copy of the template, start)
//   cold, build template  dist/ as built (npm ci / npm run build), empty cache: the normal first run
//   warm                  the data directory exists (start only)
//   apply                 3 small migrations on a new data directory (dist/ as built), status printed after
// plus, in this process, the parts of a start (PGlite from dist/pglite.cjs): initdb, copy, start, close.
// Medians of --runs. A benchmark, not a test: exits 0 whatever the numbers, 1 when something fails to run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const TARGET_COLD_S = 5;
const TARGET_WARM_S = 2;

const TEMPLATE_RE = /^pglite-.*-template-/;

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
if (args.help) {
  console.log('Usage: node bench/embedded.mjs [--runs R (3)] [--keep (keep the temp folder)]');
  process.exit(0);
}
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error('--runs must be a positive integer');
  process.exit(64);
}
if (!fs.existsSync(CLI) || !fs.existsSync(path.join(ROOT, 'dist', 'pglite.cjs'))) {
  console.error('dist/ is missing: run `node esbuild.mjs` first');
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-bench-embedded-'));
let failed = false;

function project(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'migrations'), { recursive: true });
  const m = (v, slug, up, down) => fs.writeFileSync(path.join(dir, 'migrations', `${v}_${slug}.sql`), `-- migrate:up\n${up}\n-- migrate:down\n${down}\n`);
  m('20240101000100', 'create_users', 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);', 'DROP TABLE users;');
  m('20240101000200', 'create_posts', 'CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users, body text);', 'DROP TABLE posts;');
  m('20240101000300', 'seed', "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');", 'DELETE FROM users;');
  return dir;
}

/** Run the CLI; returns wall ms. */
function cli(cliPath, cwd, cacheHome, argv, expect) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', XDG_CACHE_HOME: cacheHome };
  const t = performance.now();
  const r = spawnSync(process.execPath, [cliPath, ...argv], { cwd, env, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0 || (expect && !expect.test(r.stdout))) {
    console.error(`FAILED: bulwark ${argv.join(' ')} (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
    failed = true;
  }
  return ms;
}

try {
  console.log(`embedded PostgreSQL start-up — ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const built = fs.readdirSync(path.join(ROOT, 'dist')).find((f) => TEMPLATE_RE.test(f));
  if (!built) console.log('note: dist/ has no build template (node esbuild.mjs makes it); the "build template" rows measure the cache instead');
  // dist/ without the build's template (copied, not linked: Node resolves a linked script to its real folder).
  const bare = path.join(work, 'dist-bare');
  fs.cpSync(path.join(ROOT, 'dist'), bare, { recursive: true, filter: (src) => !TEMPLATE_RE.test(path.basename(src)) });
  const BARE_CLI = path.join(bare, 'cli.js');

  const rows = [];
  const results = { none: [], cached: [], build: [], warm: [], apply: [], applyWarm: [] };
  for (let run = 0; run < RUNS; run++) {
    const cache = path.join(work, `cache-${run}`);
    results.none.push(cli(BARE_CLI, project(`none-${run}`), cache, ['status'], /3 pending/));
    results.cached.push(cli(BARE_CLI, project(`cached-${run}`), cache, ['status'], /3 pending/));
    const emptyCache = path.join(work, `empty-cache-${run}`);
    const b = project(`build-${run}`);
    results.build.push(cli(CLI, b, emptyCache, ['status'], /3 pending/));
    results.warm.push(cli(CLI, b, emptyCache, ['status'], /3 pending/));
    const c = project(`apply-${run}`);
    results.apply.push(cli(CLI, c, emptyCache, ['apply'], /3 applied/));
    results.applyWarm.push(cli(CLI, c, emptyCache, ['status'], /3 applied/));
  }
  rows.push(['cold, no template anywhere (initdb): `status`', median(results.none), TARGET_COLD_S]);
  rows.push(['cold, template in the cache: `status`', median(results.cached), TARGET_COLD_S]);
  rows.push(['cold, template from the build (dist/): `status`', median(results.build), TARGET_COLD_S]);
  rows.push(['warm: `status` on an existing data directory', median(results.warm), TARGET_WARM_S]);
  rows.push(['`apply` of 3 migrations on a new data directory (+ status)', median(results.apply), TARGET_COLD_S]);
  rows.push(['warm: `status` after that apply', median(results.applyWarm), TARGET_WARM_S]);

  console.log(`\nwhole commands (node dist/cli.js, Node start-up included), median of ${RUNS}:`);
  for (const [what, ms, target] of rows) {
    console.log(`  ${what.padEnd(62)} ${fmt(ms).padStart(8)}   target ≤ ${target} s  ${ms / 1000 <= target ? 'met' : 'NOT MET'}`);
  }

  // The parts, in this process: what a start costs inside PGlite.
  const require = createRequire(import.meta.url);
  const t0 = performance.now();
  const { PGlite } = require(path.join(ROOT, 'dist', 'pglite.cjs'));
  const load = performance.now() - t0;
  const parts = { initdb: [], close: [], copy: [], start: [], reopen: [], memory: [], image: [] };
  let dump;
  for (let run = 0; run < RUNS; run++) {
    const tpl = path.join(work, `parts-template-${run}`);
    let t = performance.now();
    const p = await PGlite.create(tpl);
    parts.initdb.push(performance.now() - t);
    t = performance.now();
    await p.close();
    parts.close.push(performance.now() - t);
    const dir = path.join(work, `parts-copy-${run}`);
    t = performance.now();
    fs.cpSync(tpl, dir, { recursive: true, mode: fs.constants.COPYFILE_FICLONE });
    parts.copy.push(performance.now() - t);
    t = performance.now();
    const q = await PGlite.create(dir);
    await q.query('SELECT 1');
    parts.start.push(performance.now() - t);
    await q.close();
    t = performance.now();
    const r = await PGlite.create(dir);
    parts.reopen.push(performance.now() - t);
    await r.close();
    t = performance.now();
    const mem = await PGlite.create();
    parts.memory.push(performance.now() - t);
    await mem.close();
    // What a replay's throwaway database does since it keeps the template's image in memory.
    dump ??= await (async () => {
      const d = await PGlite.create(dir);
      const blob = await d.dumpDataDir('none');
      await d.close();
      return blob;
    })();
    t = performance.now();
    const img = await PGlite.create({ loadDataDir: dump });
    await img.query('SELECT 1');
    parts.image.push(performance.now() - t);
    await img.close();
  }
  console.log(`\nparts, in one process (dist/pglite.cjs; the WebAssembly is compiled by the first start), median of ${RUNS}:`);
  console.log(`  require('dist/pglite.cjs')                 ${fmt(load)}`);
  console.log(`  initdb + start (new directory)             ${fmt(median(parts.initdb))}`);
  console.log(`  clean shutdown                             ${fmt(median(parts.close))}`);
  console.log(`  copy of the template (${(dirSize(path.join(work, 'parts-template-0')) / 1048576).toFixed(0)} MiB)               ${fmt(median(parts.copy))}`);
  console.log(`  start on the copy + first query            ${fmt(median(parts.start))}`);
  console.log(`  reopen                                     ${fmt(median(parts.reopen))}`);
  console.log(`  in memory (initdb + start)                 ${fmt(median(parts.memory))}`);
  console.log(`  in memory from the template image (replay) ${fmt(median(parts.image))}   (was initdb + start before)`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  if (args.keep) console.log(`\nkept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

function dirSize(d) {
  let n = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    n += e.isDirectory() ? dirSize(p) : fs.statSync(p).size;
  }
  return n;
}
