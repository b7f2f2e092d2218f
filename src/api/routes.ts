/**
 * The routes of the HTTP API: Conduit's paths, operation IDs and messages
 * (`api.v1`), each calling the engine service. The list is the single source
 * of the router and of the OpenAPI document.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
import { EditCode, type PipelineInfo } from '../engine/engine.js';
import type { ConnectorType, PipelineConfig } from '../provisioning/types.js';
import type { PipelinePlan } from '../engine/plan.js';
import { documentJson, documentToConfig, type PipelineDocument } from './pipeline-document.js';
import {
  connectorJson,
  connectorPluginJson,
  dlqJson,
  failedRecordJson,
  keepRedacted,
  pipelineJson,
  type Json,
  processorJson,
  processorPluginJson,
} from './convert.js';
import type { RouteContext, RouteDef } from './route.js';
import { ref, type Schema } from './schema.js';
import { ApiCode } from './status.js';
import { VERSION } from '../version.js';
import { inspectOverHttp } from './inspect.js';

/** How long a start or stop request waits for the pipeline to run or drain before answering (it goes on). */
export const STOP_WAIT_MS = 30_000;

const list = (name: string): Schema => ({ type: 'array', items: ref(name) });

interface PipelineConfigBody {
  config?: { name?: string; description?: string };
}
interface ConnectorConfigBody {
  name?: string;
  settings?: Record<string, string>;
}
interface CreateConnectorBody {
  type: string;
  plugin: string;
  pipelineId: string;
  config?: ConnectorConfigBody;
}
interface ProcessorConfigBody {
  settings?: Record<string, string>;
  workers?: number;
}
interface CreateProcessorBody {
  type?: string;
  parent: { type?: string; id?: string };
  config?: ProcessorConfigBody;
  condition?: string;
  plugin?: string;
}
interface DlqBody {
  plugin?: string;
  settings?: Record<string, string>;
  windowSize?: number;
  windowNackThreshold?: number;
}

const body = <T>(ctx: RouteContext): T => ctx.body as T;

function connectorType(t: string, at = '/type'): ConnectorType {
  if (t === 'TYPE_SOURCE') return 'source';
  if (t === 'TYPE_DESTINATION') return 'destination';
  throw new ConduitError(Code.ConfigFieldInvalid, `the connector type must be TYPE_SOURCE or TYPE_DESTINATION`, {
    configPath: at,
    suggestion: 'set type to TYPE_SOURCE or TYPE_DESTINATION',
  });
}

function refuseRedacted(prefix: string): (key: string) => never {
  return (key) => {
    throw new ConduitError(ApiCode.RedactedSetting, `setting "${key}" is "***" and there is no stored value to keep`, {
      configPath: `${prefix}/${key}`,
      suggestion: 'send the real value; "***" only stands for a value already stored',
    });
  };
}

/**
 * A name filter: Conduit's `^<regex>$`. Patterns that nest quantifiers (the
 * usual catastrophic-backtracking shape) are refused, so a request cannot
 * stall the event loop the pipelines run on.
 */
function nameFilter(q: URLSearchParams, param = 'name'): ((name: string) => boolean) | undefined {
  const pattern = q.get(param) ?? '';
  if (pattern === '') return undefined;
  const bad = (why: string): ConduitError =>
    new ConduitError(Code.ConfigFieldInvalid, `the ${param} filter ${why}`, {
      configPath: `/${param}`,
      suggestion: 'use a simple regular expression, e.g. orders-.*',
    });
  if (pattern.length > 256) throw bad('is longer than 256 characters');
  if (/\([^)]*[+*}][^)]*\)\s*[+*{]/.test(pattern)) throw bad('nests quantifiers, which can take exponential time');
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch {
    throw bad('is not a valid regular expression');
  }
  return (name) => re.test(name);
}

/** `?limit=N`: a whole number from 1 to 1000, or undefined when absent (or empty). */
function limitParam(q: URLSearchParams): number | undefined {
  const text = q.get('limit') ?? '';
  if (text === '') return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1000) {
    throw new ConduitError(
      Code.ConfigFieldInvalid,
      `the limit must be a whole number from 1 to 1000, not "${text.slice(0, 40)}"`,
      {
        configPath: '/limit',
        suggestion: 'use e.g. ?limit=10, or leave it out for every kept record',
      },
    );
  }
  return Number(text);
}

/** A pipeline, or 404. */
function mustPipeline(ctx: RouteContext, id: string) {
  const p = ctx.engine.get(id);
  if (p === undefined) {
    throw new ConduitError(Code.PipelineNotFound, `no pipeline with ID "${id}"`, {
      suggestion: 'list the pipelines to see their IDs',
    });
  }
  return p;
}

/** A pipeline as the API answers it: Conduit's v1Pipeline with the extension field `sourceProgress`. */
function pipelineAnswer(ctx: RouteContext, p: PipelineInfo): Json {
  return pipelineJson(p, ctx.engine.sourceProgress(p.id));
}

async function connectorAnswer(ctx: RouteContext, id: string): Promise<unknown> {
  const c = ctx.engine.connector(id);
  if (c === undefined) {
    throw new ConduitError(EditCode.ConnectorNotFound, `no connector with ID "${id}"`, {
      suggestion: 'list the connectors to see their IDs',
    });
  }
  const position = c.config.type === 'source' ? await ctx.engine.sourcePosition(id) : undefined;
  return connectorJson(c, ctx.registry, position);
}

/** A pipeline document read into a config; `***` settings keep the stored values of the pipeline with its ID. */
function documentFor(ctx: RouteContext, doc: PipelineDocument, at: string): PipelineConfig {
  return documentToConfig(doc, ctx.engine.get(doc.id ?? '')?.config, ctx.registry, at);
}

/** v1Diff. */
function diffJson(plan: PipelinePlan): Record<string, unknown> {
  return {
    pipelineId: plan.pipelineId,
    changes: plan.changes.map((c) => ({ ...c, configPaths: [...c.configPaths] })),
    hash: plan.hash,
  };
}

/** The stream inspector routes answer a WebSocket upgrade (src/api/inspect.ts); a plain GET gets 400. */
const INSPECT_SUMMARY = (what: string): string =>
  `WebSocket stream of a sample of ${what}: one message {"result": <v1Record>} per record. A plain GET answers 400.`;
const INSPECT_RESPONSE: Schema = {
  type: 'object',
  properties: { result: ref('v1Record') },
  description: 'One message of the stream (a WebSocket text message).',
};

const PIPELINES = 'PipelineService';
const CONNECTORS = 'ConnectorService';
const PROCESSORS = 'ProcessorService';

export const ROUTES: readonly RouteDef[] = [
  // ---- pipelines ---------------------------------------------------------------------------------
  {
    method: 'GET',
    path: '/v1/pipelines',
    operationId: 'PipelineService_ListPipelines',
    tag: PIPELINES,
    summary: 'List pipelines, optionally those whose name matches a regular expression.',
    query: [{ name: 'name', type: 'string', description: 'Regex to filter pipelines by name.' }],
    response: list('v1Pipeline'),
    errors: [400],
    handler: async (ctx) => {
      const match = nameFilter(ctx.query);
      return ctx.engine
        .list()
        .filter((p) => match === undefined || match(p.config.name))
        .map((p) => pipelineAnswer(ctx, p));
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines',
    operationId: 'PipelineService_CreatePipeline',
    tag: PIPELINES,
    summary: 'Create an empty, stopped pipeline; add connectors and processors to it, then start it.',
    body: { name: 'body', schema: ref('v1CreatePipelineRequest') },
    response: ref('v1Pipeline'),
    errors: [400, 409],
    handler: async (ctx) => {
      const b = body<PipelineConfigBody>(ctx);
      const p = await ctx.engine.createPipeline({
        name: b.config?.name ?? '',
        description: b.config?.description ?? '',
      });
      return pipelineAnswer(ctx, p);
    },
  },
  {
    method: 'GET',
    path: '/v1/pipelines/{id}',
    operationId: 'PipelineService_GetPipeline',
    tag: PIPELINES,
    summary: 'Get a pipeline with its state.',
    response: ref('v1Pipeline'),
    errors: [404],
    handler: async (ctx) => pipelineAnswer(ctx, mustPipeline(ctx, ctx.params['id'] ?? '')),
  },
  {
    method: 'PUT',
    path: '/v1/pipelines/{id}',
    operationId: 'PipelineService_UpdatePipeline',
    tag: PIPELINES,
    summary: 'Change the name and description of a stopped pipeline created through the API.',
    body: { name: 'body', schema: ref('PipelineServiceUpdatePipelineBody') },
    response: ref('v1Pipeline'),
    errors: [400, 404, 409],
    handler: async (ctx) => {
      const b = body<PipelineConfigBody>(ctx);
      const p = await ctx.engine.updatePipeline(ctx.params['id'] ?? '', {
        name: b.config?.name ?? '',
        description: b.config?.description ?? '',
      });
      return pipelineAnswer(ctx, p);
    },
  },
  {
    method: 'DELETE',
    path: '/v1/pipelines/{id}',
    operationId: 'PipelineService_DeletePipeline',
    tag: PIPELINES,
    summary: 'Delete a stopped pipeline created through the API that has no connectors or processors left.',
    response: ref('v1DeletePipelineResponse'),
    errors: [400, 404],
    handler: async (ctx) => {
      await ctx.engine.deletePipeline(ctx.params['id'] ?? '');
      return {};
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines/{id}/start',
    operationId: 'PipelineService_StartPipeline',
    tag: PIPELINES,
    summary: `Start a pipeline (also a degraded one: that is how it is repaired). Answers when it runs (at most ${STOP_WAIT_MS / 1000} s).`,
    response: ref('v1StartPipelineResponse'),
    errors: [400, 404],
    handler: async (ctx) => {
      await ctx.engine.startAndWait(ctx.params['id'] ?? '', STOP_WAIT_MS);
      return {};
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines/{id}/stop',
    operationId: 'PipelineService_StopPipeline',
    tag: PIPELINES,
    summary: `Stop a pipeline: drain and checkpoint, or with force drop what is in flight. Answers when it stopped (at most ${STOP_WAIT_MS / 1000} s).`,
    body: { name: 'body', schema: ref('PipelineServiceStopPipelineBody') },
    response: ref('v1StopPipelineResponse'),
    errors: [400, 404],
    handler: async (ctx) => {
      const force = body<{ force?: boolean } | undefined>(ctx)?.force === true;
      const stopped = ctx.engine.stop(ctx.params['id'] ?? '', { force });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
      try {
        await Promise.race([stopped, late]);
      } finally {
        clearTimeout(timer);
      }
      // A stop still draining after the wait goes on; its failure (if any) shows in the pipeline state.
      stopped.catch(() => undefined);
      return {};
    },
  },
  {
    method: 'GET',
    path: '/v1/pipelines/{id}/dead-letter-queue',
    operationId: 'PipelineService_GetDLQ',
    tag: PIPELINES,
    summary: 'Get the dead-letter queue of a pipeline.',
    response: ref('v1PipelineDLQ'),
    errors: [404],
    handler: async (ctx) => dlqJson(mustPipeline(ctx, ctx.params['id'] ?? '').config.dlq, ctx.registry),
  },
  {
    method: 'PUT',
    path: '/v1/pipelines/{id}/dead-letter-queue',
    operationId: 'PipelineService_UpdateDLQ',
    tag: PIPELINES,
    summary: 'Replace the dead-letter queue of a stopped pipeline created through the API.',
    body: { name: 'dlq', schema: ref('v1PipelineDLQ') },
    response: ref('v1PipelineDLQ'),
    errors: [400, 404],
    handler: async (ctx) => {
      const b = body<DlqBody>(ctx);
      const id = ctx.params['id'] ?? '';
      const stored = mustPipeline(ctx, id).config.dlq;
      const pluginRef = b.plugin ?? '';
      const samePlugin = pluginRef === stored.pluginRef;
      const settings = keepRedacted(b.settings ?? {}, samePlugin ? stored.settings : {}, refuseRedacted('/settings'));
      const p = await ctx.engine.updateDLQ(id, {
        pluginRef,
        settings,
        windowSize: b.windowSize ?? 0,
        windowNackThreshold: b.windowNackThreshold ?? 0,
      });
      return dlqJson(p.config.dlq, ctx.registry);
    },
  },
  {
    method: 'GET',
    path: '/v1/pipelines/{id}/dead-letter-queue/records',
    operationId: 'PipelineService_ListDeadLetterRecords',
    tag: PIPELINES,
    summary:
      'Extension: the last records the pipeline failed, newest first: those the dead-letter queue took and those that stopped the pipeline (kept in memory: the last 100, within 1 MiB).',
    extension: true,
    query: [{ name: 'limit', type: 'string', description: 'At most this many records (1 to 1000; default all kept).' }],
    response: ref('v1ListDeadLetterRecordsResponse'),
    errors: [400, 404],
    handler: async (ctx) => {
      const limit = limitParam(ctx.query);
      const { records, total, kept } = ctx.engine.failedRecords(ctx.params['id'] ?? '', limit);
      return { records: records.map(failedRecordJson), total: String(total), kept: String(kept) };
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines/{id}/export',
    operationId: 'PipelineService_ExportPipeline',
    tag: PIPELINES,
    summary:
      'The pipeline as GetPipeline answers it, plus (an extension) `document`: the whole pipeline with its connectors, processors and DLQ inline, secrets as ***. Import, plan and apply take it back.',
    response: ref('v1PipelineExport'),
    errors: [404],
    handler: async (ctx) => {
      const p = mustPipeline(ctx, ctx.params['id'] ?? '');
      return { ...pipelineAnswer(ctx, p), document: documentJson(p, ctx.registry) };
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines/import',
    operationId: 'PipelineService_ImportPipeline',
    tag: PIPELINES,
    summary:
      'Create a pipeline from a full config (`document`, as export answers it), or reconcile the pipeline with its ID. "***" keeps a stored secret. Pipelines from files are read-only; a running pipeline is changed only in place.',
    body: { name: 'pipeline', schema: ref('v1PipelineExport') },
    response: ref('v1Pipeline'),
    errors: [400],
    handler: async (ctx) => {
      const b = body<{ document?: PipelineDocument }>(ctx);
      if (b.document === undefined) {
        throw new ConduitError(Code.ConfigFieldRequired, 'an import needs the whole pipeline in "document"', {
          configPath: '/document',
          suggestion:
            'send what POST /v1/pipelines/{id}/export answers (its document holds the connectors and processors)',
        });
      }
      const config = documentFor(ctx, b.document, '/document');
      return pipelineAnswer(ctx, await ctx.engine.importPipeline(config));
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines/plan',
    operationId: 'PipelineService_PlanPipeline',
    tag: PIPELINES,
    summary:
      'The changes that would turn the stored pipeline with this ID (if any) into the given config, each in_place or restart, and the hash ApplyPipeline needs. Read-only; "***" stands for a stored secret.',
    body: { name: 'body', schema: ref('v1PlanPipelineRequest') },
    response: ref('v1Diff'),
    errors: [400],
    handler: async (ctx) => {
      const b = body<{ config?: PipelineDocument }>(ctx);
      return diffJson(ctx.engine.planPipeline(documentFor(ctx, b.config ?? {}, '/config')));
    },
  },
  {
    method: 'POST',
    path: '/v1/pipelines/apply',
    operationId: 'PipelineService_ApplyPipeline',
    tag: PIPELINES,
    summary:
      "Apply the plan for this config if `hash` is the current plan's (else 412 provisioning.plan_stale, nothing applied). A restart-class change on a running pipeline needs api.allow-live-restart-apply: it is drained, changed and started again.",
    body: { name: 'body', schema: ref('v1ApplyPipelineRequest') },
    response: ref('v1Diff'),
    errors: [400, 412],
    handler: async (ctx) => {
      const b = body<{ config?: PipelineDocument; hash?: string }>(ctx);
      if ((b.hash ?? '') === '') {
        throw new ConduitError(Code.ConfigFieldRequired, 'an apply needs the hash of the plan it carries out', {
          configPath: '/hash',
          suggestion: 'call POST /v1/pipelines/plan with the same config, review the changes, and send its hash',
        });
      }
      const config = documentFor(ctx, b.config ?? {}, '/config');
      const plan = await ctx.engine.applyPipeline(config, {
        hash: b.hash ?? '',
        allowLiveRestart: ctx.allowLiveRestartApply,
      });
      return diffJson(plan);
    },
  },

  // ---- connectors --------------------------------------------------------------------------------
  {
    method: 'GET',
    path: '/v1/connectors',
    operationId: 'ConnectorService_ListConnectors',
    tag: CONNECTORS,
    summary: 'List connectors, optionally of one pipeline.',
    query: [{ name: 'pipelineId', type: 'string', description: 'Only the connectors of this pipeline.' }],
    response: list('apiv1Connector'),
    errors: [],
    handler: async (ctx) => {
      const pipelineId = ctx.query.get('pipelineId') ?? ctx.query.get('pipeline_id') ?? '';
      const found = ctx.engine.connectors(pipelineId === '' ? undefined : pipelineId);
      return Promise.all(
        found.map(async (c) =>
          connectorJson(
            c,
            ctx.registry,
            c.config.type === 'source' ? await ctx.engine.sourcePosition(c.config.id) : undefined,
          ),
        ),
      );
    },
  },
  {
    method: 'POST',
    path: '/v1/connectors',
    operationId: 'ConnectorService_CreateConnector',
    tag: CONNECTORS,
    summary: 'Add a connector to a stopped pipeline created through the API; its settings are validated.',
    body: { name: 'body', schema: ref('v1CreateConnectorRequest') },
    response: ref('apiv1Connector'),
    errors: [400, 404],
    handler: async (ctx) => {
      const b = body<CreateConnectorBody>(ctx);
      const c = await ctx.engine.createConnector(b.pipelineId, {
        type: connectorType(b.type),
        plugin: b.plugin,
        name: b.config?.name ?? '',
        settings: keepRedacted(b.config?.settings ?? {}, {}, refuseRedacted('/config/settings')),
      });
      return connectorJson(c, ctx.registry, undefined);
    },
  },
  {
    method: 'POST',
    path: '/v1/connectors/validate',
    operationId: 'ConnectorService_ValidateConnector',
    tag: CONNECTORS,
    summary: "Check a connector's plugin and settings without creating it.",
    body: { name: 'body', schema: ref('v1ValidateConnectorRequest') },
    response: ref('v1ValidateConnectorResponse'),
    errors: [400],
    handler: async (ctx) => {
      const b = body<CreateConnectorBody>(ctx);
      ctx.engine.validateConnector(connectorType(b.type), b.plugin, b.config?.settings ?? {});
      return {};
    },
  },
  {
    method: 'GET',
    path: '/v1/connectors/{id}',
    operationId: 'ConnectorService_GetConnector',
    tag: CONNECTORS,
    summary: 'Get a connector with its state: the last checkpointed position of a source.',
    response: ref('apiv1Connector'),
    errors: [404],
    handler: (ctx) => connectorAnswer(ctx, ctx.params['id'] ?? ''),
  },
  {
    method: 'PUT',
    path: '/v1/connectors/{id}',
    operationId: 'ConnectorService_UpdateConnector',
    tag: CONNECTORS,
    summary: 'Change the name, settings (and plugin) of a connector of a stopped API pipeline; "***" keeps a secret.',
    body: { name: 'body', schema: ref('ConnectorServiceUpdateConnectorBody') },
    response: ref('apiv1Connector'),
    errors: [400, 404],
    handler: async (ctx) => {
      const id = ctx.params['id'] ?? '';
      const b = body<{ config?: ConnectorConfigBody; plugin?: string }>(ctx);
      const stored = ctx.engine.connector(id);
      const settings = keepRedacted(
        b.config?.settings ?? {},
        stored?.config.settings ?? {},
        refuseRedacted('/config/settings'),
      );
      await ctx.engine.updateConnector(id, { name: b.config?.name ?? '', settings, plugin: b.plugin });
      return connectorAnswer(ctx, id);
    },
  },
  {
    method: 'DELETE',
    path: '/v1/connectors/{id}',
    operationId: 'ConnectorService_DeleteConnector',
    tag: CONNECTORS,
    summary: 'Delete a connector (with no processors) of a stopped API pipeline, with its position.',
    response: ref('v1DeleteConnectorResponse'),
    errors: [400, 404],
    handler: async (ctx) => {
      await ctx.engine.deleteConnector(ctx.params['id'] ?? '');
      return {};
    },
  },
  {
    method: 'GET',
    path: '/v1/connectors/{id}/inspect',
    operationId: 'ConnectorService_InspectConnector',
    tag: CONNECTORS,
    summary: INSPECT_SUMMARY('a source connector on its output, a destination connector on its input'),
    response: INSPECT_RESPONSE,
    errors: [400, 404],
    handler: async (ctx) => inspectOverHttp(ctx.engine, 'connector', ctx.params['id'] ?? ''),
  },
  {
    method: 'GET',
    path: '/v1/connectors/plugins',
    operationId: 'ConnectorService_ListConnectorPlugins',
    tag: CONNECTORS,
    summary: 'List connector plugins with their parameter specifications (sdk.* included).',
    query: [{ name: 'name', type: 'string', description: 'Regex to filter plugins by name.' }],
    response: list('v1ConnectorPluginSpecifications'),
    errors: [400],
    handler: async (ctx) => {
      const match = nameFilter(ctx.query);
      return ctx.registry
        .connectors()
        .map(connectorPluginJson)
        .filter((p) => match === undefined || match(p['name'] as string) || match(bareName(p['name'])));
    },
  },

  // ---- processors --------------------------------------------------------------------------------
  {
    method: 'GET',
    path: '/v1/processors',
    operationId: 'ProcessorService_ListProcessors',
    tag: PROCESSORS,
    summary: 'List processors, optionally of some parents (pipeline or connector IDs).',
    query: [{ name: 'parentIds', type: 'array', description: 'Only the processors of these parents.' }],
    response: list('apiv1Processor'),
    errors: [],
    handler: async (ctx) => {
      const parents = [...ctx.query.getAll('parentIds'), ...ctx.query.getAll('parent_ids')];
      return ctx.engine.processors(parents).map((p) => processorJson(p, ctx.registry));
    },
  },
  {
    method: 'POST',
    path: '/v1/processors',
    operationId: 'ProcessorService_CreateProcessor',
    tag: PROCESSORS,
    summary: 'Add a processor to a pipeline or a connector of a stopped API pipeline; its settings are validated.',
    body: { name: 'body', schema: ref('v1CreateProcessorRequest') },
    response: ref('apiv1Processor'),
    errors: [400, 404],
    handler: async (ctx) => {
      const b = body<CreateProcessorBody>(ctx);
      const parentType = b.parent.type;
      if (parentType !== 'TYPE_PIPELINE' && parentType !== 'TYPE_CONNECTOR') {
        throw new ConduitError(Code.ConfigFieldInvalid, 'the parent type must be TYPE_PIPELINE or TYPE_CONNECTOR', {
          configPath: '/parent/type',
          suggestion: 'set parent.type',
        });
      }
      const p = await ctx.engine.createProcessor(
        { type: parentType === 'TYPE_PIPELINE' ? 'pipeline' : 'connector', id: b.parent.id ?? '' },
        {
          // `type` is Conduit's deprecated spelling of the plugin.
          plugin: b.plugin ?? b.type ?? '',
          settings: keepRedacted(b.config?.settings ?? {}, {}, refuseRedacted('/config/settings')),
          workers: b.config?.workers ?? 0,
          condition: b.condition ?? '',
        },
      );
      return processorJson(p, ctx.registry);
    },
  },
  {
    method: 'GET',
    path: '/v1/processors/{id}',
    operationId: 'ProcessorService_GetProcessor',
    tag: PROCESSORS,
    summary: 'Get a processor.',
    response: ref('apiv1Processor'),
    errors: [404],
    handler: async (ctx) => processorJson(mustProcessor(ctx), ctx.registry),
  },
  {
    method: 'PUT',
    path: '/v1/processors/{id}',
    operationId: 'ProcessorService_UpdateProcessor',
    tag: PROCESSORS,
    summary: 'Change the settings, workers (and plugin) of a processor of a stopped API pipeline.',
    body: { name: 'body', schema: ref('ProcessorServiceUpdateProcessorBody') },
    response: ref('apiv1Processor'),
    errors: [400, 404],
    handler: async (ctx) => {
      const b = body<{ config?: ProcessorConfigBody; plugin?: string }>(ctx);
      const stored = mustProcessor(ctx);
      const p = await ctx.engine.updateProcessor(stored.config.id, {
        plugin: b.plugin,
        settings: keepRedacted(b.config?.settings ?? {}, stored.config.settings, refuseRedacted('/config/settings')),
        workers: b.config?.workers ?? 0,
      });
      return processorJson(p, ctx.registry);
    },
  },
  {
    method: 'DELETE',
    path: '/v1/processors/{id}',
    operationId: 'ProcessorService_DeleteProcessor',
    tag: PROCESSORS,
    summary: 'Delete a processor of a stopped API pipeline.',
    response: ref('v1DeleteProcessorResponse'),
    errors: [400, 404],
    handler: async (ctx) => {
      await ctx.engine.deleteProcessor(ctx.params['id'] ?? '');
      return {};
    },
  },
  {
    method: 'GET',
    path: '/v1/processors/{id}/inspect-in',
    operationId: 'ProcessorService_InspectProcessorIn',
    tag: PROCESSORS,
    summary: INSPECT_SUMMARY('the records going into a processor'),
    response: INSPECT_RESPONSE,
    errors: [400, 404],
    handler: async (ctx) => inspectOverHttp(ctx.engine, 'processor-in', ctx.params['id'] ?? ''),
  },
  {
    method: 'GET',
    path: '/v1/processors/{id}/inspect-out',
    operationId: 'ProcessorService_InspectProcessorOut',
    tag: PROCESSORS,
    summary: INSPECT_SUMMARY('the records coming out of a processor'),
    response: INSPECT_RESPONSE,
    errors: [400, 404],
    handler: async (ctx) => inspectOverHttp(ctx.engine, 'processor-out', ctx.params['id'] ?? ''),
  },
  {
    method: 'GET',
    path: '/v1/processors/plugins',
    operationId: 'ProcessorService_ListProcessorPlugins',
    tag: PROCESSORS,
    summary: 'List processor plugins with their parameter specifications.',
    query: [{ name: 'name', type: 'string', description: 'Regex to filter plugins by name.' }],
    response: list('v1ProcessorPluginSpecifications'),
    errors: [400],
    handler: async (ctx) => {
      const match = nameFilter(ctx.query);
      return ctx.registry
        .processors()
        .map(processorPluginJson)
        .filter((p) => match === undefined || match(p['name'] as string) || match(bareName(p['name'])));
    },
  },

  // ---- plugins (deprecated) and information ------------------------------------------------------
  {
    method: 'GET',
    path: '/v1/plugins',
    operationId: 'PluginService_ListPlugins',
    tag: 'PluginService',
    summary: 'Deprecated: use /v1/connectors/plugins.',
    query: [{ name: 'name', type: 'string', description: 'Regex to filter plugins by name.' }],
    response: list('v1PluginSpecifications'),
    errors: [400],
    handler: async (ctx) => {
      const match = nameFilter(ctx.query);
      return ctx.registry
        .connectors()
        .map(connectorPluginJson)
        .filter((p) => match === undefined || match(p['name'] as string) || match(bareName(p['name'])));
    },
  },
  {
    method: 'GET',
    path: '/info',
    operationId: 'InformationService_GetInfo',
    tag: 'InformationService',
    summary: 'The version, operating system and architecture of the engine.',
    response: ref('apiv1Info'),
    errors: [],
    handler: async () => ({ version: `v${VERSION}`, os: process.platform, arch: process.arch }),
  },
];

function mustProcessor(ctx: RouteContext) {
  const id = ctx.params['id'] ?? '';
  const p = ctx.engine.processor(id);
  if (p === undefined) {
    throw new ConduitError(EditCode.ProcessorNotFound, `no processor with ID "${id}"`, {
      suggestion: 'list the processors to see their IDs',
    });
  }
  return p;
}

/** `builtin:file@v0.1.0` → `file`. */
function bareName(full: unknown): string {
  return String(full)
    .replace(/^[a-z]+:/, '')
    .replace(/@[^@]*$/, '');
}
