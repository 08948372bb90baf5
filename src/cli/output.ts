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

/**
 * Run a cancellable operation: the first Ctrl-C (or SIGTERM) aborts the signal and says `what` is being
 * stopped; a second one exits at once.
 */
export async function withInterrupt<T>(out: Out, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    out.err(`${sig}: ${what} (press Ctrl-C again to exit at once)…`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The first line of a statement, shortened for one-line listings. */
export function firstLine(sql: string): string {
  const l = sql.split('\n')[0];
  return l.length > 100 ? l.slice(0, 100) + '…' : l + (sql.includes('\n') ? ' …' : '');
}
