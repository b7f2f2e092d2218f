/**
 * Runs a chain of processors over a batch. Each node may have a condition (a
 * Go template whose output parses as a bool): records for which it is false
 * pass the node untouched. Results: a record goes on, FILTERED drops it (it
 * counts as delivered), a RecordError nacks it, a MultiRecord splits it.
 *
 * `workers` > 1: the node holds that many instances of its processor, each
 * configured and opened like the first; a batch is split into up to `workers`
 * contiguous sub-batches processed concurrently, one per instance, and the
 * results are joined in input order (docs/design/0002-processor-workers.md).
 */
import { Code } from '../errors/codes.js';
import { ConduitError, fatal } from '../errors/conduit-error.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { parseBool, type Config } from '../sdk/params.js';
import {
  FILTERED,
  MultiRecord,
  RecordError,
  type ProcessedRecord,
  type Processor,
  type ProcessorContext,
  type ProcessorPlugin,
} from '../sdk/processor.js';
import { compileTemplate } from '../template/index.js';
import type { Tap } from '../inspector/index.js';

export interface ProcessorNode {
  readonly id: string;
  readonly plugin: string;
  /** The first instance. */
  readonly processor: Processor;
  readonly condition: ((r: OpenCDCRecord) => boolean) | undefined;
  /** How many sub-batches of one batch run concurrently; at least 1. */
  readonly workers: number;
  /**
   * The other `workers - 1` instances, configured and opened like `processor`.
   * When absent, the sub-batches all go to `processor`.
   */
  readonly replicas?: readonly Processor[];
  /** The stream inspector's taps on the records going in and coming out (a run sets them). */
  readonly taps?: { readonly in: Tap; readonly out: Tap };
}

/** Every instance of a node: `processor` first, then its replicas. */
export function instancesOf(node: ProcessorNode): readonly Processor[] {
  return node.replicas === undefined || node.replicas.length === 0
    ? [node.processor]
    : [node.processor, ...node.replicas];
}

/** What {@link createProcessorNode} needs to know about one processor of a pipeline. */
export interface ProcessorNodeConfig {
  /** Full ID, `<parentID>:<id>`. */
  readonly id: string;
  readonly plugin: string;
  readonly condition: string;
  readonly workers: number;
}

/**
 * Creates a node's `workers` instances and configures each one with the same
 * settings. A synchronous configure that throws throws here; the returned
 * `configured` settles when every asynchronous configure has (undefined when
 * none was asynchronous). Open the instances with {@link openNode}, tear them
 * down with {@link teardownNode}.
 *
 * @throws ConduitError `config.field_invalid` at `/processors/<id>/workers`
 *   when `workers` is not a whole number of at least 1.
 */
export function createProcessorNode(
  p: ProcessorNodeConfig,
  plugin: ProcessorPlugin,
  config: Config,
  ctx: ProcessorContext,
): { node: ProcessorNode; configured: Promise<void> | undefined } {
  const workers = checkWorkers(p.workers, p.id);
  const condition = compileCondition(p.condition, p.id);
  const instances: Processor[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < workers; i++) {
    const processor = plugin.create();
    instances.push(processor);
    const configured = processor.configure(config, ctx);
    if (configured instanceof Promise) pending.push(configured);
  }
  const [first, ...replicas] = instances as [Processor, ...Processor[]];
  const node: ProcessorNode = { id: p.id, plugin: p.plugin, processor: first, condition, workers, replicas };
  if (pending.length === 0) return { node, configured: undefined };
  const configured = Promise.all(pending).then(() => undefined);
  configured.catch(() => undefined); // the caller observes it; never an unhandled rejection meanwhile
  return { node, configured };
}

/** Validates a `workers` setting: a whole number, at least 1. */
export function checkWorkers(workers: number, processorId: string): number {
  if (Number.isSafeInteger(workers) && workers >= 1) return workers;
  throw fatal(
    Code.ConfigFieldInvalid,
    `"workers" of processor ${processorId} is ${String(workers)}; it must be a whole number of at least 1`,
    {
      configPath: `/processors/${processorId}/workers`,
      suggestion: 'set workers to 1 (the default) or more',
    },
  );
}

/** Opens every instance of a node, one after the other. */
export async function openNode(node: ProcessorNode): Promise<void> {
  for (const p of instancesOf(node)) await p.open?.();
}

/**
 * Tears down every instance of a node, even when one fails; the first failure
 * is thrown once all were tried.
 */
export async function teardownNode(node: ProcessorNode): Promise<void> {
  let first: unknown;
  let failed = false;
  for (const p of instancesOf(node)) {
    try {
      await p.teardown?.();
    } catch (e) {
      if (!failed) first = e;
      failed = true;
    }
  }
  if (failed) throw first;
}

/** Called for each record a node fails; the chain goes on with the others. */
export type NackFn = (record: OpenCDCRecord, error: Error, nodeId: string) => void;

/** Compiles a condition once; evaluating it on a record returns the parsed bool or throws. */
export function compileCondition(source: string, processorId: string): ((r: OpenCDCRecord) => boolean) | undefined {
  if (source.trim() === '') return undefined;
  const tpl = compileTemplate(source, { name: `${processorId}.condition`, condition: true });
  return (r) => {
    const out = tpl.execute(r).trim();
    const b = parseBool(out);
    if (b === undefined) {
      throw new ConduitError(
        Code.ProcessorFailed,
        `condition of processor ${processorId} produced ${JSON.stringify(out)}, which is not a boolean`,
        { suggestion: 'make the condition print true or false, e.g. {{ eq .Metadata.kind "a" }}' },
      );
    }
    return b;
  };
}

export async function runChain(
  nodes: readonly ProcessorNode[],
  input: OpenCDCRecord[],
  nack: NackFn,
): Promise<OpenCDCRecord[]> {
  let records = input;
  for (const node of nodes) {
    if (records.length === 0) break;
    const taps = node.taps;
    if (taps?.in.active === true) taps.in.send(records);
    records = await runNode(node, records, nack);
    if (taps?.out.active === true) taps.out.send(records);
  }
  return records;
}

const PASS = 0;
const SELECTED = 1;
const FAILED = 2;

async function runNode(node: ProcessorNode, records: OpenCDCRecord[], nack: NackFn): Promise<OpenCDCRecord[]> {
  if (node.condition === undefined) return collect(node, records, await processAll(node, records), nack);
  // Only the records the condition selects go through the processor; the rest keep their place.
  const selected: OpenCDCRecord[] = [];
  const fate = new Uint8Array(records.length);
  records.forEach((r, i) => {
    try {
      if (node.condition?.(r) === true) {
        fate[i] = SELECTED;
        selected.push(r);
      }
    } catch (e) {
      fate[i] = FAILED;
      nack(r, processorError(node, asError(e)), node.id);
    }
  });
  const results = selected.length === 0 ? [] : await processAll(node, selected);
  if (results.length !== selected.length) throw wrongCount(node, selected.length, results.length);
  const out: OpenCDCRecord[] = [];
  let j = 0;
  records.forEach((r, i) => {
    if (fate[i] === SELECTED) addResult(node, r, results[j++], out, nack);
    else if (fate[i] === PASS) out.push(r);
  });
  return out;
}

async function processAll(node: ProcessorNode, records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
  const n = Math.min(node.workers, records.length);
  if (n <= 1) return processPart(node, node.processor, records);
  // Several workers: contiguous sub-batches, one per instance, joined back in input order.
  const instances = instancesOf(node);
  const base = Math.floor(records.length / n);
  const extra = records.length % n;
  const parts: Promise<ProcessedRecord[]>[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + base + (i < extra ? 1 : 0);
    parts.push(processPart(node, instances[i % instances.length] as Processor, records.slice(start, end)));
    start = end;
  }
  const results = await Promise.all(parts);
  return results.flat();
}

/** One processor call; a processor that throws fails the records it was given, and only those. */
async function processPart(
  node: ProcessorNode,
  processor: Processor,
  records: OpenCDCRecord[],
): Promise<ProcessedRecord[]> {
  let results: ProcessedRecord[];
  try {
    results = await processor.process(records);
  } catch (e) {
    const err = asError(e);
    return records.map(() => new RecordError(err));
  }
  if (results.length !== records.length) throw wrongCount(node, records.length, results.length);
  return results;
}

function collect(
  node: ProcessorNode,
  records: OpenCDCRecord[],
  results: ProcessedRecord[],
  nack: NackFn,
): OpenCDCRecord[] {
  if (results.length !== records.length) throw wrongCount(node, records.length, results.length);
  const out: OpenCDCRecord[] = [];
  for (let i = 0; i < records.length; i++) addResult(node, records[i] as OpenCDCRecord, results[i], out, nack);
  return out;
}

function addResult(
  node: ProcessorNode,
  input: OpenCDCRecord,
  result: ProcessedRecord | undefined,
  out: OpenCDCRecord[],
  nack: NackFn,
): void {
  if (result === FILTERED) return;
  if (result instanceof RecordError) {
    nack(input, processorError(node, result.error), node.id);
    return;
  }
  if (result instanceof MultiRecord) {
    for (const r of result.records) out.push(r);
    return;
  }
  if (result === undefined) {
    nack(input, processorError(node, new Error('returned no result')), node.id);
    return;
  }
  out.push(result);
}

function processorError(node: ProcessorNode, e: Error): Error {
  if (e instanceof ConduitError) return e;
  return new ConduitError(Code.ProcessorFailed, `processor ${node.id} (${node.plugin}) failed: ${e.message}`, {
    cause: e,
  });
}

function wrongCount(node: ProcessorNode, want: number, got: number): ConduitError {
  return new ConduitError(
    Code.Internal,
    `processor ${node.id} (${node.plugin}) returned ${got} results for ${want} records; it must return one per record`,
  );
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
