/**
 * Turns a valid raw pipeline into the configuration the engine runs: defaults
 * filled in (Conduit's `config.Enrich`) and IDs prefixed with their parent's.
 */
import { parsePluginRef } from '../plugins/registry.js';
import type { RawConnector, RawDLQ, RawPipeline, RawProcessor } from './raw.js';
import {
  DEFAULT_DLQ,
  type ConnectorConfig,
  type DLQConfig,
  type PipelineConfig,
  type ProcessorConfig,
} from './types.js';

/**
 * Enriches a pipeline that passed validation. Settings are kept as written
 * (after interpolation); parameter defaults are applied when a connector is
 * configured, as in Conduit.
 */
export function enrichPipeline(p: RawPipeline, file: string): PipelineConfig {
  const id = p.id?.value ?? '';
  const status = p.status?.value === 'stopped' ? 'stopped' : 'running';
  return {
    id,
    status,
    name: nonEmpty(p.name?.value) ?? id,
    description: p.description?.value ?? '',
    connectors: p.connectors.map((c) => enrichConnector(c, id)),
    processors: p.processors.map((proc) => enrichProcessor(proc, id)),
    dlq: enrichDLQ(p.dlq),
    origin: { file, line: p.pos.line },
  };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function enrichConnector(c: RawConnector, pipelineId: string): ConnectorConfig {
  const localId = c.id?.value ?? '';
  const id = `${pipelineId}:${localId}`;
  const pluginRef = c.plugin?.value ?? '';
  return {
    id,
    type: c.type?.value === 'destination' ? 'destination' : 'source',
    plugin: parsePluginRef(pluginRef).name,
    pluginRef,
    name: nonEmpty(c.name?.value) ?? localId,
    settings: { ...c.settings?.value },
    processors: c.processors.map((proc) => enrichProcessor(proc, id)),
  };
}

function enrichProcessor(p: RawProcessor, parentId: string): ProcessorConfig {
  const pluginRef = p.plugin?.value ?? '';
  const workers = Number(p.workers?.value.trim() ?? '0');
  return {
    id: `${parentId}:${p.id?.value ?? ''}`,
    plugin: parsePluginRef(pluginRef).name,
    pluginRef,
    condition: p.condition?.value ?? '',
    settings: { ...p.settings?.value },
    workers: workers === 0 ? 1 : workers,
  };
}

function enrichDLQ(d: RawDLQ | undefined): DLQConfig {
  const pluginRef = nonEmpty(d?.plugin?.value.trim()) ?? DEFAULT_DLQ.pluginRef;
  const plugin = parsePluginRef(pluginRef).name;
  const settings = d?.settings?.value ?? (plugin === DEFAULT_DLQ.plugin ? DEFAULT_DLQ.settings : {});
  return {
    plugin,
    pluginRef,
    settings: { ...settings },
    windowSize: intOr(d?.windowSize?.value, DEFAULT_DLQ.windowSize),
    windowNackThreshold: intOr(d?.windowNackThreshold?.value, DEFAULT_DLQ.windowNackThreshold),
  };
}

function intOr(v: string | undefined, fallback: number): number {
  return v === undefined || v.trim() === '' ? fallback : Number(v.trim());
}
