/**
 * From the engine's types to the API's JSON (Conduit's `toproto`): lowerCamel
 * fields, enums by name, 64-bit integers as strings, every field present
 * (grpc-gateway emits unpopulated fields). Secret setting values are replaced
 * by `***` here, at the one place every answer passes.
 */
import type { ConnectorInfo, PipelineInfo, ProcessorInfo } from '../engine/engine.js';
import type { FailedRecord } from '../engine/failed-records.js';
import { PipelineStatus, type PipelineState } from '../engine/types.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { DLQConfig } from '../provisioning/types.js';
import type { ConnectorPlugin, SourceProgress } from '../sdk/connector.js';
import { redactSettings, type ParamSpec, type ParamSpecs, type Settings } from '../sdk/params.js';
import type { ProcessorPlugin } from '../sdk/processor.js';
import { destinationSpecs, processorSpecs, sourceSpecs } from '../sdk/sdk-params.js';

export type Json = Record<string, unknown>;

/** What a source of a running pipeline reports (`Engine.sourceProgress`). */
export interface SourceProgressInfo {
  readonly id: string;
  readonly plugin: string;
  readonly progress: SourceProgress;
}

/**
 * Conduit's v1Pipeline and, as an extension field, `sourceProgress` (an empty list unless the
 * pipeline runs and a source reports its progress).
 */
export function pipelineJson(p: PipelineInfo, progress: readonly SourceProgressInfo[] = []): Json {
  return {
    id: p.id,
    state: stateJson(p.state),
    config: { name: p.config.name, description: p.config.description },
    connectorIds: p.config.connectors.map((c) => c.id),
    processorIds: p.config.processors.map((x) => x.id),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    sourceProgress: progress.map(sourceProgressJson),
  };
}

/** v1SourceProgress: 64-bit counts as strings (proto3 JSON); the optional parts only when reported. */
function sourceProgressJson(s: SourceProgressInfo): Json {
  const pg = s.progress;
  return {
    connectorId: s.id,
    plugin: s.plugin,
    ...(pg.lagBytes !== undefined && { lagBytes: String(pg.lagBytes) }),
    ...(pg.lagRecords !== undefined && { lagRecords: String(pg.lagRecords) }),
    ...(pg.snapshot !== undefined && {
      snapshot: pg.snapshot.map((c) => ({
        collection: c.collection,
        rows: String(c.rows),
        estimatedRows: String(c.estimatedRows),
        done: c.done,
      })),
    }),
  };
}

function stateJson(s: PipelineState): Json {
  const status =
    s.status === PipelineStatus.Running
      ? 'STATUS_RUNNING'
      : s.status === PipelineStatus.Degraded
        ? 'STATUS_DEGRADED'
        : s.status === PipelineStatus.Recovering
          ? 'STATUS_RECOVERING'
          : 'STATUS_STOPPED';
  const stoppedReason =
    s.status === PipelineStatus.UserStopped
      ? 'STOPPED_REASON_USER'
      : s.status === PipelineStatus.SystemStopped
        ? 'STOPPED_REASON_SYSTEM'
        : 'STOPPED_REASON_UNSPECIFIED';
  return { status, error: s.error === undefined ? '' : `${s.error.code}: ${s.error.message}`, stoppedReason };
}

export function connectorJson(c: ConnectorInfo, registry: PluginRegistry, position: string | undefined): Json {
  const cfg = c.config;
  return {
    id: cfg.id,
    ...(cfg.type === 'source'
      ? { sourceState: { position: position ?? '' } }
      : // Destinations keep no positions of their own here; Conduit's field is kept, empty.
        { destinationState: { positions: {} } }),
    config: {
      name: cfg.name,
      settings: redactSettings(connectorSpecsOf(registry, cfg.type, cfg.pluginRef || cfg.plugin), cfg.settings),
    },
    type: cfg.type === 'source' ? 'TYPE_SOURCE' : 'TYPE_DESTINATION',
    plugin: cfg.pluginRef,
    pipelineId: c.pipelineId,
    processorIds: cfg.processors.map((x) => x.id),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

export function processorJson(p: ProcessorInfo, registry: PluginRegistry): Json {
  const plugin = registry.processor(p.config.pluginRef || p.config.plugin);
  return {
    id: p.config.id,
    config: {
      settings: redactSettings(plugin === undefined ? undefined : processorSpecs(plugin.params), p.config.settings),
      workers: p.config.workers,
    },
    condition: p.config.condition,
    plugin: p.config.pluginRef,
    parent: { type: p.parent.type === 'pipeline' ? 'TYPE_PIPELINE' : 'TYPE_CONNECTOR', id: p.parent.id },
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export function dlqJson(d: DLQConfig, registry: PluginRegistry): Json {
  return {
    plugin: d.pluginRef,
    settings: redactSettings(connectorSpecsOf(registry, 'destination', d.pluginRef || d.plugin), d.settings),
    windowSize: String(d.windowSize),
    windowNackThreshold: String(d.windowNackThreshold),
  };
}

/** The full specs (with `sdk.*`) of a connector side, or undefined for an unknown plugin (then keys decide). */
export function connectorSpecsOf(
  registry: PluginRegistry,
  type: 'source' | 'destination',
  ref: string,
): ParamSpecs | undefined {
  const plugin = registry.connector(ref);
  if (type === 'source') return plugin?.source === undefined ? undefined : sourceSpecs(plugin.source.params);
  return plugin?.destination === undefined ? undefined : destinationSpecs(plugin.destination.params);
}

/** The settings to store for an update: a value sent back as `***` keeps the stored one. */
export function keepRedacted(
  incoming: Settings,
  stored: Settings,
  onMissing: (key: string) => never,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(incoming)) {
    if (v !== REDACTED_VALUE) {
      out[k] = v;
      continue;
    }
    const old = stored[k];
    if (old === undefined) onMissing(k);
    out[k] = old;
  }
  return out;
}

const REDACTED_VALUE = '***';

export function connectorPluginJson(p: ConnectorPlugin): Json {
  return {
    name: `builtin:${p.name}@${p.version}`,
    summary: p.summary,
    description: p.description,
    version: p.version,
    author: p.author,
    destinationParams: p.destination === undefined ? {} : paramsJson(destinationSpecs(p.destination.params)),
    sourceParams: p.source === undefined ? {} : paramsJson(sourceSpecs(p.source.params)),
  };
}

export function processorPluginJson(p: ProcessorPlugin): Json {
  return {
    name: `builtin:${p.name}@${p.version}`,
    summary: p.summary,
    description: p.description,
    version: p.version,
    author: p.author,
    parameters: paramsJson(processorSpecs(p.params)),
  };
}

function paramsJson(specs: ParamSpecs): Json {
  const out: Json = {};
  for (const key of Object.keys(specs).sort()) {
    const s = specs[key] as ParamSpec;
    out[key] = {
      default: s.default ?? '',
      description: s.description,
      type: `TYPE_${s.type.toUpperCase()}`,
      validations: validations(s),
    };
  }
  return out;
}

function validations(s: ParamSpec): Json[] {
  const v: Json[] = [];
  if (s.required === true) v.push({ type: 'TYPE_REQUIRED', value: '' });
  if (s.greaterThan !== undefined) v.push({ type: 'TYPE_GREATER_THAN', value: String(s.greaterThan) });
  if (s.lessThan !== undefined) v.push({ type: 'TYPE_LESS_THAN', value: String(s.lessThan) });
  if (s.inclusion !== undefined) v.push({ type: 'TYPE_INCLUSION', value: s.inclusion.join(',') });
  if (s.exclusion !== undefined) v.push({ type: 'TYPE_EXCLUSION', value: s.exclusion.join(',') });
  if (s.regex !== undefined) v.push({ type: 'TYPE_REGEX', value: s.regex });
  return v;
}

/** A failed record kept by the engine (v1DeadLetterRecord, an extension of Conduit's API). */
export function failedRecordJson(f: FailedRecord): Json {
  return {
    sequence: String(f.sequence),
    record: f.record,
    recordTruncated: f.recordTruncated,
    error: { code: f.error.code, message: f.error.message },
    nodeId: f.nodeId,
    outcome: f.outcome === 'dlq' ? 'OUTCOME_DLQ' : 'OUTCOME_STOPPED',
    failedAt: f.failedAt,
  };
}
