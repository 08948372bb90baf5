// The extensionTestsPath entry (bundled to out/vscode-test/suite.js): the extension host require()s it
// and calls run(); resolving means success, rejecting makes the workbench report exit code 1 to the
// runner (test/vscode/run.mjs). Every test/vscode/suite/*.test.ts is bundled to its own file beside
// this one; esbuild puts their names in __BULWARK_VSCODE_TESTS__.
//
// Results go to the console (the runner prints the extension host's console) and, one JSON object a
// line, to $BULWARK_VSC_RESULTS: {"event":"pass"|"fail"|"pending"|"end"|"error", ...}.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

declare const __BULWARK_VSCODE_TESTS__: string[] | undefined;

function testFiles(): string[] {
  const names =
    typeof __BULWARK_VSCODE_TESTS__ !== 'undefined' ? __BULWARK_VSCODE_TESTS__ : fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  return names.map((f) => path.join(__dirname, f));
}

function record(event: Record<string, unknown>): void {
  const file = process.env.BULWARK_VSC_RESULTS;
  if (file) fs.appendFileSync(file, JSON.stringify(event) + '\n');
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack || `${err.name}: ${err.message}`;
  return String(err);
}

/** A mocha reporter that writes one line per test through console.log (which the runner shows). */
class HostReporter {
  constructor(runner: Mocha.Runner) {
    const indent = (t: Mocha.Runnable) => '  '.repeat(Math.max(0, t.titlePath().length - 1));
    runner.on('suite', (s: Mocha.Suite) => {
      if (s.title) console.log(`${'  '.repeat(Math.max(0, s.titlePath().length - 1))}${s.title}`);
    });
    runner.on('pass', (t: Mocha.Test) => {
      console.log(`${indent(t)}✔ ${t.title} (${t.duration ?? 0} ms)`);
      record({ event: 'pass', title: t.fullTitle(), file: t.file && path.basename(t.file), ms: t.duration });
    });
    runner.on('pending', (t: Mocha.Test) => {
      console.log(`${indent(t)}- ${t.title} (pending)`);
      record({ event: 'pending', title: t.fullTitle(), file: t.file && path.basename(t.file) });
    });
    // 'fail' is emitted for tests and hooks (a failing before/after hook counts as a failure).
    runner.on('fail', (t: Mocha.Runnable, err: unknown) => {
      console.error(`${indent(t)}✘ ${t.title}\n${errorText(err).replace(/^/gm, `${indent(t)}    `)}`);
      record({ event: 'fail', title: t.fullTitle(), file: t.file && path.basename(t.file), ms: t.duration, error: errorText(err) });
    });
  }
}

export function run(): Promise<void> {
  const grep = process.env.BULWARK_VSC_GREP;
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: HostReporter as unknown as string });
  if (grep) mocha.grep(grep);
  const files = testFiles();
  for (const f of files) mocha.addFile(f);
  console.log(`bulwark host tests: ${files.length} file(s)${grep ? `, grep ${JSON.stringify(grep)}` : ''}: ${files.map((f) => path.basename(f)).join(', ')}`);
  const started = Date.now();
  return new Promise<void>((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const s = runner.stats;
        const summary = { event: 'end', passes: s?.passes ?? 0, failures, pending: s?.pending ?? 0, ms: Date.now() - started };
        record(summary);
        console.log(`bulwark host tests: ${summary.passes} passed, ${failures} failed, ${summary.pending} pending (${summary.ms} ms)`);
        if (failures > 0) reject(new Error(`${failures} test(s) failed`));
        else resolve();
      });
    } catch (e) {
      // A test file that throws while loading (syntax, a missing module) ends up here.
      console.error(`bulwark host tests could not start: ${errorText(e)}`);
      record({ event: 'error', error: errorText(e) });
      reject(e);
    }
  });
}
