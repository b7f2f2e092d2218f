/**
 * Health routes, public (no token), for probes:
 *
 * - `GET /healthz[?service=X]`: gRPC health as grpc-gateway serves it — 200
 *   `{"status":"SERVING"}` when the store answers, 503 `{"status":"NOT_SERVING"}`
 *   when it does not; an unknown service is 404 (gRPC NOT_FOUND).
 * - `GET /readyz`: 503 `{"status":"starting"}` until the engine has started its
 *   pipelines, 503 `{"status":"unavailable","reason":…}` when the store does not
 *   answer, else 200 `{"status":"ready","pipelines":{total, running, degraded,
 *   degradedPipelines:[{id, status, error}]}}`. Degraded pipelines do not make
 *   the engine unready (Conduit's rule): one bad pipeline must not take the
 *   others out of a load balancer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { PipelineStatus } from '../engine/types.js';
import { redactText } from '../log/redact.js';
import { STORE_FORMAT_KEY, type Store } from '../store/store.js';
import type { RawRoute } from './server.js';

/** The services grpc.health.v1.Health reports in Conduit ("" is the server as a whole). */
export const HEALTH_SERVICES: readonly string[] = [
  '',
  'PipelineService',
  'ConnectorService',
  'ProcessorService',
  'ConnectorPluginService',
  'ProcessorPluginService',
];

/** Whether the engine finished starting; `conduit run` marks it once its pipelines are started. */
export class Readiness {
  private done = false;
  markReady(): void {
    this.done = true;
  }
  get ready(): boolean {
    return this.done;
  }
}

export interface HealthOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly readiness: Readiness;
  /** How long the store may take to answer before it counts as unreachable (default 2 s). */
  readonly storeTimeoutMs?: number;
}

export function healthRoutes(opts: HealthOptions): RawRoute[] {
  const timeoutMs = opts.storeTimeoutMs ?? 2_000;
  return [
    {
      method: 'GET',
      path: '/healthz',
      public: true,
      handle: async (req, res) => {
        const service = new URL(req.url ?? '/', 'http://api').searchParams.get('service') ?? '';
        const name = service.startsWith('api.v1.') ? service.slice('api.v1.'.length) : service;
        if (!HEALTH_SERVICES.includes(name)) {
          json(res, 404, { code: 5, message: `unknown service ${JSON.stringify(service)}`, details: [] });
          return;
        }
        const problem = await storeProblem(opts.store, timeoutMs);
        json(res, problem === undefined ? 200 : 503, { status: problem === undefined ? 'SERVING' : 'NOT_SERVING' });
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      public: true,
      handle: async (_req: IncomingMessage, res: ServerResponse) => {
        if (!opts.readiness.ready) {
          json(res, 503, { status: 'starting' });
          return;
        }
        const problem = await storeProblem(opts.store, timeoutMs);
        if (problem !== undefined) {
          json(res, 503, { status: 'unavailable', reason: problem });
          return;
        }
        const all = opts.engine.list();
        const degraded = all.filter((p) => p.state.status === PipelineStatus.Degraded);
        json(res, 200, {
          status: 'ready',
          pipelines: {
            total: all.length,
            running: all.filter((p) => p.state.status === PipelineStatus.Running).length,
            degraded: degraded.length,
            degradedPipelines: degraded.map((p) => ({
              id: p.id,
              status: p.state.status,
              error: redactText(p.state.error?.message ?? ''),
            })),
          },
        });
      },
    },
  ];
}

/** Why the store does not answer (a read of its format key within the timeout), or undefined when it does. */
async function storeProblem(store: Store, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the ${store.type} store did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      store.get(STORE_FORMAT_KEY).then(
        () => undefined,
        (e: unknown) =>
          `the ${store.type} store is unreachable: ${redactText(e instanceof Error ? e.message : String(e))}`,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
