// Waiting runs, one FIFO per key (an account), served round-robin between keys: a key with a
// thousand runs waiting gets the next slot no more often than a key with one.

export class FairQueue<T> {
  /** Insertion order is the rotation: a key served goes to the back (Map keeps insertion order). */
  private readonly lanes = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Keys with something waiting. */
  get keys(): number {
    return this.lanes.size;
  }

  push(key: string, item: T): void {
    const lane = this.lanes.get(key);
    if (lane) lane.push(item);
    else this.lanes.set(key, [item]);
    this.count++;
  }

  /**
   * Takes the oldest item of the first key in rotation that `eligible` allows, and moves that key
   * to the back of the rotation. A key `eligible` refuses keeps its place.
   */
  next(eligible: (key: string) => boolean): T | undefined {
    for (const [key, lane] of this.lanes) {
      if (!eligible(key)) continue;
      const item = lane.shift()!;
      this.lanes.delete(key);
      if (lane.length > 0) this.lanes.set(key, lane);
      this.count--;
      return item;
    }
    return undefined;
  }

  /** Withdraws one waiting item; false when it is no longer waiting. */
  remove(key: string, item: T): boolean {
    const lane = this.lanes.get(key);
    const at = lane?.indexOf(item) ?? -1;
    if (!lane || at < 0) return false;
    lane.splice(at, 1);
    if (lane.length === 0) this.lanes.delete(key);
    this.count--;
    return true;
  }

  /** Everything waiting, emptied. */
  drain(): T[] {
    const all = [...this.lanes.values()].flat();
    this.lanes.clear();
    this.count = 0;
    return all;
  }
}
