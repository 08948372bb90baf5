#!/usr/bin/env node
// Runs squawk (the reference PostgreSQL migration linter) over test/fixtures/corpus and
// writes bench/squawk/corpus-findings.json: violation counts per rule and per file,
// plus panics and timings. See bench/squawk/README.md for how to get the binary.
//
//   SQUAWK_BIN=/path/to/squawk node bench/squawk/run-corpus.mjs
//
// Each file is linted in its own squawk process, because squawk 2.66.0 panics on some
// inputs and a panic aborts the whole run (losing every other file's results).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const corpus = path.join(root, 'test/fixtures/corpus');
const bin = process.env.SQUAWK_BIN || 'squawk';
const outFile = process.env.SQUAWK_OUT || path.join(here, 'corpus-findings.json');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.sql') ? [p] : [];
  });
}

const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`cannot run squawk (${bin}): ${version.error?.message ?? version.stderr}`);
  process.exit(2);
}

const files = walk(corpus).sort();
const perFile = {};
const byRule = {};
const panics = [];
let violations = 0;
let bytes = 0;
const t0 = process.hrtime.bigint();
for (const abs of files) {
  const rel = path.relative(corpus, abs);
  bytes += fs.statSync(abs).size;
  const started = process.hrtime.bigint();
  const r = spawnSync(bin, ['--reporter', 'json', rel], { cwd: corpus, encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const entry = { exit_code: r.status, ms: Math.round(ms * 10) / 10, violations: 0, by_rule: {} };
  if (r.status === 101 || /panicked at/.test(r.stderr)) {
    entry.panicked = true;
    entry.panic = (r.stderr.split('\n').slice(0, 2).join(' ')).trim();
    panics.push(rel);
  } else {
    let list = [];
    try { list = JSON.parse(r.stdout || '[]'); } catch (e) { entry.unparsed_output = String(r.stdout).slice(0, 200); }
    for (const v of list) {
      entry.violations++;
      entry.by_rule[v.rule_name] = (entry.by_rule[v.rule_name] ?? 0) + 1;
      byRule[v.rule_name] = (byRule[v.rule_name] ?? 0) + 1;
    }
    violations += entry.violations;
  }
  perFile[rel] = entry;
}
const perFileTotalMs = Number(process.hrtime.bigint() - t0) / 1e6;

// One batched run over every file that does not panic, for the speed comparison.
const okFiles = files.map((f) => path.relative(corpus, f)).filter((f) => !perFile[f].panicked);
const b0 = process.hrtime.bigint();
const batch = spawnSync(bin, ['--reporter', 'json', ...okFiles], { cwd: corpus, encoding: 'utf8', maxBuffer: 256 << 20 });
const batchMs = Number(process.hrtime.bigint() - b0) / 1e6;

const sortObj = (o) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
const result = {
  tool: { name: 'squawk', version: version.stdout.trim(), command: `${path.basename(bin)} --reporter json <file>` },
  generated_at: new Date().toISOString(),
  note: 'Default rule set, no config file, no --assume-in-transaction, default --pg-version. Paths are relative to test/fixtures/corpus. syntax-error counts include psql meta-commands, :variables and COPY data, which squawk does not understand.',
  corpus: { files: files.length, bytes, files_with_violations: Object.values(perFile).filter((e) => e.violations > 0).length },
  totals: { violations, by_rule: sortObj(byRule), panicked_files: panics },
  timing_ms: {
    per_file_processes_total: Math.round(perFileTotalMs),
    single_batched_run_without_panicking_files: Math.round(batchMs),
    batched_run_files: okFiles.length,
    batched_run_exit_code: batch.status,
  },
  files: perFile,
};
fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
console.log(`${files.length} files, ${violations} violations, ${panics.length} panics -> ${path.relative(root, outFile)}`);
