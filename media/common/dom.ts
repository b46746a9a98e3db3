// Small DOM helpers. Text always goes in as text nodes: nothing from a model or a report is ever
// parsed as HTML.
type Child = Node | string | number | null | undefined | false;

type Props = Record<string, string | number | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, props?: Props, ...children: Child[]): HTMLElement;
export function h(tag: string, props: Props = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'className') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A figure with its title and, when given, one line of detail under the value. */
export function card(title: string, value: string, detail?: string, id?: string): HTMLElement {
  return h(
    'div',
    { className: 'card', id },
    h('div', { className: 'card-title' }, title),
    h('div', { className: 'card-value' }, value),
    detail ? h('div', { className: 'card-detail' }, detail) : null,
  );
}
