import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

/**
 * src/core must never import 'vscode' (the CLI and CI run it in plain Node). esbuild resolves every
 * import form (import, export-from, require, dynamic import), so its metafile is an exact import graph.
 */
function vscodeImporters(root: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(root);
  const r = buildSync({
    entryPoints: files,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    outdir: path.join(os.tmpdir(), 'bulwark-boundary'),
    packages: 'external',
    external: ['vscode'],
    logLevel: 'silent',
  });
  const bad: string[] = [];
  for (const [file, info] of Object.entries(r.metafile!.inputs)) {
    if (info.imports.some((i) => i.path === 'vscode')) bad.push(file);
  }
  return bad;
}

describe('architecture', () => {
  it("src/core never imports 'vscode'", () => {
    assert.deepEqual(vscodeImporters(path.resolve(__dirname, '../../src/core')), []);
  });

  it('the check catches every import form', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-core-'));
    try {
      fs.writeFileSync(path.join(dir, 'ok.ts'), "export const x = 1;\n");
      fs.writeFileSync(path.join(dir, 'a.ts'), "import * as vscode from 'vscode';\nexport const y = vscode;\n");
      fs.writeFileSync(path.join(dir, 'b.ts'), "export const z = require('vscode');\n");
      fs.writeFileSync(path.join(dir, 'c.ts'), "export const w = () => import('vscode');\n");
      fs.writeFileSync(path.join(dir, 'd.ts'), "export { window } from 'vscode';\n");
      assert.deepEqual(vscodeImporters(dir).map((f) => path.basename(f)).sort(), ['a.ts', 'b.ts', 'c.ts', 'd.ts']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
