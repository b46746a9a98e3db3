// A table that renders only the rows in view, so tens of thousands of rows scroll smoothly.
// Sorting by any column and filtering by text happen here, on the rows the host sent once.
import { clear, h } from './common/dom';

export interface Column<T> {
  key: string;
  title: string;
  width: string;
  text(row: T): string;
  /** Value to sort by (default: the text). */
  sort?(row: T): number | string;
  className?: string;
  /** A class for one row's cell (e.g. a colour band). */
  cellClass?(row: T): string;
}

export interface SortState {
  key: string;
  descending: boolean;
}

const ROW_HEIGHT = 24;

export class VirtualTable<T> {
  readonly element: HTMLElement;
  private readonly header: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private all: T[] = [];
  private shown: T[] = [];
  private filterText = '';
  /** Keys of the selected rows: rows may be replaced (shapes arrive later) and stay selected. */
  private readonly selected = new Set<string>();
  /** Where a Shift-click range starts (an index in the shown rows). */
  private anchor: number | undefined;

  constructor(
    private readonly columns: Column<T>[],
    private sortState: SortState,
    private readonly onSelect: (row: T, event: MouseEvent) => void,
    private readonly searchable: (row: T) => string,
    private readonly rowKey: (row: T) => string,
    private readonly onSortChange: (s: SortState) => void = () => undefined,
    /** Given, Ctrl/Cmd-click toggles rows and Shift-click adds a range; called with every selected key. */
    private readonly onMultiSelect?: (keys: string[]) => void,
  ) {
    const template = columns.map((c) => c.width).join(' ');
    this.header = h('div', { className: 'vt-header', role: 'row' });
    this.header.style.gridTemplateColumns = template;
    this.body = h('div', { className: 'vt-body', role: 'rowgroup' });
    this.spacer = h('div', { className: 'vt-spacer' }, this.body);
    this.viewport = h('div', { className: 'vt-viewport', tabindex: 0 }, this.spacer);
    this.viewport.addEventListener('scroll', () => {
      this.header.scrollLeft = this.viewport.scrollLeft;
      this.renderRows();
    });
    // A viewport made taller (a resized pane or window) needs the rows that now come into view.
    let height = 0;
    new ResizeObserver(() => {
      if (this.viewport.clientHeight > height) this.renderRows();
      height = this.viewport.clientHeight;
    }).observe(this.viewport);
    this.element = h('div', { className: 'vt', role: 'table' }, this.header, this.viewport);
    this.renderHeader();
  }

  setRows(rows: T[]): void {
    this.all = rows;
    this.apply();
  }

  filter(text: string): void {
    this.filterText = text.trim().toLowerCase();
    this.apply();
  }

  get rowCount(): number {
    return this.shown.length;
  }

  /** Rows in their current order (filtered and sorted). */
  get rows(): readonly T[] {
    return this.shown;
  }

  sortBy(key: string, descending?: boolean): void {
    this.sortState = { key, descending: descending ?? (this.sortState.key === key ? !this.sortState.descending : false) };
    this.onSortChange(this.sortState);
    this.renderHeader();
    this.apply();
  }

  /** Selects a row and scrolls it into view; false when it is filtered out. */
  reveal(match: (row: T) => boolean): boolean {
    let index = this.shown.findIndex(match);
    if (index < 0 && this.filterText) {
      this.filter('');
      index = this.shown.findIndex(match);
    }
    if (index < 0) return false;
    this.selected.clear();
    this.selected.add(this.rowKey(this.shown[index]));
    this.anchor = index;
    const top = index * ROW_HEIGHT;
    const view = this.viewport.clientHeight || 400;
    if (top < this.viewport.scrollTop || top + ROW_HEIGHT > this.viewport.scrollTop + view) {
      this.viewport.scrollTop = Math.max(0, top - view / 2);
    }
    this.renderRows();
    return true;
  }

  /** Keys of the selected rows, filtered out or not. */
  get selection(): string[] {
    return [...this.selected];
  }

  /** Replaces the selection (from elsewhere: a chart) and scrolls the first shown one into view. */
  setSelection(keys: Iterable<string>): void {
    this.selected.clear();
    for (const k of keys) this.selected.add(k);
    const index = this.shown.findIndex((r) => this.selected.has(this.rowKey(r)));
    if (index >= 0) {
      this.anchor = index;
      const top = index * ROW_HEIGHT;
      const view = this.viewport.clientHeight || 400;
      if (top < this.viewport.scrollTop || top + ROW_HEIGHT > this.viewport.scrollTop + view) this.viewport.scrollTop = Math.max(0, top - view / 2);
    }
    this.renderRows();
  }

  get scrollTop(): number {
    return this.viewport.scrollTop;
  }

  set scrollTop(v: number) {
    this.viewport.scrollTop = v;
    this.renderRows();
  }

  private apply(): void {
    const f = this.filterText;
    const rows = f ? this.all.filter((r) => this.searchable(r).toLowerCase().includes(f)) : [...this.all];
    const col = this.columns.find((c) => c.key === this.sortState.key) ?? this.columns[0];
    const value = col.sort ?? col.text;
    const dir = this.sortState.descending ? -1 : 1;
    rows.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      return (typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true })) * dir;
    });
    this.shown = rows;
    this.spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    this.renderRows();
  }

  private renderHeader(): void {
    clear(this.header);
    for (const c of this.columns) {
      const mark = this.sortState.key === c.key ? (this.sortState.descending ? ' ▼' : ' ▲') : '';
      this.header.append(
        h(
          'div',
          {
            className: 'vt-cell vt-head',
            role: 'columnheader',
            'data-key': c.key,
            title: `Sort by ${c.title}`,
            'aria-sort': this.sortState.key === c.key ? (this.sortState.descending ? 'descending' : 'ascending') : 'none',
            onclick: () => this.sortBy(c.key),
          },
          c.title + mark,
        ),
      );
    }
  }

  private click(index: number, event: MouseEvent): void {
    const key = this.rowKey(this.shown[index]);
    if (this.onMultiSelect && (event.ctrlKey || event.metaKey)) {
      if (!this.selected.delete(key)) this.selected.add(key);
    } else if (this.onMultiSelect && event.shiftKey && this.anchor !== undefined) {
      const [a, b] = this.anchor < index ? [this.anchor, index] : [index, this.anchor];
      for (let j = a; j <= b && j < this.shown.length; j++) this.selected.add(this.rowKey(this.shown[j]));
      return;
    } else {
      this.selected.clear();
      this.selected.add(key);
    }
    this.anchor = index;
  }

  private renderRows(): void {
    const view = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - 10);
    const last = Math.min(this.shown.length, Math.ceil((this.viewport.scrollTop + view) / ROW_HEIGHT) + 10);
    clear(this.body);
    this.body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const template = this.columns.map((c) => c.width).join(' ');
    for (let i = first; i < last; i++) {
      const row = this.shown[i];
      const el = h('div', { className: `vt-row${this.selected.has(this.rowKey(row)) ? ' selected' : ''}`, role: 'row', 'data-index': i });
      el.style.gridTemplateColumns = template;
      for (const c of this.columns) {
        const text = c.text(row);
        el.append(h('div', { className: `vt-cell ${c.className ?? ''} ${c.cellClass?.(row) ?? ''}`, role: 'cell', title: text }, text));
      }
      el.addEventListener('click', (event) => {
        this.click(i, event);
        this.renderRows();
        this.onSelect(row, event);
        this.onMultiSelect?.(this.selection);
      });
      this.body.append(el);
    }
  }
}
