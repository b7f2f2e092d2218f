/**
 * The last failed records of each pipeline, kept in memory so that an operator
 * can read them through the API (`GET /v1/pipelines/{id}/dead-letter-queue/records`)
 * and the CLI (`conduit pipelines dlq ID`) — beyond Conduit, whose DLQ can only be
 * read where its destination wrote it.
 *
 * Every record a processor or destination fails is noted here, whether the DLQ
 * took it or it stopped the pipeline (with the default DLQ settings, window 1 and
 * threshold 0, the first failure stops it: that record is exactly the one to see).
 *
 * Bounded by count and by bytes per pipeline (100 records, 1 MiB of their OpenCDC
 * JSON by default), oldest dropped first. A record whose JSON is larger than a
 * quarter of the byte limit is kept without its key and payload (`recordTruncated`).
 * The log belongs to the engine, not to a run: it survives a restart or recovery of
 * the pipeline within the process, and is lost when the process ends (the DLQ's
 * destination is the durable copy). Error messages pass the secret redactor when
 * they are noted, so a connector's secret setting never reaches an answer.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { redactText, redactUrl } from '../log/redact.js';
import { encodeRecord } from '../opencdc/json.js';
import type { OpenCDCRecord } from '../opencdc/record.js';

/** What became of a failed record. */
export type FailureOutcome = 'dlq' | 'stopped';

/** One failed record, as the API shows it (the record in its OpenCDC JSON shape). */
export interface FailedRecord {
  /** Counts every failure of the pipeline since the engine started, from 1. */
  readonly sequence: number;
  /** The record in Conduit's `opencdc/json` shape (bytes as base64). */
  readonly record: unknown;
  /** True when the record was too large to keep whole: key and payload are null. */
  readonly recordTruncated: boolean;
  readonly error: { readonly code: string; readonly message: string };
  /** The processor or destination that failed it. */
  readonly nodeId: string;
  readonly outcome: FailureOutcome;
  /** When it failed (RFC 3339). */
  readonly failedAt: string;
}

export interface FailedRecordLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

export const DEFAULT_FAILED_RECORD_LIMITS: FailedRecordLimits = { maxRecords: 100, maxBytes: 1024 * 1024 };

/** Error messages longer than this are cut (a template may put a whole record in one). */
const MAX_MESSAGE_CHARS = 4096;
/** Bytes counted per entry besides its record and message (the object, the strings' headers). */
const ENTRY_OVERHEAD = 200;

interface Entry {
  readonly sequence: number;
  /** The record's JSON text: compact and exactly counted. */
  readonly json: string;
  readonly truncated: boolean;
  readonly code: string;
  readonly message: string;
  readonly nodeId: string;
  readonly outcome: FailureOutcome;
  readonly failedAt: string;
  readonly bytes: number;
}

/** The failed records of one pipeline, newest last, within the count and byte limits. */
export class FailedRecordLog {
  private readonly entries: Entry[] = [];
  private head = 0;
  private bytesKept = 0;
  private seen = 0;

  constructor(private readonly limits: FailedRecordLimits = DEFAULT_FAILED_RECORD_LIMITS) {}

  /** Failures noted since the engine started (also those no longer kept). */
  get total(): number {
    return this.seen;
  }

  /** Failures kept now. */
  get kept(): number {
    return this.entries.length - this.head;
  }

  /** Bytes the kept failures are counted as (their JSON and messages). */
  get bytes(): number {
    return this.bytesKept;
  }

  /** Notes a failed record. `code` is used when the error carries none (a destination's plain Error). */
  add(record: OpenCDCRecord, error: Error, nodeId: string, outcome: FailureOutcome, code: string): void {
    const { json, truncated } = recordJson(record, Math.floor(this.limits.maxBytes / 4));
    let message = redactUrl(redactText(error.message));
    if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS)}…`;
    const bytes = Buffer.byteLength(json) + Buffer.byteLength(message) + Buffer.byteLength(nodeId) + ENTRY_OVERHEAD;
    this.entries.push({
      sequence: ++this.seen,
      json,
      truncated,
      code: error instanceof ConduitError ? error.code : code,
      message,
      nodeId,
      outcome,
      failedAt: new Date().toISOString(),
      bytes,
    });
    this.bytesKept += bytes;
    while (this.kept > this.limits.maxRecords || (this.bytesKept > this.limits.maxBytes && this.kept > 1)) {
      const old = this.entries[this.head] as Entry;
      this.entries[this.head] = undefined as unknown as Entry;
      this.head++;
      this.bytesKept -= old.bytes;
    }
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The newest `limit` failures (all kept ones by default), newest first. */
  list(limit = Infinity): FailedRecord[] {
    const out: FailedRecord[] = [];
    for (let i = this.entries.length - 1; i >= this.head && out.length < limit; i--) {
      const e = this.entries[i] as Entry;
      out.push({
        sequence: e.sequence,
        record: JSON.parse(e.json) as unknown,
        recordTruncated: e.truncated,
        error: { code: e.code, message: e.message },
        nodeId: e.nodeId,
        outcome: e.outcome,
        failedAt: e.failedAt,
      });
    }
    return out;
  }
}

/** The failed-record logs of every pipeline the engine knows. */
export class FailedRecords {
  private readonly logs = new Map<string, FailedRecordLog>();

  constructor(private readonly limits: FailedRecordLimits = DEFAULT_FAILED_RECORD_LIMITS) {}

  /** The pipeline's log, created on first use. */
  for(pipelineId: string): FailedRecordLog {
    let log = this.logs.get(pipelineId);
    if (log === undefined) this.logs.set(pipelineId, (log = new FailedRecordLog(this.limits)));
    return log;
  }

  /** Drops a deleted pipeline's log. */
  forget(pipelineId: string): void {
    this.logs.delete(pipelineId);
  }
}

/**
 * The record as OpenCDC JSON. A record too large to keep, or one that cannot be
 * encoded (a NaN in its payload may be why it failed), is kept with null key and payload.
 */
function recordJson(record: OpenCDCRecord, maxBytes: number): { json: string; truncated: boolean } {
  try {
    const json = encodeRecord(record);
    if (Buffer.byteLength(json) <= maxBytes) return { json, truncated: false };
  } catch {
    // kept without its data below
  }
  const bare = { ...record, key: null, payload: { before: null, after: null } };
  try {
    const json = encodeRecord(bare);
    if (Buffer.byteLength(json) <= maxBytes) return { json, truncated: true };
  } catch {
    // an operation that is not one of OpenCDC's: kept without metadata below
  }
  return {
    json: JSON.stringify({
      position: Buffer.from(record.position).toString('base64'),
      operation: String(record.operation),
      metadata: {},
      key: null,
      payload: { before: null, after: null },
    }),
    truncated: true,
  };
}
