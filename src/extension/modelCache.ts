// The loaded models of the model store, by key, and what keeps each loaded: the editors that
// show it (counted) and being the inspector's active model. A model nothing keeps is dropped,
// whoever loaded it (a command's one-off read is simply read again when asked for again): models
// of hundreds of megabytes must not stay in memory once their last editor is closed.
// Free of the VS Code API so that it is tested in plain Node.

export class ModelCache<V> {
  private readonly loaded = new Map<string, Promise<V>>();
  private readonly refs = new Map<string, number>();
  private activeKey: string | undefined;

  constructor(private readonly dropped: (key: string) => void = () => undefined) {}

  /**
   * The model of `key`, loaded by `load` once and shared until dropped; a failed load is
   * forgotten. One read while nothing keeps it stays until the next release or change of model.
   */
  get(key: string, load: () => Promise<V>): Promise<V> {
    let value = this.loaded.get(key);
    if (!value) {
      value = load();
      this.loaded.set(key, value);
      const loading = value;
      value.catch(() => {
        if (this.loaded.get(key) === loading) this.loaded.delete(key);
      });
    }
    return value;
  }

  /** Keeps `key` loaded until the returned function is called (once per editor). */
  retain(key: string): () => void {
    this.refs.set(key, (this.refs.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.refs.get(key) ?? 1) - 1;
      if (left > 0) this.refs.set(key, left);
      else this.refs.delete(key);
      this.sweep();
    };
  }

  references(key: string): number {
    return this.refs.get(key) ?? 0;
  }

  /** The inspector's model: kept loaded while it is active, even with no editor open. */
  setActive(key: string | undefined): void {
    this.activeKey = key;
    this.sweep();
  }

  isLoaded(key: string): boolean {
    return this.loaded.has(key);
  }

  /** Forgets the model of `key` (its file changed); true when one was loaded. */
  drop(key: string): boolean {
    return this.loaded.delete(key);
  }

  /** Drops every model that no editor shows and that is not the active one. */
  private sweep(): void {
    for (const key of [...this.loaded.keys()]) {
      if (key !== this.activeKey && !this.refs.has(key)) {
        this.loaded.delete(key);
        this.dropped(key);
      }
    }
  }
}
