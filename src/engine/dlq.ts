/**
 * The dead-letter queue handler, with Conduit's window semantics:
 *
 * | window-size | threshold | behaviour |
 * | >0          | 0         | the first nack stops the pipeline; nothing is written |
 * | 0           | any       | every nack goes to the DLQ |
 * | >0          | >0        | nacks go to the DLQ until the nacks in the window exceed the threshold |
 *
 * A record the DLQ has durably taken counts as delivered (the source is acked).
 * If the DLQ cannot take it, the pipeline stops: no loss is acknowledged. Once
 * the threshold was exceeded or a write failed, the handler stays broken and
 * every later nack fails too, whatever acks follow (as Conduit's window freezes).
 */
import { Code } from '../errors/codes.js';
import { ConduitError, fatal } from '../errors/conduit-error.js';
import { MetadataKey, nowNanos } from '../opencdc/metadata.js';
import type { OpenCDCRecord, StructuredData } from '../opencdc/record.js';
import type { Destination } from '../sdk/connector.js';
import type { DLQConfig } from '../provisioning/types.js';

export class DlqHandler {
  /** Records counted so far (acked and nacked), when the window is tracked. */
  private seen = 0;
  /**
   * The sequence numbers (in `seen`) of the nacks within the last window-size records, oldest
   * first from `nacksHead`: memory grows with the nacks in the window (at most the threshold
   * plus one), never with window-size itself, which a pipeline file may set to anything.
   */
  private nacks: number[] = [];
  private nacksHead = 0;
  private readonly tracked: boolean;
  private tail: Promise<void> = Promise.resolve();
  /** Set once the threshold was exceeded or a write failed: every later nack fails with it (Conduit freezes). */
  private broken: ConduitError | undefined;

  constructor(
    private readonly cfg: DLQConfig,
    private readonly destination: Destination | undefined,
  ) {
    this.tracked = cfg.windowSize > 0 && cfg.windowNackThreshold > 0;
  }

  /** True when the window is tracked (only then do acks matter to it). */
  get tracksAcks(): boolean {
    return this.tracked;
  }

  /** Counts delivered records in the window. */
  recordAcks(n: number): void {
    if (!this.tracked) return;
    this.seen += n;
    this.slide();
  }

  /**
   * Handles a failed record. Resolves once the DLQ has durably taken it; throws a
   * fatal ConduitError when the pipeline must stop instead.
   */
  async nack(record: OpenCDCRecord, error: Error, nodeId: string): Promise<void> {
    const { windowSize, windowNackThreshold } = this.cfg;
    if (this.broken !== undefined) throw this.broken;
    if (windowSize > 0 && windowNackThreshold === 0) {
      throw fatal(
        Code.RecordNacked,
        `record at position ${positionText(record)} failed in ${nodeId}: ${error.message}`,
        {
          cause: error,
          suggestion:
            'fix the cause, or configure a dead-letter-queue with window-nack-threshold > 0 (or window-size 0) to route failed records there',
        },
      );
    }
    if (this.tracked) {
      this.nacks.push(++this.seen);
      this.slide();
      if (this.nacks.length - this.nacksHead > windowNackThreshold) {
        throw (this.broken = fatal(
          Code.DlqThresholdExceeded,
          `DLQ nack threshold exceeded (${windowNackThreshold}/${windowSize}); last failure in ${nodeId}: ${error.message}`,
          {
            cause: error,
            suggestion: 'inspect the records in the dead-letter queue, fix the cause and restart the pipeline',
          },
        ));
      }
    }
    const dlqRecord = toDlqRecord(record, error, nodeId);
    const write = this.tail.then(() => this.write(dlqRecord));
    this.tail = write.catch(() => undefined);
    return write;
  }

  private async write(r: OpenCDCRecord): Promise<void> {
    if (this.destination === undefined) return;
    // Only a failed write stops the writes queued behind it; nacks accepted before the threshold was exceeded are written.
    if (this.broken?.code === Code.DlqWriteFailed) throw this.broken;
    let outcome;
    try {
      outcome = await this.destination.write([r]);
    } catch (e) {
      throw (this.broken = fatal(
        Code.DlqWriteFailed,
        `the dead-letter queue could not take a failed record: ${(e as Error).message}`,
        {
          cause: e,
        },
      ));
    }
    const err = outcome?.[0];
    if (err !== undefined) {
      throw (this.broken = fatal(
        Code.DlqWriteFailed,
        `the dead-letter queue rejected a failed record: ${err.message}`,
        {
          cause: err,
        },
      ));
    }
  }

  /** Forgets the nacks that are no longer among the last window-size records. */
  private slide(): void {
    const oldest = this.seen - this.cfg.windowSize; // sequence numbers up to this one left the window
    const q = this.nacks;
    while (this.nacksHead < q.length && (q[this.nacksHead] as number) <= oldest) this.nacksHead++;
    if (this.nacksHead > 1024 && this.nacksHead * 2 > q.length) {
      this.nacks = q.slice(this.nacksHead);
      this.nacksHead = 0;
    }
  }
}

function positionText(r: OpenCDCRecord): string {
  return Buffer.from(r.position).toString('utf8');
}

/** The record written to the DLQ: the failed record as structured data, plus why and where it failed. */
export function toDlqRecord(record: OpenCDCRecord, error: Error, nodeId: string): OpenCDCRecord {
  const source = record.metadata[MetadataKey.SourceConnectorId] ?? '';
  const failed: StructuredData = {
    position: record.position,
    operation: record.operation,
    metadata: { ...record.metadata },
    key: record.key,
    payload: { before: record.payload.before, after: record.payload.after },
  };
  const metadata: Record<string, string> = {
    [MetadataKey.CreatedAt]: nowNanos(),
    [MetadataKey.DlqNackError]: error instanceof ConduitError ? `${error.code}: ${error.message}` : error.message,
    [MetadataKey.DlqNackNodeId]: nodeId,
  };
  if (source !== '') metadata[MetadataKey.SourceConnectorId] = source;
  return {
    position: Buffer.from(`${source}/${positionText(record)}`),
    operation: 'create',
    metadata,
    key: null,
    payload: { before: null, after: failed },
  };
}
