/** The core never calls `console`; callers pass a logger (the CLI prints to stderr, the editor to its output channel). */
export interface Logger {
  debug?(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
