/**
 * `conduit processors test <pipeline-file> --processor ID --input records.jsonl`:
 * runs processors of a pipeline file on sample records (OpenCDC JSON, one per
 * line) and prints what comes out, without connectors or a state store.
 *
 * The processors are configured, opened and run the way a pipeline run does:
 * the same parameter specs, conditions and `runChain` (engine/processor-chain.ts).
 */
import { readFile } from 'node:fs/promises';
import { Code, ExitCode } from '../../errors/codes.js';
import { ConduitError, ValidationErrors, toConduitError, type ErrorJSON } from '../../errors/conduit-error.js';
import {
  createProcessorNode,
  openNode,
  runChain,
  teardownNode,
  type ProcessorNode,
} from '../../engine/processor-chain.js';
import { createLogger } from '../../log/logger.js';
import { redactText } from '../../log/redact.js';
import { decodeRecord, encodeRecord } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { builtinRegistry } from '../../plugins/builtin.js';
import type { PluginRegistry } from '../../plugins/registry.js';
import { loadPipelines } from '../../provisioning/load.js';
import type { PipelineConfig, ProcessorConfig } from '../../provisioning/types.js';
import { parseConfig } from '../../sdk/params.js';
import { processorSpecs } from '../../sdk/sdk-params.js';
import type { Output } from '../output.js';
import { BuiltinRegistry, type SchemaRegistry } from '../../schema/index.js';
import { MemoryStore } from '../../store/memory.js';

const COMMAND = 'processors test';

export const PROCESSORS_TEST_FLAGS = ['processor', 'input', 'pipeline'] as const;

export interface ProcessorsTestResult {
  readonly pipeline: string;
  readonly processors: string[];
  readonly in: number;
  readonly out: number;
  readonly failed: number;
  /** The records that came out, as OpenCDC JSON objects. */
  readonly records: unknown[];
  readonly failures: Array<{ line: number; processor: string; error: ErrorJSON }>;
}

/**
 * @param file the pipeline file
 * @param flags `processor` (IDs, comma-separated, in chain order; default: the
 *   pipeline's own processors), `input` (a JSONL file, `-` for stdin),
 *   `pipeline` (when the file holds several)
 */
export async function processorsTestCommand(
  file: string | undefined,
  flags: Record<string, string>,
  out: Output,
  registry: PluginRegistry = builtinRegistry(),
): Promise<number> {
  if (file === undefined) {
    throw usage('processors test needs a pipeline file');
  }
  const input = flags['input'];
  if (input === undefined || input === '') throw usage('processors test needs --input, a file of records');

  const loaded = await loadPipelines(file, { registry, env: process.env, defaultPath: '' });
  if (loaded.errors.length > 0) return out.failure(COMMAND, new ValidationErrors(loaded.errors));
  const pipeline = pickPipeline(loaded.pipelines, flags['pipeline'], file);
  const configs = pickProcessors(pipeline, flags['processor']);
  const records = await readRecords(input);

  const logger = createLogger({ level: 'info', write: (l) => process.stderr.write(l) });
  const nodes: ProcessorNode[] = [];
  const schemaRegistry = new BuiltinRegistry(new MemoryStore());
  try {
    for (const p of configs) nodes.push(await buildNode(p, schemaRegistry, pipeline.id, registry, logger));
    for (const n of nodes) await openNode(n);

    // The line each record came from, kept by identity through the chain (processors may change records in place).
    const lineOf = new Map<OpenCDCRecord, number>(records.map((r) => [r.record, r.line]));
    const failures: ProcessorsTestResult['failures'] = [];
    const output = await runChain(
      nodes,
      records.map((r) => r.record),
      (record, error, nodeId) => {
        failures.push({ line: lineOf.get(record) ?? 0, processor: nodeId, error: toConduitError(error).toJSON() });
      },
    );
    const encoded = output.map((r) => encodeRecord(r));
    const result: ProcessorsTestResult = {
      pipeline: pipeline.id,
      processors: nodes.map((n) => n.id),
      in: records.length,
      out: output.length,
      failed: failures.length,
      records: encoded.map((s) => JSON.parse(s) as unknown),
      failures,
    };
    const summary = `${records.length} record${records.length === 1 ? '' : 's'} in, ${output.length} out, ${failures.length} failed`;
    if (!out.json) {
      for (const line of encoded) out.opts.stdout(`${redactText(line)}\n`);
    }
    if (failures.length > 0) {
      if (!out.json) {
        for (const f of failures) out.opts.stderr(`${redactText(`${input}:${f.line}: ${f.error.message}`)}\n`);
      }
      return out.failure(
        COMMAND,
        new ConduitError(Code.ProcessorFailed, `${summary}: ${failures[0]?.error.message ?? ''}`),
        result,
      );
    }
    if (out.json) return out.success(COMMAND, summary, result);
    if (!out.opts.quiet) out.opts.stderr(`${summary}\n`);
    return ExitCode.Ok;
  } finally {
    for (const n of nodes) await teardownNode(n).catch(() => undefined);
  }
}

function usage(message: string): ConduitError {
  return new ConduitError(Code.EngineConfigInvalid, message, {
    suggestion: 'conduit processors test pipelines/app.yaml --processor my-proc --input records.jsonl',
  });
}

function pickPipeline(pipelines: readonly PipelineConfig[], id: string | undefined, file: string): PipelineConfig {
  const ids = pipelines.map((p) => p.id).join(', ');
  if (id !== undefined) {
    const p = pipelines.find((x) => x.id === id);
    if (p === undefined) {
      throw new ConduitError(Code.PipelineNotFound, `no pipeline "${id}" in ${file}`, {
        suggestion: ids === '' ? 'the file defines no pipeline' : `use one of: ${ids}`,
      });
    }
    return p;
  }
  if (pipelines.length === 1 && pipelines[0] !== undefined) return pipelines[0];
  throw new ConduitError(
    Code.PipelineNotFound,
    pipelines.length === 0 ? `${file} defines no pipeline` : `${file} defines several pipelines`,
    { suggestion: ids === '' ? 'give a file with a pipeline' : `choose one with --pipeline (${ids})` },
  );
}

/** Every processor of the pipeline in data-path order: source connectors', the pipeline's, destinations'. */
function allProcessors(p: PipelineConfig): ProcessorConfig[] {
  const sources = p.connectors.filter((c) => c.type === 'source').flatMap((c) => c.processors);
  const destinations = p.connectors.filter((c) => c.type === 'destination').flatMap((c) => c.processors);
  return [...sources, ...p.processors, ...destinations];
}

function pickProcessors(p: PipelineConfig, wanted: string | undefined): ProcessorConfig[] {
  const all = allProcessors(p);
  const known = all.map((x) => x.id).join(', ');
  if (wanted === undefined || wanted.trim() === '') {
    if (p.processors.length > 0) return [...p.processors];
    throw new ConduitError(Code.EngineConfigInvalid, `pipeline ${p.id} has no pipeline processors`, {
      suggestion: known === '' ? 'the pipeline has no processors to test' : `name them with --processor (${known})`,
    });
  }
  return wanted
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '')
    .map((w) => {
      // A full ID (`pipeline:connector:proc`) or the ID as written in the file, when that is unambiguous.
      const matches = all.filter((x) => x.id === w || x.id.endsWith(`:${w}`));
      const exact = matches.find((x) => x.id === w);
      if (exact !== undefined) return exact;
      if (matches.length === 1 && matches[0] !== undefined) return matches[0];
      throw new ConduitError(
        Code.EngineConfigInvalid,
        matches.length === 0
          ? `pipeline ${p.id} has no processor "${w}"`
          : `processor "${w}" is ambiguous in pipeline ${p.id}: ${matches.map((x) => x.id).join(', ')}`,
        { suggestion: known === '' ? 'the pipeline has no processors' : `use one of: ${known}` },
      );
    });
}

async function buildNode(
  p: ProcessorConfig,
  schemaRegistry: SchemaRegistry,
  pipelineId: string,
  registry: PluginRegistry,
  logger: ReturnType<typeof createLogger>,
): Promise<ProcessorNode> {
  const plugin = registry.processor(p.pluginRef || p.plugin);
  if (plugin === undefined) {
    throw new ConduitError(Code.ProcessorPluginNotFound, `processor ${p.id}: no processor plugin "${p.plugin}"`);
  }
  const config = parseConfig(processorSpecs(plugin.params), p.settings, { plugin: p.plugin });
  // The engine's own node builder: `workers` instances, each configured like in a pipeline run.
  const { node, configured } = createProcessorNode(
    { id: p.id, plugin: p.plugin, condition: p.condition, workers: p.workers },
    plugin,
    config,
    // A throw-away built-in registry: avro.encode registers its schemas there, and avro.decode finds them.
    { processorId: p.id, pipelineId, logger: logger.with({ processor: p.id }), schemaRegistry },
  );
  await configured;
  return node;
}

async function readRecords(input: string): Promise<Array<{ record: OpenCDCRecord; line: number }>> {
  let text: string;
  try {
    text = input === '-' ? await readStdin() : await readFile(input, 'utf8');
  } catch (e) {
    throw new ConduitError(Code.ConfigPathNotFound, `cannot read ${input}: ${(e as Error).message}`, {
      file: input,
      suggestion: 'give a file with one OpenCDC JSON record per line, or - for stdin',
      cause: e,
    });
  }
  const out: Array<{ record: OpenCDCRecord; line: number }> = [];
  const problems: ConduitError[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    try {
      out.push({ record: decodeRecord(line), line: i + 1 });
    } catch (e) {
      problems.push(
        new ConduitError(Code.ConfigFieldInvalid, `record on line ${i + 1}: ${(e as Error).message}`, {
          file: input,
          line: i + 1,
          suggestion:
            'write one OpenCDC JSON record per line, e.g. {"operation":"create","metadata":{},"key":null,"payload":{"before":null,"after":{"id":1}}}',
        }),
      );
    }
  });
  if (problems.length > 0) throw problems.length === 1 && problems[0] ? problems[0] : new ValidationErrors(problems);
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
