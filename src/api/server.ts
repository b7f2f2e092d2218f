/**
 * The HTTP API server (node:http). For each request: CORS, then the bearer
 * token (every route but the public ones), then the route, the body read
 * within its size limit and checked against the route's schema, the handler,
 * and the answer as JSON. Every failure becomes a google.rpc.Status answer;
 * nothing a request does can throw out of the server into the engine.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { DEFINITIONS } from './definitions.js';
import { openApiDocument, openApiHtml } from './openapi.js';
import type { Method, RouteDef } from './route.js';
import { ROUTES } from './routes.js';
import { conform } from './schema.js';
import { inspectUpgrade } from './inspect.js';
import { ApiCode, toStatus } from './status.js';

/**
 * A route outside the RPC list, answered by its own function: /healthz,
 * /readyz and /metrics plug in here. `public` routes are served without the
 * token (CORS still applies).
 */
export interface RawRoute {
  readonly method: 'GET';
  readonly path: string;
  readonly public: boolean;
  readonly handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
}

export interface ApiServerOptions {
  readonly engine: Engine;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  /** Undefined or empty: every interface. */
  readonly host?: string;
  /** 0 picks a free port (see `address` on the started server). */
  readonly port: number;
  /**
   * The bearer token. Undefined: only the public routes are served (/healthz, /readyz, and /metrics
   * when public); every other route answers 401 saying how to configure a token.
   */
  readonly token: string | undefined;
  readonly corsOrigins?: readonly string[];
  readonly maxBodyBytes?: number;
  /** api.allow-live-restart-apply (default false). */
  readonly allowLiveRestartApply?: boolean;
  readonly rawRoutes?: readonly RawRoute[];
  /** The RPC routes; Conduit's by default. */
  readonly routes?: readonly RouteDef[];
  /** Stream inspector WebSocket timings (default: a ping every 54 s, a pong within 60 s). */
  readonly inspector?: { readonly pingIntervalMs?: number; readonly pongWaitMs?: number };
}

export interface ApiServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Compiled {
  readonly def: RouteDef;
  readonly segments: readonly string[];
  /** Static segments count: more specific routes are tried first (`/v1/connectors/plugins` before `{id}`). */
  readonly statics: number;
}

const CORS_METHODS = 'GET, POST, PUT, DELETE, OPTIONS';
const CORS_HEADERS = 'Authorization, Content-Type';

/** Starts the API; rejects with environment.port_in_use when the address is taken. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const routes = (opts.routes ?? ROUTES).map(compile).sort((a, b) => b.statics - a.statics);
  const doc = JSON.stringify(openApiDocument(opts.routes ?? ROUTES), null, 2);
  const html = openApiHtml(opts.routes ?? ROUTES);
  const docRoutes: RawRoute[] = [
    {
      method: 'GET',
      path: '/openapi',
      public: false,
      handle: (_req, res) => {
        res.writeHead(301, { location: '/openapi/' }).end();
      },
    },
    {
      method: 'GET',
      path: '/openapi/',
      public: false,
      handle: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      },
    },
    {
      method: 'GET',
      path: '/openapi/api/v1/api.swagger.json',
      public: false,
      handle: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(doc);
      },
    },
  ];
  const raw = new Map<string, RawRoute>([...docRoutes, ...(opts.rawRoutes ?? [])].map((r) => [r.path, r]));
  const tokenDigest = opts.token === undefined ? undefined : digest(opts.token);
  const origins = new Set(opts.corsOrigins ?? []);
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const log = opts.logger.with({ component: 'api' });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://api');
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;
    const corsOk = origin !== undefined && (origins.has(origin) || origins.has('*'));
    if (corsOk) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
    }
    try {
      if (method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
        if (!corsOk) {
          throw new ConduitError(ApiCode.OriginNotAllowed, `origin ${origin} may not call this API`, {
            suggestion: 'add it to api.http.cors.allowed-origins',
          });
        }
        res.writeHead(204, {
          'access-control-allow-methods': CORS_METHODS,
          'access-control-allow-headers': CORS_HEADERS,
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
      const rawRoute = raw.get(url.pathname);
      if (rawRoute === undefined || !rawRoute.public) {
        if (tokenDigest === undefined) {
          res.setHeader('www-authenticate', 'Bearer realm="conduit"');
          throw new ConduitError(
            ApiCode.Unauthenticated,
            'the API is served without a token: only /healthz and /readyz answer (and /metrics if api.http.auth.metrics-public is set)',
            {
              suggestion:
                'start the engine with a token: CONDUIT_API_HTTP_AUTH_TOKEN=$(openssl rand -hex 32), or --api.http.auth.token-file FILE',
            },
          );
        }
        const reason = authProblem(req.headers.authorization, tokenDigest);
        if (reason !== undefined) {
          // The header itself is never logged: it may hold a (wrong, or someone else's) token.
          log.warn('API request refused: unauthenticated', {
            method,
            path: url.pathname,
            remote: req.socket.remoteAddress,
            reason,
          });
          res.setHeader('www-authenticate', 'Bearer realm="conduit"');
          throw new ConduitError(ApiCode.Unauthenticated, `unauthenticated: ${reason}`, {
            suggestion: 'send the header "Authorization: Bearer <token>" with the token configured for the engine',
          });
        }
      }
      if (rawRoute !== undefined) {
        if (method !== rawRoute.method && !(method === 'HEAD' && rawRoute.method === 'GET')) {
          res.setHeader('allow', rawRoute.method);
          throw new ConduitError(ApiCode.MethodNotAllowed, `${method} is not allowed on ${url.pathname}`, {
            suggestion: `use ${rawRoute.method}`,
          });
        }
        await rawRoute.handle(req, res);
        return;
      }
      const match = route(routes, method, url.pathname);
      if (match.kind === 'none') {
        throw new ConduitError(ApiCode.RouteNotFound, `no route ${url.pathname}`, {
          suggestion: 'see /openapi/ for the routes',
        });
      }
      if (match.kind === 'method') {
        res.setHeader('allow', match.allow.join(', '));
        throw new ConduitError(ApiCode.MethodNotAllowed, `${method} is not allowed on ${url.pathname}`, {
          suggestion: `use ${match.allow.join(' or ')}`,
        });
      }
      const text = await readBody(req, maxBody);
      let body: unknown;
      if (match.route.def.body !== undefined) {
        body = conform(parseJson(text), match.route.def.body.schema, DEFINITIONS);
      }
      const result = await match.route.def.handler({
        engine: opts.engine,
        registry: opts.registry,
        params: match.params,
        query: url.searchParams,
        body,
        allowLiveRestartApply: opts.allowLiveRestartApply === true,
      });
      send(res, 200, result);
    } catch (err) {
      const { http, body } = toStatus(err);
      if (http >= 500 && http !== 501) log.error('API request failed', { method, path: url.pathname, error: err });
      if (!res.headersSent) send(res, http, body);
      else res.destroy();
    }
  };

  const server = createServer((req, res) => {
    logRequest(log, req, res);
    handle(req, res).catch((err: unknown) => {
      log.error('API request handler failed', { error: err });
      res.destroy();
    });
  });
  // The stream inspector's WebSocket routes (src/api/inspect.ts): same token, checked before the upgrade.
  const inspect = inspectUpgrade({
    engine: opts.engine,
    logger: opts.logger,
    tokenOk: tokenDigest === undefined ? undefined : (t) => timingSafeEqual(digest(t), tokenDigest),
    ...opts.inspector,
  });
  server.on('upgrade', (req, socket, head) => inspect.handle(req, socket, head));
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await listen(server, opts.host, opts.port);
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  // A failure after start-up (a socket error) is logged, never thrown into the engine.
  server.on('error', (err) => log.error('API server error', { error: err }));
  return {
    address,
    port: a.port,
    close: () =>
      new Promise<void>((resolve) => {
        inspect.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Probes and scrapes come every few seconds: their lines are debug, every other request's info. */
const QUIET_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The request log: one line when the answer is done (or the connection closed before it was).
 * The path only, never the query string (it may hold secrets) nor any header (Authorization).
 */
function logRequest(log: Logger, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  res.once('close', () => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://api').pathname;
    } catch {
      path = '(unparsable)';
    }
    const level = QUIET_PATHS.has(path) && res.statusCode < 500 ? 'debug' : 'info';
    if (!log.enabled(level)) return;
    log.log(level, 'API request', {
      method: req.method ?? '',
      path,
      status: res.statusCode,
      ms: Math.round((performance.now() - started) * 10) / 10,
      bytes: Number(res.getHeader('content-length') ?? 0),
      ...(!res.writableFinished && { aborted: true }),
    });
  });
}

function listen(server: Server, host: string | undefined, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const where = `${host ?? ''}:${port}`;
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL'
          ? new ConduitError(Code.PortInUse, `the HTTP API cannot listen on ${where}: ${err.code}`, {
              configPath: '/api/http/address',
              suggestion: 'stop what uses the port, or set --api.http.address (e.g. 127.0.0.1:8081)',
              cause: err,
            })
          : err,
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Why the Authorization header does not carry the token, or undefined when it does. */
function authProblem(header: string | undefined, expected: Buffer): string | undefined {
  if (header === undefined || header === '') return 'no Authorization header';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null) return 'the Authorization header is not "Bearer <token>"';
  // Compared as digests: equal length, constant time.
  return timingSafeEqual(digest(m[1] ?? ''), expected) ? undefined : 'wrong token';
}

type Match =
  | { kind: 'route'; route: Compiled; params: Record<string, string> }
  | { kind: 'method'; allow: Method[] }
  | { kind: 'none' };

function compile(def: RouteDef): Compiled {
  const segments = def.path.split('/').slice(1);
  return { def, segments, statics: segments.filter((s) => !s.startsWith('{')).length };
}

function route(routes: readonly Compiled[], method: string, pathname: string): Match {
  const parts = pathname.split('/').slice(1);
  const allow: Method[] = [];
  for (const r of routes) {
    const params = matchPath(r.segments, parts);
    if (params === undefined) continue;
    if (r.def.method === method) return { kind: 'route', route: r, params };
    // A static route that matched with another method still shadows a parameter route only for that method.
    if (!allow.includes(r.def.method)) allow.push(r.def.method);
  }
  return allow.length > 0 ? { kind: 'method', allow } : { kind: 'none' };
}

function matchPath(segments: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] ?? '';
    const p = parts[i] ?? '';
    if (s.startsWith('{')) {
      if (p === '') return undefined;
      try {
        params[s.slice(1, -1)] = decodeURIComponent(p);
      } catch {
        return undefined;
      }
    } else if (s !== p) return undefined;
  }
  return params;
}

/** Reads the body, refusing one larger than `max` bytes (by Content-Length before reading, or while reading). */
async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const tooLarge = (): ConduitError =>
    new ConduitError(ApiCode.BodyTooLarge, `the request body is larger than ${max} bytes`, {
      suggestion: 'send a smaller body',
    });
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) {
    req.resume(); // let the rest go so the answer can be read
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    // A body of `null` is the empty message (proto3 JSON), checked like `{}`: handlers always get an object.
    return JSON.parse(text) ?? {};
  } catch (err) {
    throw new ConduitError(ApiCode.BodyMalformed, `the body is not valid JSON: ${(err as Error).message}`, {
      configPath: '/',
      suggestion: 'send a JSON object with Content-Type: application/json',
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body ?? {}, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
