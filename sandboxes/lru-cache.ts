/** A Map that forgets its least recently used entry past `capacity`. */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const evicted = this.entries.get(oldest.value)!;
      this.entries.delete(oldest.value);
      this.onEvict?.(oldest.value, evicted);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** A snapshot of the keys, least recently used first (safe to delete while iterating it). */
  keys(): K[] {
    return [...this.entries.keys()];
  }

  clear(): void {
    if (this.onEvict) for (const [k, v] of this.entries) this.onEvict(k, v);
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
