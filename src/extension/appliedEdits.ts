// The moment an applied migration is edited (before it is even saved), say so on its up marker: the
// databases keep what ran; a semantic change is drift, a cosmetic one is harmless. Per environment.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseMigration } from '../core';
import type { Project } from './project';

export class AppliedEdits implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('bulwark-applied');
  private readonly subs: vscode.Disposable[];
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly project: Project) {
    this.subs = [
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)),
      project.onDidChange(() => {
        for (const d of vscode.workspace.textDocuments) this.check(d);
      }),
    ];
    for (const d of vscode.workspace.textDocuments) this.check(d);
  }

  private schedule(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.check(doc);
      }, 150),
    );
  }

  check(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || doc.isClosed || !this.project.isMigrationFile(doc.uri.fsPath)) return;
    const text = doc.getText();
    let m;
    try {
      m = parseMigration(text, doc.uri.fsPath, path.basename(doc.uri.fsPath));
    } catch {
      this.collection.delete(doc.uri); // a broken file: the linter and the tree say what is wrong
      return;
    }
    const semantic: string[] = [];
    const cosmetic: string[] = [];
    for (const env of this.project.environments) {
      const s = this.project.stateOf(m.version, env.name);
      if (!s?.appliedChecksum || s.status === 'failed') continue;
      if (s.appliedChecksum === m.checksum) continue;
      (s.appliedNormalizedChecksum === m.normalizedChecksum ? cosmetic : semantic).push(env.name);
    }
    if (semantic.length === 0 && cosmetic.length === 0) {
      this.collection.delete(doc.uri);
      return;
    }
    const line = Math.max(0, m.up.markerLine - 1);
    const range = doc.lineAt(Math.min(line, doc.lineCount - 1)).range;
    const out: vscode.Diagnostic[] = [];
    if (semantic.length) {
      const d = new vscode.Diagnostic(
        range,
        `This migration is already applied on ${semantic.join(', ')}: changing its SQL does not change ${semantic.length > 1 ? 'those databases' : 'that database'} (they keep what ran), and Bulwark will refuse to apply until the file matches again. Undo the edit and write a new migration for the change.`,
        vscode.DiagnosticSeverity.Warning,
      );
      d.source = 'bulwark';
      d.code = 'edited-after-apply';
      out.push(d);
    }
    if (cosmetic.length) {
      const d = new vscode.Diagnostic(range, `Applied on ${cosmetic.join(', ')}: this edit only touches comments, whitespace or case, so it is recorded as cosmetic.`, vscode.DiagnosticSeverity.Information);
      d.source = 'bulwark';
      d.code = 'edited-after-apply';
      out.push(d);
    }
    this.collection.set(doc.uri, out);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const s of this.subs) s.dispose();
    this.collection.dispose();
  }
}
