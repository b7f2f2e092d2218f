/**
 * The stream inspector over WebSocket: `/v1/connectors/{id}/inspect`,
 * `/v1/processors/{id}/inspect-in` and `/inspect-out` (Conduit's paths).
 *
 * The upgrade is checked before it happens: the path, then the token (the
 * `Authorization: Bearer` header, or, for browsers, which cannot set headers, a
 * `Sec-WebSocket-Protocol` value `bearer.<token>`; never the query string), then
 * the component (404 when unknown). Each accepted socket is one session of the
 * engine's inspector (src/inspector/): a sample of the records, one text message
 * `{"result": <v1Record>}` each, from a bounded buffer; what does not fit, or
 * what a slow reader leaves unread, is dropped and counted, never queued.
 * Pings every 54 s; a peer that does not answer within 60 s is dropped.
 *
 * The `ws` library is imported on the first upgrade only, so `conduit run`
 * starts without it.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { ConduitError } from '../errors/conduit-error.js';
import type { Engine } from '../engine/engine.js';
import type { TapKind } from '../inspector/index.js';
import type { Logger } from '../log/logger.js';
import { EditCode } from '../engine/engine.js';
import { ApiCode, toStatus } from './status.js';

/** Conduit's (gorilla/websocket) timings: a ping every 54 s, a pong expected within 60 s. */
export const PING_INTERVAL_MS = 54_000;
export const PONG_WAIT_MS = 60_000;

/** The sub-protocol a client may offer next to `bearer.<token>`; the server then selects it. */
export const INSPECT_PROTOCOL = 'conduit.inspect.v1';
const BEARER_PREFIX = 'bearer.';

const PATHS: ReadonlyArray<readonly [RegExp, TapKind]> = [
  [/^\/v1\/connectors\/([^/]+)\/inspect$/, 'connector'],
  [/^\/v1\/processors\/([^/]+)\/inspect-in$/, 'processor-in'],
  [/^\/v1\/processors\/([^/]+)\/inspect-out$/, 'processor-out'],
];

/** The tap a path names, or undefined when it is not an inspector path. */
export function inspectPath(pathname: string): { kind: TapKind; id: string } | undefined {
  for (const [re, kind] of PATHS) {
    const m = re.exec(pathname);
    if (m === null) continue;
    try {
      return { kind, id: decodeURIComponent(m[1] ?? '') };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Throws the API's 404 when the connector or processor does not exist. */
export function checkTarget(engine: Engine, kind: TapKind, id: string): void {
  if (kind === 'connector') {
    if (engine.connector(id) !== undefined) return;
    throw new ConduitError(EditCode.ConnectorNotFound, `no connector with ID "${id}"`, {
      suggestion: 'list the connectors to see their IDs',
    });
  }
  if (engine.processor(id) !== undefined) return;
  throw new ConduitError(EditCode.ProcessorNotFound, `no processor with ID "${id}"`, {
    suggestion: 'list the processors to see their IDs',
  });
}

/** A plain GET on an inspector route: 404 for an unknown component, else 400 (a WebSocket is needed). */
export async function inspectOverHttp(engine: Engine, kind: TapKind, id: string): Promise<never> {
  checkTarget(engine, kind, id);
  throw new ConduitError(ApiCode.WebSocketRequired, 'the stream inspector is served over a WebSocket only', {
    suggestion:
      'connect with a WebSocket client (Upgrade: websocket), e.g. "conduit pipelines inspect <pipeline-id> --records 10"',
  });
}

export interface InspectUpgradeOptions {
  readonly engine: Engine;
  readonly logger: Logger;
  /** Whether a token is the configured one; undefined when the API has no token (every upgrade is refused). */
  readonly tokenOk: ((token: string) => boolean) | undefined;
  readonly pingIntervalMs?: number;
  readonly pongWaitMs?: number;
}

export interface InspectUpgrade {
  /** The HTTP server's 'upgrade' listener. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every inspector socket (the API is shutting down). */
  close(): void;
}

/** The token a request carries: the Authorization header first, else a `bearer.<token>` sub-protocol. */
function tokenOf(req: IncomingMessage): { token?: string; problem?: string } {
  const header = req.headers.authorization;
  if (header !== undefined && header !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m === null ? { problem: 'the Authorization header is not "Bearer <token>"' } : { token: m[1] ?? '' };
  }
  for (const p of protocolsOf(req)) if (p.startsWith(BEARER_PREFIX)) return { token: p.slice(BEARER_PREFIX.length) };
  return { problem: 'no Authorization header and no "bearer.<token>" WebSocket sub-protocol' };
}

function protocolsOf(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Answers an upgrade request with an error (a google.rpc.Status, like every other route) and closes. */
function refuse(socket: Duplex, err: unknown, headers: Record<string, string> = {}): void {
  const { http, body } = toStatus(err);
  const text = `${JSON.stringify(body, null, 2)}\n`;
  const lines = [
    `HTTP/1.1 ${http} ${STATUS_CODES[http] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
  else socket.destroy();
}

let wsModule: Promise<typeof import('ws')> | undefined;

/** The `ws` library, loaded once, on the first inspector connection. */
function loadWs(): Promise<typeof import('ws')> {
  return (wsModule ??= import('ws'));
}

export function inspectUpgrade(opts: InspectUpgradeOptions): InspectUpgrade {
  const log = opts.logger.with({ component: 'inspector' });
  const pingMs = opts.pingIntervalMs ?? PING_INTERVAL_MS;
  const pongMs = opts.pongWaitMs ?? PONG_WAIT_MS;
  const sockets = new Set<WebSocket>();
  let wss: WebSocketServer | undefined;
  let closed = false;

  const attach = (ws: WebSocket, kind: TapKind, id: string, path: string): void => {
    sockets.add(ws);
    const session = opts.engine.inspector.open(kind, id, {
      send: (message, done) => ws.send(message, () => done()),
      get backlog() {
        return ws.bufferedAmount;
      },
    });
    log.info('inspector session opened', { path, component: id });
    let pongTimer: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      // A component deleted since: its stream has ended.
      try {
        checkTarget(opts.engine, kind, id);
      } catch {
        ws.close(1000, 'the component was deleted');
        return;
      }
      if (pongTimer === undefined) pongTimer = setTimeout(() => ws.terminate(), pongMs);
      ws.ping();
    }, pingMs);
    ping.unref();
    ws.on('pong', () => {
      clearTimeout(pongTimer);
      pongTimer = undefined;
    });
    ws.on('error', (e) => log.debug('inspector socket error', { path, error: e }));
    ws.on('close', () => {
      clearInterval(ping);
      clearTimeout(pongTimer);
      sockets.delete(ws);
      session.close();
      log.info('inspector session closed', { path, component: id, sent: session.sent, dropped: session.dropped });
    });
  };

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://api');
    const target = inspectPath(url.pathname);
    if (target === undefined || req.method !== 'GET' || closed) {
      refuse(
        socket,
        new ConduitError(ApiCode.RouteNotFound, `no WebSocket route ${url.pathname}`, {
          suggestion: 'the WebSocket routes are /v1/connectors/{id}/inspect and /v1/processors/{id}/inspect-in|out',
        }),
      );
      return;
    }
    const { token, problem } = tokenOf(req);
    const reason =
      opts.tokenOk === undefined
        ? 'the API is served without a token'
        : token === undefined
          ? problem
          : opts.tokenOk(token)
            ? undefined
            : 'wrong token';
    if (reason !== undefined) {
      log.warn('API request refused: unauthenticated', {
        method: 'GET',
        path: url.pathname,
        remote: req.socket.remoteAddress,
        reason,
      });
      refuse(
        socket,
        new ConduitError(ApiCode.Unauthenticated, `unauthenticated: ${reason}`, {
          suggestion: `send "Authorization: Bearer <token>", or offer the WebSocket sub-protocols "${BEARER_PREFIX}<token>" and "${INSPECT_PROTOCOL}"`,
        }),
        { 'WWW-Authenticate': 'Bearer realm="conduit"' },
      );
      return;
    }
    try {
      checkTarget(opts.engine, target.kind, target.id);
    } catch (e) {
      refuse(socket, e);
      return;
    }
    const { WebSocketServer } = await loadWs();
    wss ??= new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024,
      perMessageDeflate: false,
      // Prefer a protocol that is not the token, so the token is not echoed back.
      handleProtocols: (protocols) => {
        for (const p of protocols) if (!p.startsWith(BEARER_PREFIX)) return p;
        for (const p of protocols) return p;
        return false;
      },
    });
    if (closed || socket.destroyed) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, target.kind, target.id, url.pathname));
  };

  return {
    handle: (req, socket, head) => {
      socket.on('error', () => undefined); // a peer that vanished mid-handshake
      upgrade(req, socket, head).catch((e: unknown) => {
        log.error('inspector upgrade failed', { error: e });
        refuse(socket, e);
      });
    },
    close: () => {
      closed = true;
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      wss?.close();
    },
  };
}
