// The .vsix as `npm run package:vsix` makes it (the script's vsce flags), from the current build, packaged
// into a temporary folder and unpacked: what users install. Used by the UI journeys and the package test.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Packages into `dir`/bulwark.vsix and unpacks it into `dir`/vsix; returns both paths. */
export function packageVsix(dir) {
  const script = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts['package:vsix'];
  const flags = script.split('vsce package')[1].trim().split(/\s+/).filter((f, i, all) => f !== '-o' && all[i - 1] !== '-o');
  const vsix = path.join(dir, 'bulwark.vsix');
  execFileSync(path.join(REPO, 'node_modules', '.bin', 'vsce'), ['package', ...flags, '-o', vsix], { cwd: REPO, stdio: 'pipe' });
  const unpacked = path.join(dir, 'vsix');
  execFileSync('unzip', ['-q', vsix, '-d', unpacked]);
  return { vsix, extension: path.join(unpacked, 'extension') };
}
