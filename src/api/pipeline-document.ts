/**
 * Whole pipelines on the wire: Conduit's `v1PipelineDocument` (the shape a
 * pipeline file parses into, with connectors, processors and the DLQ inline)
 * to and from the engine's {@link PipelineConfig}. A document is read exactly
 * as a pipeline file (version 2.2) is read (same validation, defaults and ID
 * prefixing), except that `${VAR}` is not expanded: the API never reads the
 * engine's environment. Secret values go out as `***`; a `***` that comes back
 * keeps the stored value of the same setting.
 */
import type { PipelineInfo } from '../engine/engine.js';
import { ConduitError, ValidationErrors } from '../errors/conduit-error.js';
import { PipelineStatus } from '../engine/types.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { parsePipelineText } from '../provisioning/load.js';
import type { ConnectorConfig, PipelineConfig, ProcessorConfig } from '../provisioning/types.js';
import { redactSettings } from '../sdk/params.js';
import { processorSpecs } from '../sdk/sdk-params.js';
import { connectorSpecsOf, type Json } from './convert.js';
import { ApiCode } from './status.js';

export interface DocumentProcessor {
  id?: string;
  plugin?: string;
  settings?: Record<string, string>;
  workers?: number;
  condition?: string;
}
export interface DocumentConnector {
  id?: string;
  type?: string;
  plugin?: string;
  name?: string;
  settings?: Record<string, string>;
  processors?: DocumentProcessor[];
}
/** A `v1PipelineDocument` after the request check (uint64 fields are numbers then). */
export interface PipelineDocument {
  id?: string;
  status?: string;
  name?: string;
  description?: string;
  connectors?: DocumentConnector[];
  processors?: DocumentProcessor[];
  dlq?: { plugin?: string; settings?: Record<string, string>; windowSize?: number; windowNackThreshold?: number };
}

const REDACTED = '***';

/** The pipeline as a `v1PipelineDocument`: local IDs, plugin references as written, secrets as `***`. */
export function documentJson(p: PipelineInfo, registry: PluginRegistry): Json {
  const c = p.config;
  const running = p.state.status === PipelineStatus.Running || p.state.status === PipelineStatus.Recovering;
  return {
    id: c.id,
    status: running ? 'running' : 'stopped',
    name: c.name,
    description: c.description,
    connectors: c.connectors.map((x) => connectorDocument(x, c.id, registry)),
    processors: c.processors.map((x) => processorDocument(x, c.id, registry)),
    dlq: {
      plugin: c.dlq.pluginRef,
      settings: redactSettings(
        connectorSpecsOf(registry, 'destination', c.dlq.pluginRef || c.dlq.plugin),
        c.dlq.settings,
      ),
      windowSize: String(c.dlq.windowSize),
      windowNackThreshold: String(c.dlq.windowNackThreshold),
    },
  };
}

function connectorDocument(c: ConnectorConfig, pipelineId: string, registry: PluginRegistry): Json {
  return {
    id: localId(c.id, pipelineId),
    type: c.type,
    plugin: c.pluginRef,
    name: c.name,
    settings: redactSettings(connectorSpecsOf(registry, c.type, c.pluginRef || c.plugin), c.settings),
    processors: c.processors.map((x) => processorDocument(x, c.id, registry)),
  };
}

function processorDocument(p: ProcessorConfig, parentId: string, registry: PluginRegistry): Json {
  const plugin = registry.processor(p.pluginRef || p.plugin);
  return {
    id: localId(p.id, parentId),
    plugin: p.pluginRef,
    settings: redactSettings(plugin === undefined ? undefined : processorSpecs(plugin.params), p.settings),
    workers: p.workers,
    condition: p.condition,
  };
}

function localId(id: string, parentId: string): string {
  return id.startsWith(`${parentId}:`) ? id.slice(parentId.length + 1) : id;
}

/**
 * Reads a document into the config the engine runs, validated as a pipeline file is. `***` values
 * take the stored value of the same setting (of `stored`, the pipeline with that ID, if any); a `***`
 * with nothing stored is refused. `at` is where the document sits in the request (`/config`).
 */
export function documentToConfig(
  doc: PipelineDocument,
  stored: PipelineConfig | undefined,
  registry: PluginRegistry,
  at: string,
): PipelineConfig {
  const id = doc.id ?? '';
  const keep = (
    settings: Record<string, string> | undefined,
    old: Readonly<Record<string, string>> | undefined,
    path: string,
  ) => (settings === undefined ? undefined : keepStored(settings, old ?? {}, `${at}${path}`));
  const oldConnector = (cid: string | undefined) => stored?.connectors.find((c) => c.id === `${id}:${cid ?? ''}`);
  const oldProcessor = (list: readonly ProcessorConfig[] | undefined, parent: string, pid: string | undefined) =>
    list?.find((x) => x.id === `${parent}:${pid ?? ''}`);
  const processors = (
    list: DocumentProcessor[] | undefined,
    old: readonly ProcessorConfig[] | undefined,
    parent: string,
    path: string,
  ) =>
    list?.map((p, i) => ({
      ...defined({ id: p.id, plugin: p.plugin, condition: p.condition }),
      ...(p.workers !== undefined && { workers: p.workers }),
      ...defined({ settings: keep(p.settings, oldProcessor(old, parent, p.id)?.settings, `${path}/${i}/settings`) }),
    }));
  const dlq = doc.dlq;
  const file = {
    version: '2.2',
    pipelines: [
      {
        ...defined({ id: doc.id, status: doc.status, name: doc.name, description: doc.description }),
        ...(doc.connectors !== undefined && {
          connectors: doc.connectors.map((c, i) => {
            const old = oldConnector(c.id);
            return {
              ...defined({ id: c.id, type: c.type, plugin: c.plugin, name: c.name }),
              ...defined({ settings: keep(c.settings, old?.settings, `/connectors/${i}/settings`) }),
              ...defined({
                processors: processors(
                  c.processors,
                  old?.processors,
                  `${id}:${c.id ?? ''}`,
                  `/connectors/${i}/processors`,
                ),
              }),
            };
          }),
        }),
        ...defined({ processors: processors(doc.processors, stored?.processors, id, '/processors') }),
        ...(dlq !== undefined && {
          'dead-letter-queue': {
            ...defined({ plugin: dlq.plugin }),
            ...defined({ settings: keep(dlq.settings, stored?.dlq.settings, '/dlq/settings') }),
            ...(dlq.windowSize !== undefined && { 'window-size': dlq.windowSize }),
            ...(dlq.windowNackThreshold !== undefined && { 'window-nack-threshold': dlq.windowNackThreshold }),
          },
        }),
      },
    ],
  };
  // JSON is YAML: the document is read by the pipeline file reader. Every "$" is doubled and the
  // only variable is "$" itself, so "${VAR}" stays as written instead of reading the environment.
  const text = JSON.stringify(file, (_k, v: unknown) => (typeof v === 'string' ? v.replace(/\$/g, '$$$$') : v));
  const result = parsePipelineText(text, 'api', { registry, env: { $: '$' } });
  const errors = result.errors.map((e) => {
    const path = filePathToDocument(e.configPath ?? '', at);
    return new ConduitError(e.code, e.message, {
      configPath: path,
      ...(e.suggestion !== undefined && { suggestion: e.suggestion }),
    });
  });
  if (errors.length === 1 && errors[0] !== undefined) throw errors[0];
  if (errors.length > 1) throw new ValidationErrors(errors);
  const config = result.pipelines[0];
  if (config === undefined) throw new Error('a valid pipeline document gave no pipeline');
  return { ...config, origin: {} };
}

/** `/pipelines/0/dead-letter-queue/window-size` → `<at>/dlq/windowSize`. */
function filePathToDocument(path: string, at: string): string {
  const rest = path.replace(/^\/pipelines\/0/, '');
  return `${at}${rest
    .replace(/^\/dead-letter-queue/, '/dlq')
    .replace(/\/window-size$/, '/windowSize')
    .replace(/\/window-nack-threshold$/, '/windowNackThreshold')}`;
}

/** The settings with each `***` replaced by the stored value of that key; a `***` with none is refused. */
function keepStored(
  settings: Record<string, string>,
  stored: Readonly<Record<string, string>>,
  at: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings)) {
    if (v !== REDACTED) {
      out[k] = v;
      continue;
    }
    const old = stored[k];
    if (old === undefined) {
      throw new ConduitError(ApiCode.RedactedSetting, `setting "${k}" is "***" and there is no stored value to keep`, {
        configPath: `${at}/${k}`,
        suggestion: 'send the real value; "***" only stands for a value already stored for this pipeline',
      });
    }
    out[k] = old;
  }
  return out;
}

/** The entries whose value is not undefined. */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
