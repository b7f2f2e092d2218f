/**
 * The file source: follows a file line by line, like `tail -F`, from a byte
 * offset. One record per complete line; a last line without its newline waits
 * for it. The position is the byte offset just after the line, as a decimal
 * string, so reopening there continues at the next line with no gap and no
 * repeat.
 *
 * Reading is in large chunks split on newlines. Growth is noticed with fs.watch
 * on the file's directory (which also sees the file appear), with a short poll as
 * a fallback for file systems where watching does not work.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import type { Logger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { ConnectorContext, Source } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { decimals, parseDecimalPosition } from '../util.js';

/** Metadata key with the followed file's path (Conduit's name). */
export const FILE_PATH_KEY = 'file.path';
const CHUNK = 1 << 20;
const POLL_MS = 100;

export interface FileSourceOptions {
  /** How often to look at the file when no watch event came (ms). */
  readonly pollMs?: number;
  /** The initial read size (bytes); it doubles while a line does not fit. */
  readonly chunkSize?: number;
}

export class FileSource implements Source {
  private path = '';
  private logger: Logger | undefined;
  private fh: FileHandle | undefined;
  private ino = -1;
  /** Did the file exist since open? (Then its disappearance is an error.) */
  private seen = false;
  /** The byte offset after the last line parsed: the next line starts here. */
  private readPos = 0;
  private pending: OpenCDCRecord[] = [];
  private pendingIdx = 0;
  private chunkSize: number;
  private scratch: Buffer | undefined;
  private watcher: FSWatcher | undefined;
  private dirty = false;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly pollMs: number;

  constructor(opts: FileSourceOptions = {}) {
    this.pollMs = opts.pollMs ?? POLL_MS;
    this.chunkSize = opts.chunkSize ?? CHUNK;
  }

  configure(config: Config, ctx: ConnectorContext): void {
    this.path = config.string('path');
    this.logger = ctx.logger;
  }

  async open(position: Uint8Array | null): Promise<void> {
    this.readPos = position === null || position.length === 0 ? 0 : parseDecimalPosition(position, 'file');
    // Resuming from a position means the file existed: if it is gone now, that is an error
    // (recovery, then degraded), not a file that has yet to appear.
    this.seen = position !== null && position.length > 0;
    this.closed = false;
    this.startWatching();
  }

  async read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]> {
    for (;;) {
      if (this.pendingIdx < this.pending.length) return this.take(max);
      if (signal.aborted || this.closed) return [];
      this.dirty = false;
      if (this.fh === undefined && !(await this.openFile())) {
        await this.waitForChange(signal);
        continue;
      }
      if ((await this.readChunk()) > 0) continue;
      if (await this.checkFile()) continue;
      await this.waitForChange(signal);
    }
  }

  async ack(_positions: readonly Uint8Array[]): Promise<void> {
    // The file is not changed by reading it; nothing to release.
  }

  async teardown(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.wake?.();
    const fh = this.fh;
    this.fh = undefined;
    this.pending = [];
    this.pendingIdx = 0;
    await fh?.close();
  }

  private take(max: number): OpenCDCRecord[] {
    const end = Math.min(this.pending.length, this.pendingIdx + Math.max(1, max));
    const out = this.pending.slice(this.pendingIdx, end);
    this.pendingIdx = end;
    if (end === this.pending.length) {
      this.pending = [];
      this.pendingIdx = 0;
    }
    return out;
  }

  /** Opens the file if it exists; false when it does not (yet). */
  private async openFile(): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        if (this.seen) throw this.gone();
        this.startWatching(); // the directory may have appeared meanwhile
        return false;
      }
      throw this.failed(err);
    }
    const st = await fh.stat();
    this.fh = fh;
    this.ino = st.ino;
    this.seen = true;
    if (st.size < this.readPos) {
      this.logger?.warn('file: the file is shorter than the position, reading it from the start', {
        path: this.path,
        position: this.readPos,
        size: st.size,
      });
      this.readPos = 0;
    }
    return true;
  }

  /** Reads from the position, parses complete lines into `pending`; returns how many. */
  private async readChunk(): Promise<number> {
    const fh = this.fh as FileHandle;
    for (;;) {
      const scratch = (this.scratch ??= Buffer.allocUnsafeSlow(this.chunkSize));
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(scratch, 0, scratch.length, this.readPos));
      } catch (err) {
        throw this.failed(err);
      }
      if (bytesRead === 0) return 0;
      const lastNl = scratch.lastIndexOf(10, bytesRead - 1);
      if (lastNl < 0) {
        if (bytesRead < scratch.length) return 0; // a partial last line: wait for its newline
        // A line longer than the chunk: read again with room for it.
        this.chunkSize *= 2;
        this.scratch = undefined;
        continue;
      }
      const used = lastNl + 1;
      // Records keep views into the chunk. A mostly full chunk is handed over whole;
      // a small read is copied out so that a few lines do not pin a megabyte.
      let data: Buffer;
      if (used >= scratch.length >>> 1) {
        data = scratch;
        this.scratch = undefined;
      } else {
        data = Buffer.allocUnsafe(used);
        scratch.copy(data, 0, 0, used);
      }
      return this.split(data, used);
    }
  }

  private split(data: Buffer, used: number): number {
    const base = this.readPos;
    const starts: number[] = [];
    const ends: number[] = [];
    let s = 0;
    while (s < used) {
      const nl = data.indexOf(10, s);
      if (nl < 0 || nl >= used) break;
      starts.push(s);
      ends.push(nl);
      s = nl + 1;
    }
    const n = starts.length;
    const keyOffsets = new Array<number>(n);
    const endOffsets = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      keyOffsets[i] = base + (starts[i] as number);
      endOffsets[i] = base + (ends[i] as number) + 1;
    }
    const keys = decimals(keyOffsets);
    const positions = decimals(endOffsets);
    const path = this.path;
    const out = new Array<OpenCDCRecord>(n);
    for (let i = 0; i < n; i++) {
      out[i] = {
        position: positions[i] as Buffer,
        operation: 'create',
        metadata: { [FILE_PATH_KEY]: path },
        key: keys[i] as Buffer,
        payload: { before: null, after: data.subarray(starts[i], ends[i]) },
      };
    }
    this.pending = out;
    this.pendingIdx = 0;
    this.readPos = base + used;
    return n;
  }

  /**
   * At the end of the file: was it truncated, replaced or removed? Returns true
   * when reading should start again at once.
   */
  private async checkFile(): Promise<boolean> {
    let st;
    try {
      st = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw this.gone();
      throw this.failed(err);
    }
    if (st.ino !== this.ino) {
      this.logger?.warn('file: the file was replaced, reading the new one from the start', { path: this.path });
      await this.fh?.close();
      this.fh = undefined;
      this.readPos = 0;
      return true;
    }
    if (st.size < this.readPos) {
      this.logger?.warn('file: the file was truncated, reading it from the start', {
        path: this.path,
        position: this.readPos,
        size: st.size,
      });
      this.readPos = 0;
      return true;
    }
    return this.dirty;
  }

  private startWatching(): void {
    if (this.watcher !== undefined || this.closed) return;
    const name = basename(this.path);
    try {
      const w = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name) this.poke();
      });
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined; // polling carries on
      });
      this.watcher = w;
    } catch {
      // The directory does not exist (yet) or cannot be watched: polling covers it.
    }
  }

  private poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Waits for a watch event, the poll interval or the abort, whichever comes first. */
  private waitForChange(signal: AbortSignal): Promise<void> {
    if (this.dirty || signal.aborted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private gone(): ConduitError {
    return new ConduitError(Code.ConnectorReadFailed, `file: ${this.path} disappeared`, {
      retryable: true,
      suggestion: 'restore the file; the pipeline restarts and waits for it',
    });
  }

  private failed(err: unknown): ConduitError {
    return new ConduitError(Code.ConnectorReadFailed, `file: cannot read ${this.path}: ${(err as Error).message}`, {
      cause: err,
      retryable: true,
    });
  }
}
