// The open webview panels by document, several per document: VS Code can show one .onnx in two
// editors (Split Editor), and each keeps its own host and state; a report or a run has one panel,
// found again by its key. Free of the VS Code API so that it is tested in plain Node.

export class WebviewCollection<P> {
  /** Per document key, its panels; the one used last is last. */
  private readonly byKey = new Map<string, P[]>();

  /** Adds a panel of `key`; the returned function removes it (once). */
  add(key: string, panel: P): () => void {
    const list = this.byKey.get(key) ?? [];
    list.push(panel);
    this.byKey.set(key, list);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const left = (this.byKey.get(key) ?? []).filter((p) => p !== panel);
      if (left.length) this.byKey.set(key, left);
      else this.byKey.delete(key);
    };
  }

  /** Marks `panel` as the one of its document used last (it became active). */
  touch(key: string, panel: P): void {
    const list = this.byKey.get(key);
    const i = list?.indexOf(panel) ?? -1;
    if (list && i >= 0) list.push(...list.splice(i, 1));
  }

  panels(key: string): readonly P[] {
    return this.byKey.get(key) ?? [];
  }

  /** The panel of `key` used last, which reveals go to. */
  current(key: string): P | undefined {
    const list = this.byKey.get(key);
    return list?.[list.length - 1];
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }
}
