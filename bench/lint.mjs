#!/usr/bin/env node
// Linter benchmark: throughput on the fixture corpus (in one process, JIT warm, every statement parsed:
// the one-pass lint the CLI runs, without the editor's parse cache) and the per-keystroke latency of
// re-linting one 5,000-line file after a one-character edit (the editor: parse cache on); then, if squawk (the
// reference PostgreSQL migration linter) is available, whole-process `bulwark lint` vs `squawk` on the same
// files, in the same run.
//
//   node bench/lint.mjs [--rounds 31] [--keystrokes 200]
//
// squawk: set SQUAWK=/path/to/squawk, or the bench installs squawk-cli@2.66.0 from the npm registry into
// bench/.work/squawk (see bench/squawk/README.md).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// Measure the code as it ships: bundled by esbuild like dist/cli.js (running the sources through a
// TypeScript loader would add source-map work to every Error the parser throws).
const WORK = path.join(ROOT, 'bench/.work');
fs.mkdirSync(WORK, { recursive: true });
const esbuild = require('esbuild');
esbuild.buildSync({
  stdin: { contents: "export * from './src/core/lint'; export { lintText } from './src/core/lint/lint'; export { collectSqlFiles } from './src/core/lint/files'; export { splitStatements } from './src/core/sql/split'; export { parseStatements } from './src/core/lint/parser';", resolveDir: ROOT, loader: 'ts' },
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: path.join(WORK, 'lint.cjs'), logLevel: 'error',
  mainFields: ['module', 'main'], define: { __BULWARK_VERSION__: '"bench"' },
});
fs.copyFileSync(path.join(path.dirname(require.resolve('libpg-query')), 'libpg-query.wasm'), path.join(WORK, 'libpg-query.wasm'));
const { ALL_RULES, clearParseCache, lint, loadParser, collectSqlFiles } = require(path.join(WORK, 'lint.cjs'));

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '31' }, keystrokes: { type: 'string', default: '200' } } });
const ROUNDS = Number(args.rounds);
const KEYS = Number(args.keystrokes);
const CORPUS = path.join(ROOT, 'test/fixtures/corpus');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

await loadParser();
const files = collectSqlFiles([CORPUS]);
const texts = files.map((f) => fs.readFileSync(f, 'utf8').replace(/^\ufeff/, ''));
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const MB = bytes / 1e6;

// Warm the JIT (V8 keeps optimizing for a few dozen passes), then measure the one-pass lint (no parse
// cache: every statement really parsed, as `bulwark lint` does).
const ONE_PASS = { cache: false };
for (let i = 0; i < 30; i++) {
  for (const t of texts) lint(t, {}, ONE_PASS);
}
// The parser alone, on the same statements (what the cold figure is bounded by).
const splitMod = require(path.join(WORK, 'lint.cjs'));
const fileStmts = texts.map((t) => splitMod.splitStatements(t).statements.filter((x) => x.kind === 'sql').map((x) => x.text));
const parseRounds = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (const x of fileStmts) splitMod.parseStatements(x, false);
  parseRounds.push(performance.now() - t0);
}
clearParseCache();
const rounds = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (const t of texts) lint(t, {}, ONE_PASS);
  rounds.push(performance.now() - t0);
}
const coldMs = median(rounds);
// Unchanged files re-linted (the editor's case when another file changes): parse cache warm.
for (const t of texts) lint(t);
const warmRounds = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (const t of texts) lint(t);
  warmRounds.push(performance.now() - t0);
}
const warmMs = median(warmRounds);

// A 5,000-line migration made of the corpus's statements, re-linted after one keystroke each time.
let big = '';
for (let i = 0; big.split('\n').length < 5000; i++) big += texts[i % texts.length].replace(/^-- migrate:(up|down).*$/gm, '') + '\n';
big = big.split('\n').slice(0, 5000).join('\n');
clearParseCache();
let t0 = performance.now();
const bigFindings = lint(big).findings.length;
const fullBig = performance.now() - t0;
const lat = [];
const anchor = big.indexOf('CREATE TABLE', big.length >> 1);
for (let k = 0; k < KEYS; k++) {
  // Type a character into an identifier in the middle of the file (one statement changes).
  const edited = big.slice(0, anchor) + `CREATE TABLE x${k}_` + big.slice(anchor + 'CREATE TABLE '.length);
  t0 = performance.now();
  lint(edited);
  lat.push(performance.now() - t0);
}

const out = [];
out.push(`Bulwark lint benchmark — ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB (test/fixtures/corpus), ${ALL_RULES.length} rules`);
out.push(`machine: ${os.cpus().length} CPU(s), node ${process.version}`);
out.push('');
out.push(`corpus, one pass (JIT warm, no parse cache), median of ${ROUNDS}:  ${coldMs.toFixed(1)} ms  = ${(MB / (coldMs / 1000)).toFixed(1)} MB/s   (target ≥ 10 MB/s: ${MB / (coldMs / 1000) >= 10 ? 'MET' : 'MISSED'})`);
out.push(`  of which the PostgreSQL parser alone (libpg-query, JSON AST): ${median(parseRounds).toFixed(1)} ms = ${(MB / (median(parseRounds) / 1000)).toFixed(1)} MB/s`);
out.push(`corpus, unchanged files re-linted (parse cache warm):  ${warmMs.toFixed(1)} ms  = ${(MB / (warmMs / 1000)).toFixed(1)} MB/s`);
out.push(`5,000-line file (${(Buffer.byteLength(big) / 1024).toFixed(0)} KiB, ${bigFindings} findings): first lint ${fullBig.toFixed(1)} ms;`);
out.push(`  re-lint after a keystroke, ${KEYS} edits: median ${median(lat).toFixed(2)} ms, p95 ${pct(lat, 0.95).toFixed(2)} ms   (target < 20 ms: ${pct(lat, 0.95) < 20 ? 'MET' : 'MISSED'})`);

// Whole-process comparison with squawk on the same files.
const squawk = findSquawk();
if (squawk) {
  const rel = files.map((f) => path.relative(ROOT, f));
  // squawk 2.66 panics ("the parser seems stuck") on some valid inputs, and a panic aborts its whole run:
  // find those files first and leave them out of both timed runs.
  const crashes = rel.filter((f) => spawnSync(squawk, ['--reporter', 'json', f], { cwd: ROOT, encoding: 'utf8', timeout: 20000, maxBuffer: 1 << 26 }).status > 1);
  const same = rel.filter((f) => !crashes.includes(f));
  const run = (cmd, argv) => {
    const t = performance.now();
    const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    return { ms: performance.now() - t, r };
  };
  const bwArgs = [path.join(ROOT, 'dist/cli.js'), 'lint', '--format', 'json', ...same];
  const sqArgs = ['--reporter', 'json', ...same];
  run(process.execPath, bwArgs);
  run(squawk, sqArgs);
  const bw = [];
  const sq = [];
  for (let i = 0; i < ROUNDS; i++) {
    bw.push(run(process.execPath, bwArgs).ms);
    sq.push(run(squawk, sqArgs).ms);
  }
  const b = median(bw);
  const s = median(sq);
  const bwJson = JSON.parse(run(process.execPath, bwArgs).r.stdout);
  let sqList = [];
  try {
    sqList = JSON.parse(run(squawk, sqArgs).r.stdout);
  } catch {}
  const syntax = (xs, key) => xs.filter((x) => x[key] === 'syntax-error').length;
  out.push('');
  out.push(`whole process, the same ${same.length} files in one run each (median of ${ROUNDS}; node start-up included for bulwark):`);
  if (crashes.length) out.push(`  (left out: ${crashes.length} file(s) on which squawk panics: ${crashes.join(', ')})`);
  out.push(`  ${squawkVersion(squawk)}: ${s.toFixed(0)} ms, ${sqList.length} findings (${syntax(sqList, 'rule_name')} syntax errors)`);
  out.push(`  bulwark lint: ${b.toFixed(0)} ms, ${bwJson.findings.length} findings (${syntax(bwJson.findings, 'rule')} syntax errors)   → ${(b / s).toFixed(2)}× squawk's time`);
} else {
  out.push('');
  out.push('squawk not available (no npm registry?): no side-by-side run.');
}
console.log(out.join('\n'));

function findSquawk() {
  if (process.env.SQUAWK) return process.env.SQUAWK;
  // squawk-cli ships its native binary in per-platform npm packages (no download at install time).
  const prefix = path.join(WORK, 'squawk');
  const resolveBin = () => {
    try {
      const req = createRequire(path.join(prefix, 'node_modules', 'squawk-cli', 'package.json'));
      const pkg = `@squawk-cli/${process.platform}-${process.arch}/package.json`;
      const bin = path.join(path.dirname(req.resolve(pkg)), 'bin', process.platform === 'win32' ? 'squawk.exe' : 'squawk');
      return fs.existsSync(bin) ? bin : undefined;
    } catch {
      return undefined;
    }
  };
  let bin = resolveBin();
  if (!bin) {
    process.stderr.write('installing squawk-cli@2.66.0 into bench/.work/squawk (npm registry)…\n');
    spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', 'squawk-cli@2.66.0'], { stdio: 'ignore' });
    bin = resolveBin();
  }
  return bin;
}
function squawkVersion(bin) {
  return (spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout || '').trim();
}
