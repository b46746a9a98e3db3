// The selected layers (indices into report.layers) and the one in focus (shown in the histogram),
// shared by the table and every chart: a change from one is drawn by all the others.
export type Origin = 'table' | 'chart' | 'restore';

export class Selection {
  private readonly selected = new Set<number>();
  focus: number | undefined;
  private readonly listeners: Array<(origin: Origin) => void> = [];

  onChange(fn: (origin: Origin) => void): void {
    this.listeners.push(fn);
  }

  has(index: number): boolean {
    return this.selected.has(index);
  }

  get indices(): number[] {
    return [...this.selected].sort((a, b) => a - b);
  }

  get size(): number {
    return this.selected.size;
  }

  set(indices: Iterable<number>, focus: number | undefined, origin: Origin): void {
    this.selected.clear();
    for (const i of indices) this.selected.add(i);
    this.focus = focus;
    this.changed(origin);
  }

  /** Ctrl/Cmd-click: adds or removes one layer, focusing it when added. */
  toggle(index: number, origin: Origin): void {
    if (this.selected.delete(index)) {
      if (this.focus === index) this.focus = this.indices[0];
    } else {
      this.selected.add(index);
      this.focus = index;
    }
    this.changed(origin);
  }

  private changed(origin: Origin): void {
    for (const fn of this.listeners) fn(origin);
  }
}
