/**
 * Helpers for the processors' tests: configure a plugin the way the engine
 * does, build records, pick results apart, and check a README's parameter
 * table against the spec.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../log/logger.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { parseConfig, specsToMarkdown } from '../sdk/params.js';
import {
  FILTERED,
  MultiRecord,
  RecordError,
  type ProcessedRecord,
  type Processor,
  type ProcessorPlugin,
} from '../sdk/processor.js';

export const PROCESSOR_ID = 'p:proc';

/** Validates the settings against the plugin's spec, then configures a new processor. */
export async function configured(plugin: ProcessorPlugin, settings: Record<string, string>): Promise<Processor> {
  const p = plugin.create();
  await p.configure(parseConfig(plugin.params, settings), {
    processorId: PROCESSOR_ID,
    pipelineId: 'p',
    logger: silentLogger,
  });
  return p;
}

/** Processes one record; asserts there is exactly one result. */
export async function processOne(
  plugin: ProcessorPlugin,
  settings: Record<string, string>,
  record: OpenCDCRecord,
): Promise<ProcessedRecord> {
  const out = await (await configured(plugin, settings)).process([record]);
  assert.equal(out.length, 1, 'one result per record');
  return out[0] as ProcessedRecord;
}

/** A record with Conduit's zero values, overridden by `over`. */
export function rec(over: Partial<OpenCDCRecord> = {}): OpenCDCRecord {
  return {
    position: Buffer.from('test-position'),
    operation: 'create',
    metadata: {},
    key: null,
    payload: { before: null, after: null },
    ...over,
  };
}

export function asRecord(r: ProcessedRecord | undefined): OpenCDCRecord {
  assert.ok(
    r !== undefined && r !== FILTERED && !(r instanceof RecordError) && !(r instanceof MultiRecord),
    `a single record, got ${describe(r)}`,
  );
  return r;
}

function describe(r: ProcessedRecord | undefined): string {
  if (r instanceof RecordError) return `an error: ${r.error.message}`;
  if (r instanceof MultiRecord) return `${r.records.length} records`;
  return r === FILTERED ? 'FILTERED' : 'nothing';
}

export function asError(r: ProcessedRecord | undefined): Error {
  assert.ok(r instanceof RecordError, `a record error, got ${JSON.stringify(r, replacer)}`);
  return r.error;
}

export function asMulti(r: ProcessedRecord | undefined): OpenCDCRecord[] {
  assert.ok(r instanceof MultiRecord, 'a multi-record');
  return r.records;
}

function replacer(_: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/** Asserts that the README in `dir` holds the parameter table generated from the spec. */
export async function assertReadmeTable(dir: string, plugin: ProcessorPlugin): Promise<void> {
  const readme = await readFile(join(dir, 'README.md'), 'utf8');
  assert.ok(readme.includes(specsToMarkdown(plugin.params)), 'README.md parameter table is stale');
}
