/**
 * What the built-in field processors share: reading a field reference from a
 * parameter once at configure time (with the parameter named in the error),
 * the per-record error that names processor, field and cause, and the Go-like
 * value names Conduit's messages use.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { parseFieldRef, type FieldRef, type FieldRefTarget } from '../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { RecordError, type ProcessedRecord, type ProcessorContext } from '../sdk/processor.js';

/** A configuration problem of one parameter, found while configuring: the pipeline does not start. */
export function configError(
  ctx: ProcessorContext,
  key: string,
  message: string,
  suggestion?: string,
  cause?: unknown,
): ConduitError {
  return new ConduitError(Code.ParamValidation, `processor ${ctx.processorId}: ${key}: ${message}`, {
    configPath: key,
    ...(suggestion === undefined ? {} : { suggestion }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Conduit's rule for `field` parameters that must name structured data: under `.Payload` or `.Key`. */
export const PAYLOAD_OR_KEY = '^\\.(Payload|Key).*';

/** The references that name data (`.Key`, `.Payload.Before`, `.Payload.After`). */
export const DATA_TARGETS: readonly FieldRefTarget[] = ['key', 'payloadBefore', 'payloadAfter'];

export interface FieldParamRule {
  /** The targets the processor accepts; anything else is a configuration error. */
  readonly targets: readonly FieldRefTarget[];
  /** Why the others are refused, e.g. `only a field inside .Key, .Payload.Before or .Payload.After can be split`. */
  readonly why: string;
}

/**
 * Parses the field reference in a parameter, once.
 *
 * @throws ConduitError `param.validation_failed` naming the parameter, for a
 *   reference that does not parse or whose target the rule refuses.
 */
export function fieldParam(ctx: ProcessorContext, key: string, text: string, rule?: FieldParamRule): FieldRef {
  let ref: FieldRef;
  try {
    ref = parseFieldRef(text);
  } catch (e) {
    throw configError(
      ctx,
      key,
      (e as Error).message,
      e instanceof ConduitError ? e.suggestion : 'use a reference such as .Payload.After.name or .Metadata["key"]',
      e,
    );
  }
  if (rule !== undefined && !rule.targets.includes(ref.target)) {
    throw configError(ctx, key, `${JSON.stringify(text)}: ${rule.why}`, `use a reference such as ${example(rule)}`);
  }
  return ref;
}

function example(rule: FieldParamRule): string {
  if (rule.targets.includes('dataField')) return '.Payload.After.name or .Key.id';
  if (rule.targets.includes('metadataField')) return '.Metadata["key"]';
  return '.Payload.After or .Key';
}

/**
 * The result for a record a processor failed on: nacked with
 * `processor <id> (<plugin>) failed: field <ref>: <cause>`, the form the engine
 * uses, so the message is the same in logs and in the dead-letter queue.
 */
export function fieldFailure(ctx: ProcessorContext, plugin: string, field: string, cause: unknown): RecordError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RecordError(
    new ConduitError(Code.ProcessorFailed, `processor ${ctx.processorId} (${plugin}) failed: field ${field}: ${why}`, {
      cause,
    }),
  );
}

/** A value's kind in words, for messages: `structured data`, `a number`, `raw data`, … */
export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Uint8Array) return 'raw data';
  if (v instanceof Date) return 'a time';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
    case 'bigint':
      return 'a number';
    case 'boolean':
      return 'a bool';
    case 'object':
      return 'structured data';
    default:
      return `a ${typeof v}`;
  }
}

/** The bytes of raw data as a Buffer, without copying. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** True for `.Key`, `.Payload.Before` and `.Payload.After`: setting a string there makes raw data. */
export function isDataRef(ref: FieldRef): boolean {
  return DATA_TARGETS.includes(ref.target);
}

/** A retry schedule as Conduit's HTTP processors take it (`backoffRetry.*` and the like). */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/**
 * The wait before retry number `attempt + 1`: min × factor^attempt, capped at
 * max (jpillora/backoff, as Conduit uses it: a min ≤ 0 is 100 ms, a max ≤ 0 is
 * 10 s, a min ≥ max always waits max).
 */
export function backoffDelay(attempt: number, b: Backoff): number {
  const min = b.minMs > 0 ? b.minMs : 100;
  const max = b.maxMs > 0 ? b.maxMs : 10_000;
  if (min >= max) return max;
  const factor = b.factor > 0 ? b.factor : 2;
  const d = min * Math.pow(factor, attempt);
  if (!Number.isFinite(d) || d > max) return max;
  return d < min ? min : d;
}

/**
 * One result per record, in order: what `fn` returns for it, or the RecordError `fail` makes of what `fn`
 * throws. The others go on.
 */
export function eachRecord(
  records: readonly OpenCDCRecord[],
  fn: (r: OpenCDCRecord) => OpenCDCRecord,
  fail: (e: unknown) => RecordError,
): ProcessedRecord[] {
  const out: ProcessedRecord[] = [];
  for (const r of records) {
    try {
      out.push(fn(r));
    } catch (e) {
      out.push(fail(e));
    }
  }
  return out;
}
