// The two views of the Bulwark container: Environments (health, lock holder) and Migrations (one row per
// file in apply order, one child per environment with its state and actions).
import * as vscode from 'vscode';
import { describeHolder } from '../core';
import type { Project } from './project';
import { actionsFor, environmentIcon, environmentText, stateGlyph, stateIcon, stateText, worstIcon, ago, duration } from './present';

export type Node =
  | { kind: 'migration'; version: string; name: string; file?: string }
  | { kind: 'migration-env'; version: string; name: string; file?: string; env: string }
  | { kind: 'environment'; env: string }
  | { kind: 'file-error'; message: string; file?: string; line?: number };

export function icon(media: vscode.Uri, name: string): { light: vscode.Uri; dark: vscode.Uri } {
  return { light: vscode.Uri.joinPath(media, 'light', `${name}.svg`), dark: vscode.Uri.joinPath(media, 'dark', `${name}.svg`) };
}

const RUNNING_WORD: Record<string, string> = { apply: 'applying…', rollback: 'rolling back…', 'dry-run': 'dry run…' };

/** What both views share: they redraw whenever the project changes. */
abstract class ProjectTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;

  constructor(protected readonly project: Project, protected readonly media: vscode.Uri) {
    this.sub = project.onDidChange(() => this.emitter.fire(undefined));
  }

  abstract getChildren(node?: Node): Node[];
  abstract getTreeItem(node: Node): vscode.TreeItem;

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

export class MigrationsTree extends ProjectTree {

  override getChildren(node?: Node): Node[] {
    const p = this.project;
    if (!node) {
      const errors: Node[] = p.fileErrors.map((e) => ({ kind: 'file-error', message: e.message, file: e.location?.file, line: e.location?.line }));
      if (p.configError) errors.unshift({ kind: 'file-error', message: `bulwark.json: ${p.configError.message.split('\n')[0]}`, file: p.configPath });
      return [...errors, ...p.versions().map((v) => ({ kind: 'migration' as const, ...v }))];
    }
    if (node.kind === 'migration') return p.environments.map((e) => ({ kind: 'migration-env', version: node.version, name: node.name, file: node.file, env: e.name }));
    return [];
  }

  getParent(node: Node): Node | undefined {
    if (node.kind === 'migration-env') return { kind: 'migration', version: node.version, name: node.name, file: node.file };
    return undefined;
  }

  override getTreeItem(node: Node): vscode.TreeItem {
    const p = this.project;
    switch (node.kind) {
      case 'file-error': {
        const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
        item.iconPath = icon(this.media, 'failed');
        item.tooltip = node.message;
        if (node.file) item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(node.file), node.line ? { selection: new vscode.Range(node.line - 1, 0, node.line - 1, 0) } : {}] };
        item.contextValue = ':error:';
        return item;
      }
      case 'migration': {
        const states = p.environments.map((e) => p.stateOf(node.version, e.name));
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `m:${node.version}`;
        item.description = `${node.version}  ${p.environments.map((e, i) => `${e.name} ${stateGlyph(states[i])}`).join('  ')}`;
        item.iconPath = icon(this.media, node.file ? worstIcon(states) : 'missing');
        if (node.file) item.resourceUri = vscode.Uri.file(node.file);
        const md = new vscode.MarkdownString(`**${node.version}_${node.name}**\n\n| environment | state |\n|---|---|\n`);
        p.environments.forEach((e, i) => md.appendMarkdown(`| ${e.name} | ${escapeCell(stateText(states[i]))} |\n`));
        const m = p.migration(node.version);
        if (m?.meta.description) md.appendMarkdown(`\n${escapeCell(m.meta.description)}\n`);
        if (m && !m.down) md.appendMarkdown('\n_No down section: cannot be rolled back._\n');
        item.tooltip = md;
        item.contextValue = node.file ? ':migration:file:' : ':migration:';
        return item;
      }
      case 'migration-env': {
        const st = p.statuses.get(node.env);
        const s = p.stateOf(node.version, node.env);
        const running = p.running.get(node.env);
        const item = new vscode.TreeItem(node.env, vscode.TreeItemCollapsibleState.None);
        item.id = `m:${node.version}:${node.env}`;
        const runningHere = running && (running.version === undefined || running.version === node.version);
        item.description = runningHere ? RUNNING_WORD[running.what] ?? `${running.what}…` : st && !st.reachable ? `unreachable` : stateText(s);
        item.iconPath = runningHere ? icon(this.media, 'running') : icon(this.media, stateIcon(s));
        const acts = actionsFor(s, st?.reachable === true && !running);
        item.contextValue = ':menv:' + (acts.apply ? 'apply:' : '') + (acts.dryRun ? 'dryrun:' : '') + (acts.rollback ? 'rollback:' : '') + 'history:' + (node.file ? 'file:' : '');
        item.tooltip = this.stateTooltip(node);
        if (node.file) item.command = { command: 'bulwark.open', title: 'Open', arguments: [node] };
        return item;
      }
      case 'environment':
        return environmentItem(p, node.env, this.media);
    }
  }

  private stateTooltip(node: { version: string; name: string; env: string }): vscode.MarkdownString {
    const p = this.project;
    const s = p.stateOf(node.version, node.env);
    const st = p.statuses.get(node.env);
    const md = new vscode.MarkdownString(`**${node.version}_${node.name}** on **${node.env}**\n\n`);
    if (st && !st.reachable) return md.appendText(`unreachable: ${st.error ?? ''}`);
    md.appendText(stateText(s) + '\n');
    if (s?.appliedAt) {
      md.appendMarkdown(`\n- applied: ${new Date(s.appliedAt).toLocaleString()} (${ago(s.appliedAt)})`);
      if (s.osUser || s.appliedBy) md.appendMarkdown(`\n- by: ${escapeCell([s.osUser, s.hostname ? `@${s.hostname}` : '', s.appliedBy ? ` (database user ${s.appliedBy})` : ''].join(''))}`);
      if (s.durationMs !== undefined) md.appendMarkdown(`\n- took: ${duration(s.durationMs)}`);
    }
    if (s?.error) {
      md.appendMarkdown(`\n\n**Error**${s.error.code ? ` (SQLSTATE ${s.error.code})` : ''}${s.error.line ? ` at line ${s.error.line}` : ''}:\n`);
      md.appendCodeblock(s.error.message + (s.error.detail ? `\nDETAIL: ${s.error.detail}` : '') + (s.error.hint ? `\nHINT: ${s.error.hint}` : ''), 'text');
    }
    if (s?.status === 'edited') {
      md.appendMarkdown(
        s.edit === 'semantic'
          ? '\n\nThe up section changed in meaning after it was applied: the database does not match the file. Restore the file or run `bulwark repair --accept-checksum`.'
          : '\n\nOnly comments, whitespace or case changed after it was applied.',
      );
    }
    return md;
  }

}

function escapeCell(s: string): string {
  return s.replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
}

export function environmentItem(p: Project, name: string, media: vscode.Uri): vscode.TreeItem {
  const env = p.environments.find((e) => e.name === name);
  const st = p.statuses.get(name);
  const running = p.running.get(name);
  const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
  item.id = `e:${name}`;
  const flags = [env?.protected ? 'protected' : '', env?.requires ? `after ${env.requires}` : ''].filter(Boolean).join(', ');
  item.description = (running ? `${RUNNING_WORD[running.what] ?? running.what} · ` : '') + environmentText(st) + (flags ? ` · ${flags}` : '');
  item.iconPath = icon(media, environmentIcon(st, env?.protected === true));
  const md = new vscode.MarkdownString(`**${name}**${env?.protected ? ' (protected: changes ask you to type its name)' : ''}\n\n`);
  md.appendMarkdown(`- connection: \`${(st?.connection ?? (env && p.engine ? p.engine.display(env) : '')).replace(/`/g, "'")}\`\n`);
  if (env?.requires) md.appendMarkdown(`- promotion: migrations must be applied on **${env.requires}** first\n`);
  if (env?.lockTimeout) md.appendMarkdown(`- lock_timeout: ${env.lockTimeout}\n`);
  if (st && !st.reachable) md.appendMarkdown(`\n**Unreachable**: ${escapeCell(st.error ?? '')}\n`);
  if (st?.lockHolder) md.appendMarkdown(`\n**Migration lock held** by ${escapeCell(describeHolder(st.lockHolder))}\n`);
  item.tooltip = md;
  item.contextValue = ':env:' + (env && !env.embedded ? 'server:' : 'embedded:') + (st?.lockHolder ? 'locked:' : '');
  return item;
}

export class EnvironmentsTree extends ProjectTree {

  override getChildren(node?: Node): Node[] {
    if (node) return [];
    return this.project.environments.map((e) => ({ kind: 'environment', env: e.name }));
  }

  override getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind !== 'environment') return new vscode.TreeItem('');
    return environmentItem(this.project, node.env, this.media);
  }
}
