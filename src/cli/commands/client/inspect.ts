/**
 * `conduit pipelines inspect ID`: a pipeline's status and its stages (sources,
 * processors, destinations, the DLQ) with the records each connector counted;
 * with `--records N`, N live records from the stream inspector (the pipeline's
 * first source, or `--connector ID`, or `--processor ID [--out]`), one compact
 * line each, or one JSON (`v1Record`) per line with `--json`. Gives up after
 * `--timeout` (30 s by default) with `inspector.timeout`, exit 3.
 *
 * The WebSocket client is the `ws` package (Node 20 has no global WebSocket),
 * imported only by this command.
 */
import { Code, ExitCode } from '../../../errors/codes.js';
import { ConduitError } from '../../../errors/conduit-error.js';
import { parseDuration } from '../../../sdk/duration.js';
import type { Output } from '../../output.js';
import { ApiError, ClientCode, type ApiClient } from './http.js';
import { enumName } from './table.js';

export const InspectCode = { Timeout: Code.InspectorTimeout } as const;

export const INSPECT_FLAGS = ['records', 'connector', 'processor', 'out', 'timeout'] as const;

const DEFAULT_TIMEOUT_MS = 30_000;
/** Characters of one record line in human output. */
const LINE_CHARS = 300;

interface InspectCtx {
  readonly api: ApiClient;
  readonly arg: string | undefined;
  readonly flags: Readonly<Record<string, string>>;
  readonly out: Output;
  readonly command: string;
}

interface PipelineJson {
  id: string;
  state?: { status?: string; error?: string };
  config?: { name?: string };
  connectorIds?: string[];
  processorIds?: string[];
}
interface ConnectorJson {
  id: string;
  type?: string;
  plugin?: string;
  processorIds?: string[];
}
interface ProcessorJson {
  id: string;
  plugin?: string;
}
interface DlqJson {
  plugin?: string;
  windowSize?: number;
  windowNackThreshold?: number;
}
interface DataJson {
  rawData?: string;
  structuredData?: unknown;
}
interface RecordJson {
  position?: string;
  operation?: string;
  metadata?: Record<string, string>;
  key?: DataJson;
  payload?: { before?: DataJson; after?: DataJson };
}

interface Stage {
  readonly kind: 'source' | 'processor' | 'destination';
  readonly id: string;
  readonly plugin: string;
  /** Records read (source) or written (destination), from /metrics; absent when unknown. */
  readonly records?: number;
}

function flagInt(flags: Readonly<Record<string, string>>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) {
    throw new ConduitError(Code.EngineConfigInvalid, `--${name} must be a whole number of at least 1, not "${v}"`, {
      suggestion: `e.g. --${name} 10`,
    });
  }
  return Number(v);
}

function timeoutOf(flags: Readonly<Record<string, string>>): number {
  const v = flags['timeout'];
  if (v === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = parseDuration(v) ?? (/^\d+$/.test(v) ? Number(v) * 1000 : undefined);
  if (ms === undefined || ms <= 0) {
    throw new ConduitError(Code.EngineConfigInvalid, `--timeout must be a duration such as 30s or 2m, not "${v}"`, {
      suggestion: 'e.g. --timeout 30s',
    });
  }
  return ms;
}

/** Records each connector counted, from /metrics (conduit_connector_records_total); empty when unreadable. */
async function recordCounts(api: ApiClient): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  try {
    const headers: Record<string, string> = {};
    if (api.opts.token !== undefined) headers['authorization'] = `Bearer ${api.opts.token}`;
    const res = await fetch(new URL('/metrics', api.opts.baseUrl), { headers, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return counts;
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('conduit_connector_records_total{')) continue;
      const id = /component_id="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
      const n = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (id !== undefined && Number.isFinite(n)) counts.set(id.replace(/\\(.)/g, '$1'), n);
    }
  } catch {
    // The counts are a bonus: a server without /metrics still gets its summary.
  }
  return counts;
}

export async function inspectPipeline(ctx: InspectCtx): Promise<number> {
  const id = ctx.arg as string;
  const records = flagInt(ctx.flags, 'records');
  const timeoutMs = timeoutOf(ctx.flags);
  if (ctx.flags['connector'] !== undefined && ctx.flags['processor'] !== undefined) {
    throw new ConduitError(Code.EngineConfigInvalid, '--connector and --processor cannot both be given', {
      suggestion: 'inspect one component at a time',
    });
  }
  if (ctx.flags['out'] !== undefined && ctx.flags['processor'] === undefined) {
    throw new ConduitError(Code.EngineConfigInvalid, '--out goes with --processor', {
      suggestion: 'write --processor ID --out for the records coming out of a processor',
    });
  }
  const p = await ctx.api.get<PipelineJson>(`/v1/pipelines/${encodeURIComponent(id)}`);
  const connectors = await ctx.api.get<ConnectorJson[]>('/v1/connectors', { pipelineId: p.id });
  if (records === undefined) return summary(ctx, p, connectors);
  let path: string;
  const processor = ctx.flags['processor'];
  const connector = ctx.flags['connector'];
  if (processor !== undefined) {
    await ctx.api.get(`/v1/processors/${encodeURIComponent(processor)}`);
    path = `/v1/processors/${encodeURIComponent(processor)}/inspect-${ctx.flags['out'] === 'true' ? 'out' : 'in'}`;
  } else {
    let target = connector;
    if (target === undefined) {
      target = connectors.find((c) => c.type === 'TYPE_SOURCE')?.id;
      if (target === undefined) {
        throw new ConduitError(Code.PipelineInvalid, `pipeline ${p.id} has no source connector to inspect`, {
          suggestion: 'add a source, or pick a component with --connector ID or --processor ID',
        });
      }
    } else {
      await ctx.api.get(`/v1/connectors/${encodeURIComponent(target)}`);
    }
    path = `/v1/connectors/${encodeURIComponent(target)}/inspect`;
  }
  return stream(ctx, path, records, timeoutMs);
}

async function summary(ctx: InspectCtx, p: PipelineJson, connectors: ConnectorJson[]): Promise<number> {
  const [processors, dlq, counts] = await Promise.all([
    ctx.api.get<ProcessorJson[]>('/v1/processors'),
    ctx.api.get<DlqJson>(`/v1/pipelines/${encodeURIComponent(p.id)}/dead-letter-queue`),
    recordCounts(ctx.api),
  ]);
  const byId = new Map(processors.map((x) => [x.id, x]));
  const stages: Stage[] = [];
  const addProcessors = (ids: readonly string[] | undefined): void => {
    for (const pid of ids ?? []) stages.push({ kind: 'processor', id: pid, plugin: byId.get(pid)?.plugin ?? '' });
  };
  const stage = (c: ConnectorJson, kind: Stage['kind']): Stage => {
    const n = counts.get(c.id);
    return { kind, id: c.id, plugin: c.plugin ?? '', ...(n !== undefined && { records: n }) };
  };
  // The data path's order: each source and its processors, the pipeline's processors, each destination's.
  for (const c of connectors.filter((x) => x.type === 'TYPE_SOURCE')) {
    stages.push(stage(c, 'source'));
    addProcessors(c.processorIds);
  }
  addProcessors(p.processorIds);
  for (const c of connectors.filter((x) => x.type === 'TYPE_DESTINATION')) {
    addProcessors(c.processorIds);
    stages.push(stage(c, 'destination'));
  }
  const status = enumName(p.state?.status, 'STATUS_');
  const lines = [`pipeline ${p.id} is ${status}${p.state?.error ? `: ${p.state.error}` : ''}`];
  const w = Math.max(...stages.map((s) => s.id.length), (dlq.plugin ?? '').length);
  const pw = Math.max(...stages.map((s) => s.plugin.length), 6);
  for (const s of stages) {
    const what = s.kind === 'source' ? 'read' : 'written';
    const n = s.records === undefined ? '' : `${s.records} records ${what}`;
    lines.push(`  ${s.kind.padEnd(11)} ${s.id.padEnd(w)}  ${s.plugin.padEnd(pw)}  ${n}`.trimEnd());
  }
  lines.push(
    `  ${'dlq'.padEnd(11)} ${(dlq.plugin ?? '').padEnd(w)}  window ${dlq.windowSize ?? 0}, nack threshold ${dlq.windowNackThreshold ?? 0}`,
  );
  const result = { pipeline: p, stages, dlq };
  return ctx.out.success(ctx.command, `pipeline ${p.id} is ${status}`, result, lines.join('\n'));
}

/** Reads `want` records from an inspector stream and prints them; resolves with the exit code. */
async function stream(ctx: InspectCtx, path: string, want: number, timeoutMs: number): Promise<number> {
  const { WebSocket } = await import('ws');
  const url = new URL(path, ctx.api.opts.baseUrl);
  url.protocol = 'ws:';
  const headers: Record<string, string> = {};
  if (ctx.api.opts.token !== undefined) headers['authorization'] = `Bearer ${ctx.api.opts.token}`;
  const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
  let got = 0;
  const write = (s: string): void => void process.stdout.write(`${s}\n`);
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number, err?: ConduitError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.removeAllListeners('close');
      ws.terminate();
      resolve(err === undefined ? code : (ctx.out.failure(ctx.command, err), code));
    };
    const timer = setTimeout(() => {
      finish(
        ExitCode.Environment,
        new ConduitError(
          InspectCode.Timeout,
          `${got} of ${want} records arrived from ${path} within ${Math.round(timeoutMs / 1000)} s`,
          {
            suggestion:
              'the component may see few records (or none while its pipeline is stopped): wait longer with --timeout, or ask for fewer with --records',
          },
        ),
      );
    }, timeoutMs);
    ws.on('message', (data) => {
      if (done) return;
      let msg: { result?: RecordJson };
      try {
        msg = JSON.parse((data as Buffer).toString('utf8')) as { result?: RecordJson };
      } catch {
        return;
      }
      if (msg.result === undefined) return;
      got++;
      write(ctx.out.json ? JSON.stringify(msg.result) : recordLine(msg.result));
      if (got >= want) finish(ExitCode.Ok);
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => {
        let status: { message?: string; details?: Array<{ reason?: string; metadata?: { suggestion?: string } }> } = {};
        try {
          status = JSON.parse(body) as typeof status;
        } catch {
          // not the API's answer
        }
        const d = status.details?.[0];
        const err = new ApiError(
          d?.reason ?? ClientCode.BadAnswer,
          status.message ?? `HTTP ${res.statusCode ?? 0}`,
          res.statusCode ?? 0,
          d?.metadata?.suggestion === undefined ? {} : { suggestion: d.metadata.suggestion },
        );
        finish(
          res.statusCode === 401 || (res.statusCode ?? 0) < 500 ? ExitCode.InvalidInput : ExitCode.Environment,
          err,
        );
      });
    });
    ws.on('error', (e) => {
      finish(
        ExitCode.Environment,
        new ConduitError(ClientCode.Unreachable, `cannot stream from ${url.host}${path}: ${e.message}`, {
          suggestion: 'check that "conduit run" serves its HTTP API at --api.http.address',
          cause: e,
        }),
      );
    });
    ws.on('close', () => {
      finish(
        ExitCode.Environment,
        new ConduitError(ClientCode.Unreachable, `the server closed the stream after ${got} of ${want} records`, {
          suggestion: 'the component may have been deleted, or the server stopped',
        }),
      );
    });
  });
}

/** One record on one line: operation, position, key and the payload that matters (before for a delete). */
export function recordLine(r: RecordJson): string {
  const op = enumName(r.operation, 'OPERATION_') || 'unspecified';
  const payload = op === 'delete' ? r.payload?.before : r.payload?.after;
  const line = `${op.padEnd(8)} pos=${bytesText(r.position ?? '')} key=${dataText(r.key)} ${op === 'delete' ? 'before' : 'after'}=${dataText(payload)}`;
  return line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line;
}

function dataText(d: DataJson | undefined): string {
  if (d === undefined) return '-';
  if (d.structuredData !== undefined) return JSON.stringify(d.structuredData);
  return d.rawData === undefined || d.rawData === '' ? '-' : bytesText(d.rawData);
}

/** Base64 bytes as their text when it is printable UTF-8, else as base64. */
function bytesText(b64: string): string {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return /[\u0000-\u001f\u007f\ufffd]/.test(text) ? b64 : text;
}
