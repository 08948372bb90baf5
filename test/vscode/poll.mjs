// One poll-with-a-deadline for both sides of the VS Code tests: the Playwright driver (plain Node) and the
// suite inside the extension host (bundled by esbuild). No fixed sleeps: poll, then fail saying what was awaited.

/**
 * Polls `probe` until it returns a truthy value (which is returned) or the deadline passes. A probe that
 * throws counts as "not yet"; on timeout the last error (or value) is part of the message.
 */
export async function poll(probe, { timeoutMs = 20_000, what = 'a condition', intervalMs = 20 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (let delay = intervalMs; ; delay = Math.min(delay * 2, 250)) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? `last error: ${last.message.split('\n')[0]}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (${detail})`);
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
  }
}
