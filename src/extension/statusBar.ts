// The active environment in the status bar; protected ones stand out (error background, shield icon).
import * as vscode from 'vscode';
import { describeHolder } from '../core';
import type { Project } from './project';
import { environmentText } from './present';

export class EnvironmentStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly sub: vscode.Disposable;

  constructor(private readonly project: Project, private readonly active: () => string | undefined) {
    this.item = vscode.window.createStatusBarItem('bulwark.environment', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Bulwark environment';
    this.item.command = 'bulwark.selectEnvironment';
    this.sub = project.onDidChange(() => this.update());
    this.update();
  }

  update(): void {
    const name = this.active();
    const env = this.project.environments.find((e) => e.name === name);
    if (!env) {
      this.item.hide();
      return;
    }
    const st = this.project.statuses.get(env.name);
    const running = this.project.running.get(env.name);
    const icon = running ? '$(sync~spin)' : env.protected ? '$(shield)' : st && !st.reachable ? '$(debug-disconnect)' : '$(database)';
    const lock = st?.lockHolder ? ` $(lock) pid ${st.lockHolder.pid}` : '';
    this.item.text = `${icon} ${env.name}${env.protected ? ' (protected)' : ''}${lock}`;
    this.item.backgroundColor = env.protected ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.tooltip = `Bulwark environment "${env.name}": ${environmentText(st)}\n${st?.connection ?? ''}${st?.lockHolder ? `\nMigration lock held by ${describeHolder(st.lockHolder)}` : ''}\nClick to choose another.`;
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
