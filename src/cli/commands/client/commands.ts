/**
 * The commands that talk to a running `conduit run` over its HTTP API, as
 * Conduit's CLI has them: `pipelines list|describe|start|stop|dlq|inspect|export`,
 * `connectors list|describe`, `connector-plugins list|describe`,
 * `processor-plugins list|describe`. Human output is aligned tables; with
 * --json the envelope's `result` is the API's answer, unchanged.
 */
import { Code } from '../../../errors/codes.js';
import { ConduitError } from '../../../errors/conduit-error.js';
import { stringify } from 'yaml';
import { closest } from '../../../sdk/params.js';
import { checkFlags } from '../../args.js';
import type { Output } from '../../output.js';
import { ApiClient, CLIENT_FLAGS, clientOptions, exitOfFailure } from './http.js';
import { enumName, fields, table, time } from './table.js';
import { INSPECT_FLAGS, inspectPipeline } from './inspect.js';

interface Pipeline {
  id: string;
  state?: { status?: string; error?: string; stoppedReason?: string };
  config?: { name?: string; description?: string };
  connectorIds?: string[];
  processorIds?: string[];
  createdAt?: string;
  updatedAt?: string;
  /** Extension field of the API's pipeline (v1SourceProgress): what each running source reports. */
  sourceProgress?: SourceProgressJson[];
}

interface SourceProgressJson {
  connectorId?: string;
  plugin?: string;
  lagBytes?: string;
  lagRecords?: string;
  snapshot?: Array<{ collection?: string; rows?: string; estimatedRows?: string; done?: boolean }>;
}

interface Connector {
  id: string;
  sourceState?: { position?: string };
  config?: { name?: string; settings?: Record<string, string> };
  type?: string;
  plugin?: string;
  pipelineId?: string;
  processorIds?: string[];
  createdAt?: string;
  updatedAt?: string;
}

interface ParamJson {
  default?: string;
  description?: string;
  type?: string;
  validations?: Array<{ type?: string; value?: string }>;
}

interface PluginJson {
  name: string;
  summary?: string;
  description?: string;
  version?: string;
  author?: string;
  sourceParams?: Record<string, ParamJson>;
  destinationParams?: Record<string, ParamJson>;
  parameters?: Record<string, ParamJson>;
}

interface Ctx {
  readonly api: ApiClient;
  readonly arg: string | undefined;
  readonly flags: Readonly<Record<string, string>>;
  readonly out: Output;
  readonly command: string;
}

interface ClientCommand {
  /** Flags besides the global and client ones. */
  readonly flags: readonly string[];
  /** What the positional argument is, when one is required. */
  readonly needs?: string;
  readonly run: (ctx: Ctx) => Promise<number>;
}

export type ClientGroup = 'pipelines' | 'connectors' | 'connector-plugins' | 'processor-plugins';

const ALIASES: Record<string, string> = { ls: 'list', desc: 'describe' };

const COMMANDS: Record<ClientGroup, Record<string, ClientCommand>> = {
  pipelines: {
    list: { flags: ['name'], run: listPipelines },
    describe: { flags: [], needs: 'a pipeline ID', run: describePipeline },
    start: { flags: [], needs: 'a pipeline ID', run: startPipeline },
    stop: { flags: ['force'], needs: 'a pipeline ID', run: stopPipeline },
    inspect: { flags: [...INSPECT_FLAGS], needs: 'a pipeline ID', run: inspectPipeline },
    dlq: { flags: ['limit'], needs: 'a pipeline ID', run: pipelineDlq },
    export: { flags: [], needs: 'a pipeline ID', run: exportPipeline },
  },
  connectors: {
    list: { flags: ['pipeline-id'], run: listConnectors },
    describe: { flags: [], needs: 'a connector ID', run: describeConnector },
  },
  'connector-plugins': {
    list: { flags: ['name'], run: (ctx) => listPlugins(ctx, 'connector') },
    describe: { flags: [], needs: 'a plugin name', run: (ctx) => describePlugin(ctx, 'connector') },
  },
  'processor-plugins': {
    list: { flags: ['name'], run: (ctx) => listPlugins(ctx, 'processor') },
    describe: { flags: [], needs: 'a plugin name', run: (ctx) => describePlugin(ctx, 'processor') },
  },
};

/** The sub-commands of a group, for help and suggestions. */
export function clientSubcommands(group: ClientGroup): string[] {
  return Object.keys(COMMANDS[group]);
}

export function isClientCommand(group: ClientGroup, sub: string | undefined): boolean {
  return sub !== undefined && (ALIASES[sub] ?? sub) in COMMANDS[group];
}

/**
 * Runs a client command. Handles its own failures: a code the server sent
 * that this engine does not register exits by its HTTP status, and an
 * unreachable server exits 3.
 */
export async function clientCommand(
  group: ClientGroup,
  sub: string | undefined,
  arg: string | undefined,
  flags: Readonly<Record<string, string>>,
  out: Output,
  globalFlags: readonly string[],
): Promise<number> {
  const name = ALIASES[sub ?? ''] ?? sub ?? '';
  const command = `${group} ${name}`.trim();
  try {
    const cmd = COMMANDS[group][name];
    if (cmd === undefined) {
      const subs = clientSubcommands(group);
      const near = sub === undefined ? undefined : closest(sub, subs);
      throw new ConduitError(Code.EngineConfigInvalid, `unknown command "${command}"`, {
        suggestion:
          near === undefined
            ? `use one of: ${subs.map((s) => `${group} ${s}`).join(', ')}`
            : `did you mean "${group} ${near}"?`,
      });
    }
    checkFlags(flags, [...globalFlags, ...CLIENT_FLAGS, ...cmd.flags]);
    if (cmd.needs !== undefined && (arg === undefined || arg === '')) {
      throw new ConduitError(Code.EngineConfigInvalid, `"conduit ${command}" needs ${cmd.needs}`, {
        suggestion: `write "conduit ${command} <${cmd.needs.replace(/^an? /, '').replace(/ /g, '-')}>"; "conduit ${group} list" shows them`,
      });
    }
    const api = new ApiClient(clientOptions(flags));
    return await cmd.run({ api, arg, flags, out, command });
  } catch (e) {
    out.failure(command, e);
    return exitOfFailure(e);
  }
}

// ---- pipelines -----------------------------------------------------------------------------------

async function listPipelines(ctx: Ctx): Promise<number> {
  const list = await ctx.api.get<Pipeline[]>('/v1/pipelines', { name: ctx.flags['name'] });
  const human = table(
    ['ID', 'NAME', 'STATE', 'CREATED', 'LAST_UPDATED'],
    list.map((p) => [p.id, p.config?.name ?? '', stateOf(p), time(p.createdAt), time(p.updatedAt)]),
  );
  return ctx.out.success(ctx.command, count(list.length, 'pipeline'), list, list.length === 0 ? 'no pipelines' : human);
}

async function describePipeline(ctx: Ctx): Promise<number> {
  const id = ctx.arg as string;
  const p = await ctx.api.get<Pipeline>(`/v1/pipelines/${encodeURIComponent(id)}`);
  let human = pipelineFields(p);
  if (!ctx.out.json) {
    // The connectors, as Conduit's describe shows them (not part of the JSON: that is the API's pipeline).
    const connectors = await ctx.api.get<Connector[]>('/v1/connectors', { pipelineId: p.id });
    if (connectors.length > 0) {
      human += `\n\nConnectors:\n${indent(connectorTable(connectors, false))}`;
    }
    const snapshot = snapshotTable(p.sourceProgress ?? []);
    if (snapshot !== undefined) human += `\n\nSnapshot:\n${indent(snapshot)}`;
  }
  return ctx.out.success(ctx.command, `pipeline ${p.id} is ${stateOf(p)}`, p, human);
}

async function startPipeline(ctx: Ctx): Promise<number> {
  const id = ctx.arg as string;
  await ctx.api.post(`/v1/pipelines/${encodeURIComponent(id)}/start`, {});
  const p = await ctx.api.get<Pipeline>(`/v1/pipelines/${encodeURIComponent(id)}`);
  return ctx.out.success(ctx.command, `pipeline ${id} started (${stateOf(p)})`, p);
}

async function stopPipeline(ctx: Ctx): Promise<number> {
  const id = ctx.arg as string;
  const force = ctx.flags['force'] === 'true';
  await ctx.api.post(`/v1/pipelines/${encodeURIComponent(id)}/stop`, { force });
  const p = await ctx.api.get<Pipeline>(`/v1/pipelines/${encodeURIComponent(id)}`);
  // The server answers after at most 30 s; a drain that takes longer goes on.
  const status = enumName(p.state?.status, 'STATUS_');
  const summary =
    status === 'running' || status === 'recovering'
      ? `pipeline ${id} is stopping (${stateOf(p)}); "conduit pipelines describe ${id}" shows when it stopped`
      : status === 'stopped'
        ? `pipeline ${id} stopped${force ? ' by force' : ''}`
        : `pipeline ${id} stopped${force ? ' by force' : ''}; it is ${status}: ${p.state?.error ?? ''}`;
  return ctx.out.success(ctx.command, summary, p);
}

interface DeadLetterRecord {
  sequence?: string;
  record?: unknown;
  recordTruncated?: boolean;
  error?: { code?: string; message?: string };
  nodeId?: string;
  outcome?: string;
  failedAt?: string;
}

/** Characters of a record's JSON shown in human output; --json has it whole. */
const RECORD_CHARS = 2000;

/** The last failed records of a pipeline (an extension of Conduit's API), newest first. */
async function pipelineDlq(ctx: Ctx): Promise<number> {
  const id = ctx.arg as string;
  const answer = await ctx.api.get<{ records?: DeadLetterRecord[]; total?: string; kept?: string }>(
    `/v1/pipelines/${encodeURIComponent(id)}/dead-letter-queue/records`,
    { limit: ctx.flags['limit'] },
  );
  const records = answer.records ?? [];
  const summary =
    `${count(records.length, 'failed record')} of pipeline ${id}` +
    ` (${answer.total ?? '0'} since the engine started, the last ${answer.kept ?? '0'} kept)`;
  const blocks = records.map((f) => {
    const outcome = f.outcome === 'OUTCOME_DLQ' ? 'to the DLQ' : 'stopped the pipeline';
    let json = JSON.stringify(f.record ?? null);
    if (json.length > RECORD_CHARS)
      json = `${json.slice(0, RECORD_CHARS)}… (${json.length} characters; --json shows it whole)`;
    if (f.recordTruncated === true) json += '  (too large to keep: key and payload left out)';
    return [
      `#${f.sequence ?? ''}  ${time(f.failedAt)}  ${outcome}  in ${f.nodeId ?? ''}`,
      `  error:  ${f.error?.code ?? ''}: ${f.error?.message ?? ''}`,
      `  record: ${json}`,
    ].join('\n');
  });
  const human = records.length === 0 ? `no failed records in pipeline ${id}` : `${summary}\n\n${blocks.join('\n\n')}`;
  return ctx.out.success(ctx.command, summary, answer, human);
}

interface PipelineDocument {
  id?: string;
  status?: string;
  name?: string;
  description?: string;
  connectors?: Array<Record<string, unknown>>;
  processors?: Array<Record<string, unknown>>;
  dlq?: { plugin?: string; settings?: Record<string, string>; windowSize?: string; windowNackThreshold?: string };
}

/**
 * The whole pipeline (POST /v1/pipelines/{id}/export): as a pipeline file (version 2.2) for a human,
 * the API's answer with --json. Secret values are *** in both.
 */
async function exportPipeline(ctx: Ctx): Promise<number> {
  const id = ctx.arg as string;
  const p = await ctx.api.post<Pipeline & { document?: PipelineDocument }>(
    `/v1/pipelines/${encodeURIComponent(id)}/export`,
    {},
  );
  const d = p.document ?? {};
  const { dlq, ...rest } = d;
  const file = {
    version: '2.2',
    pipelines: [
      {
        ...rest,
        ...(dlq !== undefined && {
          'dead-letter-queue': {
            plugin: dlq.plugin,
            settings: dlq.settings,
            'window-size': Number(dlq.windowSize ?? '1'),
            'window-nack-threshold': Number(dlq.windowNackThreshold ?? '0'),
          },
        }),
      },
    ],
  };
  return ctx.out.success(ctx.command, `pipeline ${id} exported`, p, stringify(file).trimEnd());
}

function stateOf(p: Pipeline): string {
  const status = enumName(p.state?.status, 'STATUS_');
  const reason = enumName(p.state?.stoppedReason, 'STOPPED_REASON_');
  return status === 'stopped' && reason !== '' && reason !== 'unspecified' ? `${status} (${reason})` : status;
}

/**
 * One line per collection of each source's snapshot: rows read of the estimated rows, with the
 * percentage, or "done". Undefined when no source reports a snapshot.
 */
function snapshotTable(sources: readonly SourceProgressJson[]): string | undefined {
  const rows: string[][] = [];
  for (const s of sources) {
    for (const c of s.snapshot ?? []) {
      rows.push([s.connectorId ?? '', c.collection ?? '', snapshotState(c)]);
    }
  }
  return rows.length === 0 ? undefined : table(['CONNECTOR', 'COLLECTION', 'PROGRESS'], rows);
}

function snapshotState(c: { rows?: string; estimatedRows?: string; done?: boolean }): string {
  const rows = Number(c.rows ?? 0);
  const estimated = Number(c.estimatedRows ?? 0);
  if (c.done === true) return `done (${rows.toLocaleString('en-US')} rows)`;
  if (estimated <= 0) return `${rows.toLocaleString('en-US')} rows (no estimate)`;
  // The estimate is the planner's: a table that grew can pass it before it is done.
  const percent = Math.min(99, Math.floor((rows * 100) / estimated));
  return `${rows.toLocaleString('en-US')} of ${estimated.toLocaleString('en-US')} rows (${percent}%)`;
}

function pipelineFields(p: Pipeline): string {
  const rows: Array<[string, string]> = [
    ['ID', p.id],
    ['Name', p.config?.name ?? ''],
    ['Description', p.config?.description ?? ''],
    ['State', stateOf(p)],
  ];
  if (p.state?.error !== undefined && p.state.error !== '') rows.push(['Error', p.state.error]);
  rows.push(
    ['Connectors', (p.connectorIds ?? []).join(', ')],
    ['Processors', (p.processorIds ?? []).join(', ')],
    ['Created', time(p.createdAt)],
    ['Last updated', time(p.updatedAt)],
  );
  return fields(rows);
}

// ---- connectors ----------------------------------------------------------------------------------

async function listConnectors(ctx: Ctx): Promise<number> {
  const list = await ctx.api.get<Connector[]>('/v1/connectors', { pipelineId: ctx.flags['pipeline-id'] });
  return ctx.out.success(
    ctx.command,
    count(list.length, 'connector'),
    list,
    list.length === 0 ? 'no connectors' : connectorTable(list, true),
  );
}

function connectorTable(list: readonly Connector[], withPipeline: boolean): string {
  const headers = ['ID', 'PLUGIN', 'TYPE', ...(withPipeline ? ['PIPELINE_ID'] : []), 'CREATED', 'LAST_UPDATED'];
  return table(
    headers,
    list.map((c) => [
      c.id,
      c.plugin ?? '',
      enumName(c.type, 'TYPE_'),
      ...(withPipeline ? [c.pipelineId ?? ''] : []),
      time(c.createdAt),
      time(c.updatedAt),
    ]),
  );
}

async function describeConnector(ctx: Ctx): Promise<number> {
  const id = ctx.arg as string;
  const c = await ctx.api.get<Connector>(`/v1/connectors/${encodeURIComponent(id)}`);
  const rows: Array<[string, string]> = [
    ['ID', c.id],
    ['Name', c.config?.name ?? ''],
    ['Type', enumName(c.type, 'TYPE_')],
    ['Plugin', c.plugin ?? ''],
    ['Pipeline ID', c.pipelineId ?? ''],
    ['Processors', (c.processorIds ?? []).join(', ')],
  ];
  if (c.sourceState !== undefined) rows.push(['Position', c.sourceState.position ?? '']);
  rows.push(['Created', time(c.createdAt)], ['Last updated', time(c.updatedAt)]);
  let human = fields(rows);
  const settings = Object.entries(c.config?.settings ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (settings.length > 0) human += `\n\nSettings:\n${indent(table(['NAME', 'VALUE'], settings))}`;
  return ctx.out.success(ctx.command, `connector ${c.id}`, c, human);
}

// ---- plugins -------------------------------------------------------------------------------------

const PLUGIN_PATH = { connector: '/v1/connectors/plugins', processor: '/v1/processors/plugins' } as const;

async function listPlugins(ctx: Ctx, kind: 'connector' | 'processor'): Promise<number> {
  const list = await ctx.api.get<PluginJson[]>(PLUGIN_PATH[kind], { name: ctx.flags['name'] });
  const human = table(
    ['NAME', 'SUMMARY'],
    list.map((p) => [p.name, p.summary ?? '']),
  );
  return ctx.out.success(
    ctx.command,
    count(list.length, `${kind} plugin`),
    list,
    list.length === 0 ? `no ${kind} plugins` : human,
  );
}

/** `builtin:generator@v0.1.0` → `generator`; `builtin:generator` → `generator`. */
function bare(name: string): string {
  return name.replace(/^[a-z]+:/, '').replace(/@[^@]*$/, '');
}

async function describePlugin(ctx: Ctx, kind: 'connector' | 'processor'): Promise<number> {
  const wanted = ctx.arg as string;
  const list = await ctx.api.get<PluginJson[]>(PLUGIN_PATH[kind]);
  const p =
    list.find((x) => x.name === wanted) ??
    list.find((x) => x.name.replace(/@[^@]*$/, '') === wanted) ??
    list.find((x) => bare(x.name) === wanted);
  if (p === undefined) {
    const near = closest(
      wanted,
      list.map((x) => bare(x.name)),
    );
    throw new ConduitError(
      kind === 'connector' ? Code.PluginNotFound : Code.ProcessorPluginNotFound,
      `no ${kind} plugin is named "${wanted}"`,
      {
        suggestion: near === undefined ? `"conduit ${kind}-plugins list" shows them` : `did you mean "${near}"?`,
      },
    );
  }
  let human = fields([
    ['Name', p.name],
    ['Summary', p.summary ?? ''],
    ['Description', p.description ?? ''],
    ['Version', p.version ?? ''],
    ['Author', p.author ?? ''],
  ]);
  const groups: Array<[string, Record<string, ParamJson> | undefined]> =
    kind === 'connector'
      ? [
          ['Source parameters', p.sourceParams],
          ['Destination parameters', p.destinationParams],
        ]
      : [['Parameters', p.parameters]];
  for (const [title, params] of groups) {
    const entries = Object.entries(params ?? {});
    if (entries.length === 0) continue;
    human += `\n\n${title}:\n${indent(paramTable(entries))}`;
  }
  return ctx.out.success(ctx.command, `${kind} plugin ${p.name}`, p, human);
}

function paramTable(entries: ReadonlyArray<[string, ParamJson]>): string {
  return table(
    ['NAME', 'TYPE', 'DEFAULT', 'REQUIRED', 'DESCRIPTION'],
    entries.map(([k, s]) => [
      k,
      enumName(s.type, 'TYPE_'),
      s.default ?? '',
      (s.validations ?? []).some((v) => v.type === 'TYPE_REQUIRED') ? 'yes' : '',
      s.description ?? '',
    ]),
  );
}

// ---- helpers -------------------------------------------------------------------------------------

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
