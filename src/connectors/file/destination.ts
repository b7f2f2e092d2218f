/**
 * The file destination: appends each record, formatted by `sdk.record.format`,
 * plus a newline. A whole batch is one write followed by fdatasync, so a batch is
 * durable before `write` resolves (and before the source is acknowledged).
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
  /** The write buffer (`sink.buf`), reused across batches; it grows to the largest batch. */
  private sink: ByteSink = { buf: Buffer.allocUnsafe(1 << 20), off: 0 };

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
    const sink = this.sink;
    const writeInto = this.writeInto;
    sink.off = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as OpenCDCRecord;
      try {
        if (writeInto !== undefined) writeInto(record, sink);
        else this.append(this.format(record));
      } catch (err) {
        outcomes ??= new Array<Error | undefined>(records.length).fill(undefined);
        outcomes[i] = err instanceof Error ? err : new Error(String(err));
        continue;
      }
      if (sink.off >= sink.buf.length) this.reserve(1);
      sink.buf[sink.off++] = 0x0a;
    }
    const data = sink.buf.subarray(0, sink.off);
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
    return outcomes;
  }

  private append(formatted: string | Uint8Array): void {
    const sink = this.sink;
    if (typeof formatted === 'string') {
      this.reserve(formatted.length * 3); // UTF-8 needs at most 3 bytes per UTF-16 unit
      sink.off += sink.buf.write(formatted, sink.off, 'utf8');
    } else {
      this.reserve(formatted.byteLength);
      sink.buf.set(formatted, sink.off);
      sink.off += formatted.byteLength;
    }
  }

  private reserve(bytes: number): void {
    const { buf, off } = this.sink;
    if (off + bytes <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, off + bytes));
    buf.copy(bigger, 0, 0, off);
    this.sink.buf = bigger;
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
