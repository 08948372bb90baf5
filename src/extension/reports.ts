// Read-only reports (dry runs, histories, replays) as virtual Markdown documents: they open beside the
// SQL, can be searched and copied, and leave nothing on disk.
import * as vscode from 'vscode';
import type { DryRunResult, ReplayResult } from '../core';
import { duration } from './present';

export const REPORT_SCHEME = 'bulwark-report';

export class Reports implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly contents = new Map<string, string>();
  private readonly reg: vscode.Disposable;

  constructor() {
    this.reg = vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '(this report is no longer available: run the action again)';
  }

  /** Store (or replace) a report and open it beside the active editor. */
  async show(name: string, markdown: string): Promise<vscode.TextDocument> {
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${name.replace(/[^\w.-]+/g, '-')}.md` });
    this.contents.set(uri.toString(), markdown);
    this.emitter.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
    return doc;
  }

  dispose(): void {
    this.reg.dispose();
    this.emitter.dispose();
  }
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

export function dryRunMarkdown(r: DryRunResult, relative: (file: string) => string): string {
  const out: string[] = [`# Dry run on ${r.environment}`, '', `Connection: \`${r.connection}\`  `, `Result: **${r.ok ? 'every statement ran' : 'FAILED'}** — everything was rolled back; nothing was kept.`, ''];
  for (const w of r.warnings) out.push(`> ⚠ ${w}`, '');
  if (r.migrations.length === 0) out.push('Nothing to rehearse: no pending migration.');
  for (const m of r.migrations) {
    const total = m.statements.reduce((a, s) => a + s.durationMs, 0);
    out.push(`## ${m.version}_${m.name}`, '', `File: ${relative(m.file)}  `);
    if (!m.rehearsed) {
      out.push(`Not rehearsed: ${m.reason ?? ''}`, '');
      for (const s of m.planned ?? []) out.push(`### line ${s.line}`, '', '```sql', s.sql.trim(), '```', '');
      continue;
    }
    out.push(`${m.statements.length} statement(s), ${duration(total)}${m.ok ? '' : ' — **failed**'}`, '');
    // One block per statement (not a wide table): readable as text beside the SQL, and in the Markdown preview.
    for (const s of m.statements) {
      out.push(`### line ${s.line} · ${duration(s.durationMs)}${s.command ? ` · ${s.command}` : ''}`, '', '```sql', s.sql.trim(), '```', '');
      const locks = s.locks.map((l) => `**${l.mode.replace(/Lock$/, '')}** on ${l.relation}${l.newObject ? ' (created here: blocks nobody)' : ''}`);
      out.push(`- locks taken: ${locks.length ? locks.join(', ') : 'none'}`);
      out.push(`- rewritten: ${s.rewritten.length ? s.rewritten.map((t) => `**${t}**`).join(', ') : 'none'}`);
      if (s.rowCount !== undefined && s.rowCount !== null) out.push(`- rows: ${s.rowCount}`);
      if (s.error) out.push(`- **error** at line ${s.error.line}:${s.error.column}${s.error.code ? ` (SQLSTATE ${s.error.code})` : ''}: ${cell(s.error.message)}`);
      out.push('');
    }
  }
  return out.join('\n');
}

/** One line for the notification. */
export function dryRunSummary(r: DryRunResult): string {
  const stmts = r.migrations.flatMap((m) => m.statements);
  const strong = new Set<string>();
  const rewrites = new Set<string>();
  for (const s of stmts) {
    for (const l of s.locks) if (!l.newObject && /AccessExclusive|^Exclusive|ShareRowExclusive|^Share/.test(l.mode)) strong.add(`${l.mode.replace(/Lock$/, '')} on ${l.relation}`);
    for (const t of s.rewritten) rewrites.add(t);
  }
  const failed = r.migrations.find((m) => !m.ok);
  const parts = [`Dry run on ${r.environment}: ${r.migrations.length} migration(s), ${stmts.length} statement(s), ${duration(stmts.reduce((a, s) => a + s.durationMs, 0))}`];
  if (failed) parts.push(`FAILED in ${failed.version}_${failed.name}`);
  if (strong.size) parts.push(`locks: ${[...strong].slice(0, 3).join(', ')}${strong.size > 3 ? ', …' : ''}`);
  if (rewrites.size) parts.push(`rewrites: ${[...rewrites].join(', ')}`);
  parts.push('rolled back');
  return parts.join(' · ');
}

export function historyMarkdown(env: string, version: string | undefined, rows: Array<Record<string, unknown>>): string {
  const out = [`# History on ${env}${version ? ` of ${version}` : ''}`, '', `${rows.length} audit entr${rows.length === 1 ? 'y' : 'ies'} (newest last).`, ''];
  if (rows.length === 0) return out.concat('Nothing recorded yet.').join('\n');
  const cols = Object.keys(rows[0]).filter((k) => !/checksum/i.test(k));
  out.push(`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`);
  for (const r of rows) {
    out.push(
      `| ${cols
        .map((c) => {
          const v = r[c];
          if (v === null || v === undefined) return '';
          if (v instanceof Date) return v.toISOString();
          return cell(typeof v === 'object' ? JSON.stringify(v) : String(v));
        })
        .join(' | ')} |`,
    );
  }
  return out.join('\n');
}

export function replayMarkdown(r: ReplayResult, relative: (file: string) => string): string {
  const out = [
    `# Replay on an empty embedded PostgreSQL`,
    '',
    `Result: **${r.cancelled ? 'cancelled' : r.ok ? 'every migration replays, and every down section restores the schema' : 'problems found'}**  `,
    `${r.summary.total} migration(s): ${r.summary.replayed} replayed, ${r.summary['replayed-with-skips']} with skipped statements, ${r.summary.failed} failed, ${r.summary['down-mismatch']} down mismatch, ${r.summary['down-failed']} down failed, ${r.summary.irreversible} without down.`,
    '',
  ];
  for (const m of r.migrations) {
    const mark = m.status === 'replayed' ? '✓' : m.status === 'replayed-with-skips' ? '~' : m.status === 'not-replayed' ? '·' : '✗';
    out.push(`- ${mark} **${m.version}_${m.name}** — ${m.status}${m.reversible ? '' : ' (no down section)'}${m.reason ? `: ${m.reason}` : ''}`);
    for (const p of m.problems) {
      out.push(`  - ${p.kind} at ${relative(p.file)}:${p.line}:${p.column}: ${p.message}`);
      for (const d of p.differences ?? []) out.push(`    - ${d.message}`);
    }
    for (const s of m.skipped) out.push(`  - skipped (${s.phase}) at ${relative(s.file)}:${s.line}: ${s.reason}`);
  }
  return out.join('\n');
}
