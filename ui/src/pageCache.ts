// Rows of a server-sorted list, fetched in blocks as the virtual table scrolls. Keeps at
// most `maxBlocks` blocks (least recently used are dropped), fetches each block once
// even when asked repeatedly, and ignores answers that arrive after `dispose()`.

export interface Block<Row> {
  total: number;
  rows: Row[];
}

export type FetchBlock<Row> = (offset: number, limit: number) => Promise<Block<Row>>;

export class PageCache<Row> {
  private blocks = new Map<number, Row[]>();
  private inFlight = new Map<number, Promise<void>>();
  private listeners = new Set<() => void>();
  private disposed = false;
  total: number | null = null;
  error: unknown = null;

  constructor(
    private readonly fetchBlock: FetchBlock<Row>,
    readonly blockSize = 200,
    private readonly maxBlocks = 50,
  ) {}

  /** The row at `index`, or undefined while its block is loading. */
  get(index: number): Row | undefined {
    const block = Math.floor(index / this.blockSize);
    const rows = this.blocks.get(block);
    if (!rows) return undefined;
    // Touch: move to the back of the LRU order.
    this.blocks.delete(block);
    this.blocks.set(block, rows);
    return rows[index - block * this.blockSize];
  }

  /** Loads the blocks covering rows [start, end). */
  async ensure(start: number, end: number): Promise<void> {
    const first = Math.floor(Math.max(0, start) / this.blockSize);
    const last = Math.floor(Math.max(start, end - 1) / this.blockSize);
    const loads: Promise<void>[] = [];
    for (let b = first; b <= last; b++) {
      if (this.total !== null && b * this.blockSize >= this.total && b > 0) break;
      if (this.blocks.has(b)) continue;
      loads.push(this.load(b));
    }
    await Promise.all(loads);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
  }

  private load(block: number): Promise<void> {
    const pending = this.inFlight.get(block);
    if (pending) return pending;
    const promise = this.fetchBlock(block * this.blockSize, this.blockSize)
      .then((result) => {
        if (this.disposed) return;
        this.total = result.total;
        this.error = null;
        this.blocks.set(block, result.rows);
        while (this.blocks.size > this.maxBlocks) {
          const oldest = this.blocks.keys().next().value as number;
          this.blocks.delete(oldest);
        }
      })
      .catch((e: unknown) => {
        if (!this.disposed) this.error = e;
      })
      .finally(() => {
        this.inFlight.delete(block);
        if (!this.disposed) this.listeners.forEach((l) => l());
      });
    this.inFlight.set(block, promise);
    return promise;
  }
}
