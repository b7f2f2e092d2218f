/**
 * A semaphore over bytes: the one bound on everything a pipeline holds in
 * flight. `acquire` resolves when the bytes fit, or when fewer than `minHeld`
 * requests are held whatever their size: one oversized batch cannot deadlock
 * the pipeline, and with `minHeld` 2 a batch can be read and processed while
 * the one before it is written (the bound is then the larger of the budget and
 * two batches).
 */
export class ByteBudget {
  private used = 0;
  private held = 0;
  private readonly waiters: Array<{ bytes: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private closedWith: Error | undefined = undefined;

  constructor(
    readonly capacity: number,
    private readonly minHeld = 1,
  ) {}

  get inUse(): number {
    return this.used;
  }

  /** Resolves once the bytes are held. Waiters are served in arrival order. */
  acquire(bytes: number): Promise<void> | undefined {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      this.held++;
      return undefined; // fast path: no promise
    }
    return new Promise((resolve, reject) => this.waiters.push({ bytes, resolve, reject }));
  }

  release(bytes: number): void {
    this.used -= bytes;
    this.held--;
    while (this.waiters.length > 0) {
      const w = this.waiters[0];
      if (w === undefined || !this.fits(w.bytes)) break;
      this.waiters.shift();
      this.used += w.bytes;
      this.held++;
      w.resolve();
    }
  }

  /** Fails every waiter and every later acquire (the pipeline is stopping). */
  close(reason: Error): void {
    this.closedWith = reason;
    for (const w of this.waiters.splice(0)) w.reject(reason);
  }

  private fits(bytes: number): boolean {
    return this.held < this.minHeld || this.used + bytes <= this.capacity;
  }
}
