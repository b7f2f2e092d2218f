/**
 * A semaphore over bytes: the one bound on everything a pipeline holds in
 * flight. `acquire` resolves when the bytes fit; a request larger than the whole
 * budget is admitted when nothing else is held, so one oversized batch cannot
 * deadlock the pipeline.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: Array<{ bytes: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private closedWith: Error | undefined = undefined;

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Resolves once the bytes are held. Waiters are served in arrival order. */
  acquire(bytes: number): Promise<void> | undefined {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return undefined; // fast path: no promise
    }
    return new Promise((resolve, reject) => this.waiters.push({ bytes, resolve, reject }));
  }

  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiters.length > 0) {
      const w = this.waiters[0];
      if (w === undefined || !this.fits(w.bytes)) break;
      this.waiters.shift();
      this.used += w.bytes;
      w.resolve();
    }
  }

  /** Fails every waiter and every later acquire (the pipeline is stopping). */
  close(reason: Error): void {
    this.closedWith = reason;
    for (const w of this.waiters.splice(0)) w.reject(reason);
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacity;
  }
}
