// Close names, for messages that say "no tensor 'x' (did you mean 'y'?)".

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** Up to `count` candidates nearest to `name` (case-insensitive edit distance; containment counts as near). */
export function closeNames(name: string, candidates: readonly string[], count = 3): string[] {
  const lower = name.toLowerCase();
  const scored = candidates.map((c) => {
    const l = c.toLowerCase();
    const d = l.includes(lower) || lower.includes(l) ? Math.abs(l.length - lower.length) / 4 : editDistance(lower, l);
    return { c, d };
  });
  const limit = Math.max(2, Math.ceil(name.length / 2));
  return scored
    .filter((s) => s.d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, count)
    .map((s) => s.c);
}

export function closest(name: string, candidates: readonly string[]): string | undefined {
  return closeNames(name, candidates, 1)[0];
}
