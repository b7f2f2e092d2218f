/**
 * The file destination: appends each record, formatted by `sdk.record.format`,
 * plus a newline. A whole batch is one write followed by fdatasync, so a batch is
 * durable before `write` resolves (and before the source is acknowledged).
 *
 * Two writes may be outstanding (`writesInFlight`): the next batch is encoded
 * while the last one is written and synced. The appends themselves still happen
 * one after the other in the order given, and none after one that failed.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Destination, DestinationContext, RecordFormatter, WriteOutcome } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { byteWriterOf, type RecordByteWriter } from '../../sdk/formats.js';
import type { ByteSink } from '../../opencdc/json.js';
import type { Logger } from '../../log/logger.js';

export class FileDestination implements Destination {
  private path = '';
  private format: RecordFormatter = () => '';
  /** Writes a formatted record straight into the buffer, when the format can. */
  private writeInto: RecordByteWriter | undefined;
  private fh: FileHandle | undefined;
  private logger: Logger | undefined;
  readonly writesInFlight = 2;
  /** Write buffers not in use, reused across batches (each grows to the largest batch it held). */
  private readonly free: ByteSink[] = [];
  /** The last append begun: the next one starts when it has succeeded. */
  private appending: Promise<void> = Promise.resolve();

  configure(config: Config, ctx: DestinationContext): void {
    this.path = config.string('path');
    this.format = ctx.format;
    this.writeInto = byteWriterOf(ctx.format);
    this.logger = ctx.logger;
  }

  async open(): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
      this.fh = await open(this.path, 'a+');
      await this.cutTornLine(this.fh);
    } catch (err) {
      throw new ConduitError(
        Code.ConnectorOpenFailed,
        `file: cannot open ${this.path} for appending: ${(err as Error).message}`,
        {
          cause: err,
          configPath: '/path',
        },
      );
    }
  }

  async write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined> {
    const fh = this.fh;
    if (fh === undefined)
      throw new ConduitError(Code.ConnectorWriteFailed, 'file: write before open', { retryable: false });
    if (records.length === 0) return undefined;
    let outcomes: (Error | undefined)[] | undefined;
    // Encode every record straight into one reused buffer: no string concatenation to
    // flatten later, and each formatted record dies young (cheap for the GC).
    const sink = this.free.pop() ?? { buf: Buffer.allocUnsafe(1 << 20), off: 0 };
    const writeInto = this.writeInto;
    sink.off = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as OpenCDCRecord;
      try {
        if (writeInto !== undefined) writeInto(record, sink);
        else append(sink, this.format(record));
      } catch (err) {
        outcomes ??= new Array<Error | undefined>(records.length).fill(undefined);
        outcomes[i] = err instanceof Error ? err : new Error(String(err));
        continue;
      }
      if (sink.off >= sink.buf.length) reserve(sink, 1);
      sink.buf[sink.off++] = 0x0a;
    }
    const data = sink.buf.subarray(0, sink.off);
    const appended = this.appending.then(() => this.appendDurably(fh, data));
    this.appending = appended;
    try {
      await appended;
    } finally {
      if (this.free.length < this.writesInFlight) this.free.push(sink);
    }
    return outcomes;
  }

  /** Appends `data` and syncs it. */
  private async appendDurably(fh: FileHandle, data: Buffer): Promise<void> {
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        off += bytesWritten;
      }
      await fh.datasync();
    } catch (err) {
      throw new ConduitError(
        Code.ConnectorWriteFailed,
        `file: cannot append to ${this.path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * A crash in the middle of a write can leave the last line incomplete. That
   * line was never acknowledged, so the engine writes it again; appending after
   * the fragment would glue two records together. Cut the fragment instead.
   */
  private async cutTornLine(fh: FileHandle): Promise<void> {
    const { size } = await fh.stat();
    if (size === 0) return;
    const chunk = Buffer.alloc(Math.min(size, 1 << 16));
    let end = size;
    let first = true;
    while (end > 0) {
      const len = Math.min(chunk.length, end);
      await fh.read(chunk, 0, len, end - len);
      if (first && chunk[len - 1] === 0x0a) return; // ends with a complete line
      first = false;
      const nl = chunk.subarray(0, len).lastIndexOf(0x0a);
      if (nl >= 0) {
        end = end - len + nl + 1;
        break;
      }
      end -= len;
    }
    await fh.truncate(end);
    await fh.datasync();
    this.logger?.warn('file: removed an incomplete last line left by an interrupted write; it will be written again', {
      path: this.path,
      bytes: size - end,
    });
  }

  async teardown(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

/** A formatted record (text or bytes) at the end of `sink`. */
function append(sink: ByteSink, formatted: string | Uint8Array): void {
  if (typeof formatted === 'string') {
    reserve(sink, formatted.length * 3); // UTF-8 needs at most 3 bytes per UTF-16 unit
    sink.off += sink.buf.write(formatted, sink.off, 'utf8');
  } else {
    reserve(sink, formatted.byteLength);
    sink.buf.set(formatted, sink.off);
    sink.off += formatted.byteLength;
  }
}

function reserve(sink: ByteSink, bytes: number): void {
  const { buf, off } = sink;
  if (off + bytes <= buf.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, off + bytes));
  buf.copy(bigger, 0, 0, off);
  sink.buf = bigger;
}
