// Passwords for servers whose configuration names none: asked once, kept in VS Code's SecretStorage
// (the OS keychain where there is one), never in settings, logs or messages.
import * as vscode from 'vscode';
import type { CredentialSource, EnvironmentConfig } from '../core';
import type { Prompter } from './api';

export class SecretCredentials implements CredentialSource {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly root: string,
    private readonly prompter: () => Prompter,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** One secret per project and environment name. */
  key(env: EnvironmentConfig): string {
    return `bulwark.password:${this.root}:${env.name}`;
  }

  async saved(env: EnvironmentConfig): Promise<string | undefined> {
    return (await this.secrets.get(this.key(env))) || undefined;
  }

  async ask(env: EnvironmentConfig, display: string, reason: string): Promise<string | undefined> {
    this.log.info(`[${env.name}] the server asks for a password (${reason}); asking you`);
    const pw = await this.prompter().input({
      title: `Password for "${env.name}"`,
      prompt: `${display} needs a password (${reason}). It is kept in VS Code's secret storage, never in settings.`,
      password: true,
      ignoreFocusOut: true,
    });
    return pw === undefined || pw === '' ? undefined : pw;
  }

  async save(env: EnvironmentConfig, password: string): Promise<void> {
    await this.secrets.store(this.key(env), password);
    this.log.info(`[${env.name}] password saved in VS Code's secret storage`);
  }

  async forget(env: EnvironmentConfig): Promise<void> {
    await this.secrets.delete(this.key(env));
    this.log.info(`[${env.name}] saved password removed`);
  }

  /** For the command: true when there was one. */
  async forgetIfSaved(env: EnvironmentConfig): Promise<boolean> {
    const had = (await this.secrets.get(this.key(env))) !== undefined;
    if (had) await this.forget(env);
    return had;
  }
}

/** The real prompts. */
export const windowPrompter: Prompter = {
  input: (opts) => vscode.window.showInputBox(opts),
  pick: (items, opts) => vscode.window.showQuickPick(items, opts),
  confirm: (message, detail, ...buttons) => vscode.window.showWarningMessage(message, { modal: true, detail }, ...buttons),
};
