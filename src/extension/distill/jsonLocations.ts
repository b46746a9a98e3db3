// Where each value of a JSON document sits, by the path the engine names it with
// (`knowledge[1].pairs[0].teacher`): so a spec problem can be shown on its own line. A small
// scanner of well-formed JSON; on text it cannot read it returns what it found so far.

export interface Span {
  start: number;
  end: number;
}

export function jsonValueSpans(text: string): Map<string, Span> {
  const spans = new Map<string, Span>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const join = (at: string, key: string | number) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key);
  const value = (at: string): void => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      while (i < text.length && text[i] !== '}') {
        ws();
        const key = str();
        ws();
        i++; // ':'
        value(join(at, key));
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++;
      ws();
      let n = 0;
      while (i < text.length && text[i] !== ']') {
        value(join(at, n++));
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && /[^,\]}\s]/.test(text[i])) i++;
    }
    if (i === start) throw new Error('unexpected character');
    spans.set(at, { start, end: i });
  };
  try {
    value('');
  } catch {
    // Broken JSON: the spans found so far are still right.
  }
  return spans;
}

/** The span of `path`, or of its nearest parent that exists (a missing field is shown on its object). */
export function spanOf(spans: Map<string, Span>, path: string): Span | undefined {
  let p = path;
  for (;;) {
    const s = spans.get(p);
    if (s) return s;
    if (!p) return undefined;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
}
