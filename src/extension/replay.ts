// Shadow replay in the editor: every migration from an empty embedded PostgreSQL (up, down, up again),
// after each save of a migration file (in the background; setting bulwark.replayOnSave) and on demand
// ("Verify All"). Failures become problems at their file position.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { loadMigrations, openEmbedded, replay, ReplayResult } from '../core';
import type { Project } from './project';
import { Reports, replayMarkdown } from './reports';

export class Replayer implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('bulwark-replay');
  private readonly status = vscode.window.createStatusBarItem('bulwark.replay', vscode.StatusBarAlignment.Left, 9);
  private running?: { ac: AbortController; done: Promise<ReplayResult | undefined> };
  private timer?: NodeJS.Timeout;
  private readonly subs: vscode.Disposable[] = [];
  private readonly emitter = new vscode.EventEmitter<ReplayResult>();
  /** Fires after every finished replay (tests wait on it). */
  readonly onDidReplay = this.emitter.event;

  constructor(private readonly project: Project, private readonly log: vscode.LogOutputChannel, private readonly reports: Reports) {
    this.status.name = 'Bulwark replay';
    this.subs.push(
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (!vscode.workspace.getConfiguration('bulwark').get<boolean>('replayOnSave', true)) return;
        if (!project.isMigrationFile(doc.uri.fsPath)) return;
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.replay('save').catch((e) => this.log.error(`replay: ${e instanceof Error ? e.message : e}`)), 500);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('bulwark.replayOnSave') && !vscode.workspace.getConfiguration('bulwark').get<boolean>('replayOnSave', true)) {
          this.running?.ac.abort();
          this.collection.clear();
        }
      }),
    );
  }

  /** Replay now; a replay still running is cancelled first (its result would be stale). */
  async replay(why: 'save' | 'command'): Promise<ReplayResult | undefined> {
    if (this.running) {
      this.running.ac.abort();
      await this.running.done.catch(() => undefined);
    }
    const ac = new AbortController();
    const done = this.run(why, ac.signal);
    this.running = { ac, done };
    try {
      return await done;
    } finally {
      if (this.running?.done === done) this.running = undefined;
    }
  }

  private async run(why: string, signal: AbortSignal): Promise<ReplayResult | undefined> {
    const set = loadMigrations(this.project.migrationsDir);
    if (set.errors.length > 0) {
      this.log.warn(`replay skipped: ${set.errors.length} migration file(s) have errors (${set.errors[0].message})`);
      return undefined;
    }
    this.status.text = '$(sync~spin) Bulwark: replaying migrations';
    this.status.show();
    const t0 = Date.now();
    this.log.info(`replay (${why}): ${set.migrations.length} migration(s) on an empty embedded PostgreSQL`);
    try {
      const r = await replay(set.migrations, () => openEmbedded(undefined, { onProgress: (m) => this.log.info(`replay: ${m}`) }), {
        signal,
        historySchema: this.project.config?.history.schema,
      });
      if (r.cancelled) {
        this.log.info('replay cancelled (a newer one starts)');
        return r;
      }
      this.publish(r);
      this.log.info(`replay done in ${Date.now() - t0} ms: ${r.ok ? 'ok' : 'problems'} (${r.summary.replayed} replayed, ${r.summary.failed} failed, ${r.summary['down-mismatch']} down mismatch)`);
      this.emitter.fire(r);
      return r;
    } finally {
      this.status.hide();
    }
  }

  private publish(r: ReplayResult): void {
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const add = (file: string, d: vscode.Diagnostic) => byFile.set(file, [...(byFile.get(file) ?? []), d]);
    for (const m of r.migrations) {
      for (const p of m.problems) {
        const pos = new vscode.Position(Math.max(0, p.line - 1), Math.max(0, p.column - 1));
        const text = `replay (${p.kind.replace('-', ' ')}): ${p.message}${p.detail ? `\nDETAIL: ${p.detail}` : ''}${p.hint ? `\nHINT: ${p.hint}` : ''}${(p.differences ?? []).map((d) => `\n- ${d.message}`).join('')}`;
        const d = new vscode.Diagnostic(new vscode.Range(pos, pos.translate(0, 1)), text, vscode.DiagnosticSeverity.Error);
        d.source = 'bulwark replay';
        d.code = p.code ?? p.kind;
        add(p.file, d);
      }
      for (const s of m.skipped) {
        if (s.phase === 'reup') continue;
        const pos = new vscode.Position(Math.max(0, s.line - 1), Math.max(0, s.column - 1));
        const d = new vscode.Diagnostic(new vscode.Range(pos, pos.translate(0, 1)), `replay skipped this statement${s.phase === 'down' ? ' (down)' : ''}: ${s.reason}`, vscode.DiagnosticSeverity.Information);
        d.source = 'bulwark replay';
        add(s.file, d);
      }
    }
    this.collection.clear();
    for (const [file, ds] of byFile) this.collection.set(vscode.Uri.file(file), ds);
  }

  /** The tree's "Verify All": with progress, a report, and the problems. */
  async verifyAll(): Promise<ReplayResult | undefined> {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Bulwark: replaying every migration on an empty embedded PostgreSQL', cancellable: true },
      (_p, token) => {
        const sub = token.onCancellationRequested(() => this.running?.ac.abort());
        return this.replay('command').finally(() => sub.dispose());
      },
    );
    if (!r) {
      void vscode.window.showWarningMessage('Bulwark: fix the migration files with errors first (see the Migrations view).');
      return r;
    }
    await this.reports.show('replay', replayMarkdown(r, (f) => path.relative(this.project.root, f)));
    const msg = r.cancelled
      ? 'Bulwark: replay cancelled.'
      : r.ok
        ? `Bulwark: all ${r.summary.total} migration(s) replay from scratch${r.summary.irreversible ? ` (${r.summary.irreversible} without down)` : ''}; every down restores the schema.`
        : `Bulwark: replay found problems: ${r.summary.failed} failed, ${r.summary['down-mismatch']} down mismatch, ${r.summary['down-failed']} down failed.`;
    if (r.ok || r.cancelled) void vscode.window.showInformationMessage(msg);
    else void vscode.window.showErrorMessage(msg);
    return r;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.running?.ac.abort();
    for (const s of this.subs) s.dispose();
    this.collection.dispose();
    this.status.dispose();
    this.emitter.dispose();
  }
}
