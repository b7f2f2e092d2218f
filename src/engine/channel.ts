/**
 * A bounded FIFO between two tasks of a pipeline. `push` waits while the
 * channel is full; `pop` waits while it is empty and returns undefined once the
 * channel is closed and drained.
 */
export class Channel<T> {
  private readonly items: T[] = [];
  private head = 0;
  private closed = false;
  private failed: Error | undefined = undefined;
  private popWaiter: ((v: void) => void) | undefined;
  private readonly pushWaiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  async push(item: T): Promise<void> {
    while (this.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => this.pushWaiters.push(resolve));
    }
    if (this.failed !== undefined) throw this.failed;
    if (this.closed) throw new Error('push on a closed channel');
    this.items.push(item);
    const w = this.popWaiter;
    if (w !== undefined) {
      this.popWaiter = undefined;
      w();
    }
  }

  async pop(): Promise<T | undefined> {
    while (this.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.popWaiter = resolve));
    }
    return this.take();
  }

  /**
   * Like pop, but gives up after `ms` and returns undefined. Giving up leaves
   * nothing behind: no later item is taken on its behalf.
   */
  async popWithin(ms: number): Promise<T | undefined> {
    if (this.length > 0) return this.take();
    if (this.closed || ms <= 0) return undefined;
    let waiter: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      waiter = resolve;
      this.popWaiter = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    if (this.popWaiter === waiter) this.popWaiter = undefined;
    return this.length > 0 ? this.take() : undefined;
  }

  /** Takes an item if one is waiting, without waiting. */
  tryPop(): T | undefined {
    return this.length === 0 ? undefined : this.take();
  }

  /** No more pushes; pop drains what is left, then returns undefined. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Stops both sides at once: pending and later pushes throw, pop returns undefined. */
  abort(reason: Error): void {
    this.failed = reason;
    this.closed = true;
    this.items.length = 0;
    this.head = 0;
    this.wake();
  }

  private take(): T {
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    const w = this.pushWaiters.shift();
    if (w !== undefined) w();
    return item;
  }

  private wake(): void {
    const w = this.popWaiter;
    this.popWaiter = undefined;
    if (w !== undefined) w();
    for (const p of this.pushWaiters.splice(0)) p();
  }
}
