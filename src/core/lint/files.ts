import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { decodeUtf8 } from '../migrations/parse';
import { LineIndex } from '../sql/text';
import type { LintSettings } from './context';
import { LintOptions, lintText, Rule } from './lint';
import type { Finding } from './types';

export interface LocatedFinding extends Finding {
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface FileLintResult {
  file: string;
  findings: LocatedFinding[];
  statements: number;
  bytes: number;
}

/** `*.sql` files under the given files/folders (recursively), sorted; missing paths are an error. */
export function collectSqlFiles(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string, explicit: boolean) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new ConfigError(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) {
        if (e === 'node_modules' || e.startsWith('.')) continue;
        visit(path.join(p, e), false);
      }
    } else if (explicit || p.toLowerCase().endsWith('.sql')) out.push(p);
  };
  for (const p of paths) visit(p, true);
  return out;
}

/**
 * Lint one file from disk (UTF-8 strictly: an undecodable file is one error finding, not a crash).
 * Without the parse cache by default: files on disk are linted once (the CLI).
 */
export function lintFile(file: string, rules: readonly Rule[], settings: Partial<LintSettings>, options: LintOptions = { cache: false }): FileLintResult {
  const bytes = fs.readFileSync(file);
  let text: string;
  try {
    text = decodeUtf8(bytes, file);
  } catch (e) {
    const loc = (e as { location?: { line?: number; column?: number } }).location;
    const line = loc?.line ?? 1;
    const column = loc?.column ?? 1;
    return {
      file, statements: 0, bytes: bytes.length,
      findings: [{ file, rule: 'syntax-error', severity: 'error', message: e instanceof Error ? e.message : String(e), start: 0, end: 0, line, column, endLine: line, endColumn: column + 1 }],
    };
  }
  const r = lintText(text, rules, settings, options);
  const li = new LineIndex(text);
  return {
    file, statements: r.statements, bytes: bytes.length,
    findings: r.findings.map((f) => {
      const s = li.positionAt(f.start);
      const e = li.positionAt(f.end);
      return { ...f, file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column };
    }),
  };
}
