// The surface the extension returns from activate(): what its own tests inside a real VS Code use to
// look at the tree, the lenses and the model, and to answer prompts without a person at the keyboard.
import type * as vscode from 'vscode';

/** Everything the extension asks a person goes through this, so tests can answer (or cancel) it. */
export interface Prompter {
  input(opts: vscode.InputBoxOptions): Thenable<string | undefined>;
  pick<T extends vscode.QuickPickItem>(items: readonly T[], opts: vscode.QuickPickOptions): Thenable<T | undefined>;
  /** A modal warning with buttons; resolves to the chosen button or undefined (cancel). */
  confirm(message: string, detail: string, ...buttons: string[]): Thenable<string | undefined>;
}
