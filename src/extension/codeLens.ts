// Code lenses on migration files: at the top, a status line per environment and every applicable action;
// on `-- migrate:up`, Dry run / Apply; on `-- migrate:down`, Roll back. Computed from the cached status
// (no database round trip while rendering); they refresh when the status changes or the file is saved.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseFileName } from '../core';
import type { Project } from './project';
import { actionsFor, stateGlyph, stateText } from './present';

/** The argument every lens (and the commands it calls) carries. */
export interface Target {
  version: string;
  env: string;
  file?: string;
}

const MARKER = /^--[ \t]*migrate:(up|down)\b/;

export class MigrationLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;
  private readonly subs: vscode.Disposable[];

  constructor(private readonly project: Project) {
    this.subs = [
      project.onDidChange(() => this.emitter.fire()),
      vscode.workspace.onDidSaveTextDocument(() => this.emitter.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => (e.affectsConfiguration('bulwark.codeLens') ? this.emitter.fire() : undefined)),
    ];
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('bulwark').get<boolean>('codeLens.enable', true)) return [];
    const p = this.project;
    if (!p.engine || !p.isMigrationFile(doc.uri.fsPath)) return [];
    const parsed = parseFileName(path.basename(doc.uri.fsPath));
    if (!parsed) return [];
    const { version } = parsed;
    const file = doc.uri.fsPath;
    let upLine: number | undefined;
    let downLine: number | undefined;
    const lenses: vscode.CodeLens[] = [];
    for (let i = 0; i < doc.lineCount; i++) {
      const text = doc.lineAt(i).text;
      const m = MARKER.exec(text);
      if (m?.[1] === 'up' && upLine === undefined) upLine = i;
      if (m?.[1] === 'down' && downLine === undefined) downLine = i;
      // Say plainly what transaction:false means where it is written.
      if (m && /\btransaction\s*:\s*false\b/i.test(text)) {
        lenses.push(
          new vscode.CodeLens(new vscode.Range(i, 0, i, 0), {
            title: `⚠ runs outside a transaction: if a statement fails, the ones before it stay applied`,
            tooltip: 'Needed for CREATE/DROP INDEX CONCURRENTLY and similar; keep such sections to one idempotent statement each (IF NOT EXISTS / IF EXISTS) so a retry is safe.',
            command: '',
          }),
        );
      }
    }
    const top = new vscode.Range(0, 0, 0, 0);
    const known = p.migrationForFile(file) !== undefined;
    const hasDown = downLine !== undefined;
    for (const env of p.environments) {
      const st = p.statuses.get(env.name);
      const s = p.stateOf(version, env.name);
      const running = p.running.get(env.name);
      const reachable = st?.reachable === true && !running;
      const acts = actionsFor(s, reachable);
      const target: Target = { version, env: env.name, file };
      const status = !st ? 'checking…' : !st.reachable ? 'unreachable' : running ? `${running.what}…` : stateText(s);
      lenses.push(
        new vscode.CodeLens(top, {
          title: `${stateGlyph(s)} ${env.name}: ${status.length > 60 ? status.slice(0, 59) + '…' : status}`,
          tooltip: `Show the history of this migration on ${env.name}`,
          command: 'bulwark.showHistory',
          arguments: [target],
        }),
      );
      if (!known) continue; // not saved yet, or not a valid migration file: status only
      const add = (range: vscode.Range, title: string, command: string, tooltip: string) =>
        lenses.push(new vscode.CodeLens(range, { title, command, tooltip, arguments: [target] }));
      const ranges = [top, ...(upLine !== undefined ? [new vscode.Range(upLine, 0, upLine, 0)] : [])];
      for (const r of ranges) {
        if (acts.dryRun) add(r, `Dry run ▸ ${env.name}`, 'bulwark.dryRun', `Rehearse on ${env.name} inside a transaction that is rolled back: timings, locks, rewrites`);
        if (acts.apply) {
          // The promotion order, visible before clicking: not yet applied on the environment this one requires.
          const before = env.requires ? p.stateOf(version, env.requires)?.status : undefined;
          const blocked = env.requires !== undefined && before !== 'applied' && before !== 'edited';
          add(
            r,
            blocked ? `Apply ▸ ${env.name} (needs ${env.requires} first)` : `Apply ▸ ${env.name}`,
            'bulwark.apply',
            blocked
              ? `The promotion order requires this migration on ${env.requires} before ${env.name}: applying now is refused.`
              : `Apply to ${env.name}${env.protected ? ' (protected: asks you to type its name)' : ''}`,
          );
        }
      }
      if (acts.rollback && hasDown) {
        for (const r of [top, new vscode.Range(downLine!, 0, downLine!, 0)]) add(r, `Roll back ▸ ${env.name}`, 'bulwark.rollback', `Run the down section on ${env.name}`);
      }
    }
    return lenses;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.emitter.dispose();
  }
}
