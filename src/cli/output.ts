import type { Redactor } from '../core/redact';

/** Colour only on a TTY and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

export interface Style {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function style(enabled: boolean): Style {
  const w = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: w(31, 39), green: w(32, 39), yellow: w(33, 39), cyan: w(36, 39), dim: w(2, 22), bold: w(1, 22) };
}

/** Every byte Bulwark prints goes through the redactor: no password reaches a terminal or a CI log. */
export class Out {
  constructor(
    private readonly redactor: Redactor,
    readonly s: Style,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}
  print(text = ''): void {
    this.stdout.write(this.redactor.redact(text) + '\n');
  }
  json(value: unknown): void {
    this.stdout.write(this.redactor.redact(JSON.stringify(value, null, 2)) + '\n');
  }
  err(text: string): void {
    this.stderr.write(this.redactor.redact(text) + '\n');
  }
}

export function ms(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60000) return `${(n / 1000).toFixed(1)} s`;
  return `${Math.floor(n / 60000)} min ${Math.round((n % 60000) / 1000)} s`;
}
