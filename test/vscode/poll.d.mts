export interface PollOptions {
  /** default 20 000 ms */
  timeoutMs?: number;
  /** what is awaited, for the error message */
  what?: string;
  /** first delay between polls; doubles up to 250 ms. default 20 ms */
  intervalMs?: number;
}
export function poll<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts?: PollOptions): Promise<T>;
