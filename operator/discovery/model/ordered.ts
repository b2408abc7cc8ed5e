// Two small containers for the incremental model: objects by key in the order first seen, and a key → keys index.

/** Values by key; each keeps the place it was first set at (as a Map does), and `inOrder` sorts a subset by it. */
export class Ordered<T> {
  private readonly map = new Map<string, { value: T; seq: number }>();
  private seq = 0;

  set(key: string, value: T): void {
    const had = this.map.get(key);
    if (had) had.value = value;
    else this.map.set(key, { value, seq: this.seq++ });
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string): T | undefined {
    return this.map.get(key)?.value;
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  values(): T[] {
    return Array.from(this.map.values(), (e) => e.value);
  }

  /** The values of these keys (missing ones skipped), in the order their keys were first set. */
  inOrder(keys: Iterable<string>): T[] {
    const found: { value: T; seq: number }[] = [];
    for (const k of keys) {
      const e = this.map.get(k);
      if (e) found.push(e);
    }
    return found.sort((a, b) => a.seq - b.seq).map((e) => e.value);
  }
}

const NONE: ReadonlySet<string> = new Set();

/** key → a set of keys. */
export class Index {
  private readonly map = new Map<string, Set<string>>();

  add(key: string, value: string): void {
    let set = this.map.get(key);
    if (!set) this.map.set(key, (set = new Set()));
    set.add(value);
  }

  remove(key: string, value: string): void {
    const set = this.map.get(key);
    if (!set) return;
    set.delete(value);
    if (set.size === 0) this.map.delete(key);
  }

  get(key: string): ReadonlySet<string> {
    return this.map.get(key) ?? NONE;
  }
}
