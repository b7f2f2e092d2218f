/**
 * Runs a chain of processors over a batch. Each node may have a condition (a
 * Go template whose output parses as a bool): records for which it is false
 * pass the node untouched. Results: a record goes on, FILTERED drops it (it
 * counts as delivered), a RecordError nacks it, a MultiRecord splits it.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { parseBool } from '../sdk/params.js';
import { FILTERED, MultiRecord, RecordError, type ProcessedRecord, type Processor } from '../sdk/processor.js';
import { compileTemplate } from '../template/index.js';

export interface ProcessorNode {
  readonly id: string;
  readonly plugin: string;
  readonly processor: Processor;
  readonly condition: ((r: OpenCDCRecord) => boolean) | undefined;
  readonly workers: number;
}

/** Called for each record a node fails; the chain goes on with the others. */
export type NackFn = (record: OpenCDCRecord, error: Error, nodeId: string) => void;

/** Compiles a condition once; evaluating it on a record returns the parsed bool or throws. */
export function compileCondition(source: string, processorId: string): ((r: OpenCDCRecord) => boolean) | undefined {
  if (source.trim() === '') return undefined;
  const tpl = compileTemplate(source, { name: `${processorId}.condition` });
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
    records = await runNode(node, records, nack);
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
  try {
    if (node.workers <= 1 || records.length < node.workers * 2) return await node.processor.process(records);
    // Several workers: process chunks concurrently, keep the output in input order.
    const size = Math.ceil(records.length / node.workers);
    const chunks: OpenCDCRecord[][] = [];
    for (let i = 0; i < records.length; i += size) chunks.push(records.slice(i, i + size));
    const parts = await Promise.all(chunks.map(async (c) => node.processor.process(c)));
    return parts.flat();
  } catch (e) {
    // A processor that throws fails the whole batch it was given.
    const err = asError(e);
    return records.map(() => new RecordError(err));
  }
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
