/** "Did you mean …?" for misspelled setting and environment names. */

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment),
 * since `tabel` for `table` is the most common typo of all.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The closest candidate, if it is close enough to be a plausible typo (case differences count as half
 * an edit), or if one word starts with the other (`hostname` → `host`, `username` → `user`).
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  // Allow roughly one edit per three characters, so short words do not "match" unrelated ones.
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let score = cl === lower ? 0.5 : editDistance(lower, cl);
    const prefix = Math.min(cl.length, lower.length) >= 4 && (cl.startsWith(lower) || lower.startsWith(cl));
    if (prefix) score = Math.min(score, limit);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return bestScore <= limit ? best : undefined;
}
