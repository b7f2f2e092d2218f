/**
 * `webhook.http`: sends an HTTP request for every record and stores the
 * response body (and, optionally, the status) in the record. Server errors
 * (status 500 and above) and network failures are retried with exponential
 * backoff; a stopping pipeline aborts the request in flight and the wait.
 */
import http from 'node:http';
import https from 'node:https';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { redactUrl } from '../../log/redact.js';
import { parseFieldRef, type FieldRef } from '../../opencdc/field-ref.js';
import { compareGo } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { delay } from '../../sdk/abort.js';
import { backoffDelay, type Backoff } from '../util.js';
import type { Config } from '../../sdk/params.js';
import {
  RecordError,
  type ProcessedRecord,
  type Processor,
  type ProcessorContext,
  type ProcessorPlugin,
} from '../../sdk/processor.js';
import { compileTemplate, type Template } from '../../template/index.js';

const NAME = 'webhook.http';

/** An HTTP token (RFC 9110), what Go's net/http accepts as a method and a header name. */
const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

export const webhookHttpPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Trigger an HTTP request for every record.',
  description:
    'Sends an HTTP request to the specified URL for every record, retries on error and saves the response body ' +
    'and, optionally, the response status in the record. A status of 500 or above (and a network error or ' +
    'timeout) is regarded as an error and retried according to the backoff configuration; when the retries ' +
    'are exhausted the record fails. Any other status is stored like a success.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    'request.url': {
      type: 'string',
      required: true,
      description:
        'URL is a Go template expression for the URL used in the HTTP request. The value provided to the template ' +
        'is the record, so the template has access to all its fields (e.g. `.Position`, `.Key`, `.Metadata`), and ' +
        'to the sprig functions. Credentials in the URL (`https://user:pass@host/`) are sent as basic ' +
        'authentication and never shown in errors or logs.',
    },
    'request.method': {
      type: 'string',
      default: 'GET',
      description: 'Method is the HTTP request method to be used.',
    },
    'request.body': {
      type: 'string',
      description:
        'The body of the HTTP request: a Go template evaluated with the record as input. By default the body is ' +
        'empty. To send the whole record as JSON use `{{ toJson . }}`.',
    },
    'request.contentType': {
      type: 'string',
      deprecated: 'use `headers.Content-Type` instead',
      description: 'Deprecated: use `headers.Content-Type` instead.',
    },
    'request.timeout': {
      type: 'duration',
      default: '30s',
      greaterThan: -1,
      description:
        'How long one attempt (sending the request and reading the response) may take before it is abandoned and ' +
        'counted as a network error; 0 waits forever. Not a Conduit parameter: Conduit waits forever.',
    },
    'headers.*': {
      type: 'string',
      secret: true,
      description:
        'Headers to add to the request, use `headers.*` to specify the header and its value ' +
        '(e.g. `headers.Authorization: "Bearer key"`). `Content-Type` is `application/json` unless set.',
    },
    'response.body': {
      type: 'string',
      default: '.Payload.After',
      description:
        'Specifies in which field should the response body be saved. ' +
        'For more information about the format, see Referencing fields.',
    },
    'response.status': {
      type: 'string',
      description:
        'Specifies in which field should the response status be saved. If no value is set, then the response ' +
        'status will NOT be saved. For more information about the format, see Referencing fields.',
    },
    'backoffRetry.count': {
      type: 'float',
      default: '0',
      greaterThan: -1,
      description: 'Maximum number of retries for an individual record when backing off following an error.',
    },
    'backoffRetry.factor': {
      type: 'float',
      default: '2',
      greaterThan: 0,
      description: 'The multiplying factor for each increment step.',
    },
    'backoffRetry.min': {
      type: 'duration',
      default: '100ms',
      description: 'The minimum waiting time before retrying.',
    },
    'backoffRetry.max': { type: 'duration', default: '5s', description: 'The maximum waiting time before retrying.' },
  },
  create: () => new WebhookProcessor(),
};

interface WebhookSettings {
  readonly processorId: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The URL when `request.url` has no template actions (checked at configure). */
  readonly fixedUrl: Target | undefined;
  readonly urlTemplate: Template;
  readonly bodyTemplate: Template | undefined;
  readonly bodyRef: FieldRef;
  readonly statusRef: FieldRef | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoff: Backoff;
}

/** Where a request goes: the URL without credentials, and the basic-auth header they make. */
interface Target {
  readonly url: URL;
  readonly authorization: string | undefined;
  /** The URL as errors and logs show it: no credentials, secret-looking query values masked. */
  readonly shown: string;
}

interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly body: Buffer;
}

/** Why an attempt failed; `retry` tells whether another attempt may succeed. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

class WebhookProcessor implements Processor {
  private cfg: WebhookSettings | undefined;
  private logger: ProcessorContext['logger'] | undefined;
  /** Aborted by teardown and by the engine's signal (a failed or killed run): stops requests and waits. */
  private readonly stop = new AbortController();

  configure(config: Config, ctx: ProcessorContext): void {
    this.logger = ctx.logger;
    this.cfg = readSettings(config, ctx);
    // The engine's signal (a failed or killed run) stops requests in flight too.
    const signal = ctx.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.stop.abort();
      else signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    }
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const cfg = this.cfg;
    if (cfg === undefined) throw new Error(`${NAME}: process called before configure`);
    const out: ProcessedRecord[] = [];
    for (const r of records) out.push(await this.processOne(cfg, r));
    return out;
  }

  async teardown(): Promise<void> {
    this.stop.abort();
  }

  private async processOne(cfg: WebhookSettings, r: OpenCDCRecord): Promise<ProcessedRecord> {
    let target: Target;
    let body: Buffer | undefined;
    try {
      target = cfg.fixedUrl ?? evaluateUrl(cfg.urlTemplate.execute(r));
      const text = cfg.bodyTemplate?.execute(r) ?? '';
      body = text === '' ? undefined : Buffer.from(text, 'utf8');
    } catch (e) {
      return failure(cfg, `cannot build the HTTP request: ${message(e)}`, e);
    }
    const what = `${cfg.method} ${target.shown}`;
    const headers =
      target.authorization === undefined || hasHeader(cfg.headers, 'authorization')
        ? cfg.headers
        : { ...cfg.headers, Authorization: target.authorization };

    for (let attempt = 0; ; attempt++) {
      let outcome: HttpResponse | AttemptError;
      try {
        outcome = await this.attempt(cfg, target.url, headers, body);
      } catch (e) {
        outcome = e instanceof AttemptError ? e : new AttemptError(message(e), false);
      }
      let err: AttemptError;
      if (outcome instanceof AttemptError) {
        err = outcome;
      } else if (outcome.status < 500) {
        try {
          cfg.bodyRef.set(r, cfg.bodyRef.target === 'metadataField' ? outcome.body.toString('utf8') : outcome.body);
          cfg.statusRef?.set(r, String(outcome.status));
        } catch (e) {
          return failure(cfg, `${what}: cannot store the response: ${message(e)}`, e);
        }
        return r;
      } else {
        err = new AttemptError(`status ${outcome.status}${statusText(outcome)} (body: ${preview(outcome.body)})`, true);
      }
      const tries = attempt === 0 ? '' : ` after ${attempt + 1} attempts`;
      if (this.stop.signal.aborted) return failure(cfg, `${what}: ${err.message}; the pipeline is stopping`, err);
      if (!err.retry || attempt >= cfg.retries) return failure(cfg, `${what}: ${err.message}${tries}`, err);
      const waitMs = backoffDelay(attempt, cfg.backoff);
      this.logger?.debug('retrying HTTP request', {
        url: target.shown,
        attempt: attempt + 1,
        'backoffRetry.count': cfg.retries,
        'backoffRetry.duration': waitMs,
        error: err.message,
      });
      await delay(waitMs, this.stop.signal);
      if (this.stop.signal.aborted) return failure(cfg, `${what}: ${err.message}; the pipeline is stopping`, err);
    }
  }

  /** One request, bounded by the timeout and the stop signal. */
  private async attempt(
    cfg: WebhookSettings,
    url: URL,
    headers: Readonly<Record<string, string>>,
    body: Buffer | undefined,
  ): Promise<HttpResponse> {
    const stop = this.stop.signal;
    if (stop.aborted) throw new AttemptError('the pipeline is stopping', false);
    const ac = new AbortController();
    const onStop = () => ac.abort();
    stop.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    const timer =
      cfg.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            ac.abort();
          }, cfg.timeoutMs)
        : undefined;
    try {
      return await send(cfg.method, url, headers, body, ac.signal);
    } catch (e) {
      if (stop.aborted) throw new AttemptError('the request was abandoned: the pipeline is stopping', false);
      if (timedOut) {
        throw new AttemptError(
          `no response within ${cfg.timeoutMs} ms (request.timeout); a slow server may need a larger value`,
          true,
        );
      }
      throw new AttemptError(networkMessage(e), true);
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
  }
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

function readSettings(config: Config, ctx: ProcessorContext): WebhookSettings {
  const id = ctx.processorId;
  const method = config.string('request.method') || 'GET';
  if (!new RegExp(TOKEN).test(method)) {
    throw paramError(
      id,
      'request.method',
      `${JSON.stringify(method)} is not a valid HTTP method`,
      'use GET, POST, PUT, PATCH or DELETE',
    );
  }
  // fetch refuses these (Go would send them); no webhook needs them.
  if (['CONNECT', 'TRACE', 'TRACK'].includes(method.toUpperCase())) {
    throw paramError(id, 'request.method', `${method} requests cannot be sent`, 'use GET, POST, PUT, PATCH or DELETE');
  }

  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.settings)) {
    if (!key.startsWith('headers.')) continue;
    const name = key.slice('headers.'.length);
    if (!new RegExp(TOKEN).test(name)) {
      throw paramError(id, key, `${JSON.stringify(name)} is not a valid header name`, 'use letters, digits and -');
    }
    if (/[\r\n\0]/.test(value)) throw paramError(id, key, 'a header value cannot hold line breaks or NUL');
    headers[name] = value;
  }
  const contentType = config.string('request.contentType');
  if (hasHeader(headers, 'content-type')) {
    if (contentType !== '') {
      throw paramError(
        id,
        'request.contentType',
        'cannot be used together with headers.Content-Type',
        'remove request.contentType (deprecated) and keep headers.Content-Type',
      );
    }
  } else {
    headers['Content-Type'] = contentType === '' ? 'application/json' : contentType;
  }

  const bodyRef = parseResponseRef(id, 'response.body', config.string('response.body') || '.Payload.After');
  const statusRef = config.has('response.status')
    ? parseResponseRef(id, 'response.status', config.string('response.status'))
    : undefined;
  if (statusRef !== undefined && sameField(bodyRef, statusRef)) {
    throw paramError(
      id,
      'response.status',
      `response.body and response.status name the same field (${statusRef.text})`,
      'store the status elsewhere, e.g. .Metadata["http_status"]',
    );
  }

  const urlTemplate = template(id, 'request.url', config.string('request.url'));
  let fixedUrl: Target | undefined;
  if (urlTemplate.isConstant) {
    try {
      fixedUrl = target(new URL(urlTemplate.source));
    } catch (e) {
      throw paramError(id, 'request.url', message(e), 'use an absolute http:// or https:// URL');
    }
  }
  const bodySource = config.string('request.body');

  return {
    processorId: id,
    method,
    headers,
    fixedUrl,
    urlTemplate,
    bodyTemplate: bodySource === '' ? undefined : template(id, 'request.body', bodySource),
    bodyRef,
    statusRef,
    timeoutMs: config.duration('request.timeout'),
    retries: config.float('backoffRetry.count'),
    backoff: {
      minMs: config.duration('backoffRetry.min'),
      maxMs: config.duration('backoffRetry.max'),
      factor: config.float('backoffRetry.factor'),
    },
  };
}

function paramError(processorId: string, key: string, msg: string, suggestion?: string): ConduitError {
  return new ConduitError(Code.ParamValidation, `processor ${processorId}: parameter "${key}": ${msg}`, {
    configPath: `/${key}`,
    ...(suggestion === undefined ? {} : { suggestion }),
  });
}

function template(processorId: string, key: string, source: string): Template {
  try {
    return compileTemplate(source, { name: `${processorId}.${key}` });
  } catch (e) {
    if (!(e instanceof ConduitError)) throw e;
    throw new ConduitError(e.code, `processor ${processorId}: parameter "${key}": ${e.message}`, {
      configPath: `/${key}`,
      line: e.line,
      column: e.column,
      suggestion: e.suggestion,
      cause: e,
    });
  }
}

/** Where the response goes: a field that can take a value (not the record, its position, operation or payload as a whole). */
function parseResponseRef(processorId: string, key: string, text: string): FieldRef {
  let ref: FieldRef;
  try {
    ref = parseFieldRef(text);
  } catch (e) {
    throw paramError(processorId, key, message(e));
  }
  if (!['metadataField', 'key', 'payloadBefore', 'payloadAfter', 'dataField'].includes(ref.target)) {
    throw paramError(
      processorId,
      key,
      `${text} cannot take the response`,
      'use .Payload.After, a field such as .Payload.After.response, or .Metadata["key"]',
    );
  }
  return ref;
}

function sameField(a: FieldRef, b: FieldRef): boolean {
  return a.target === b.target && a.fields.length === b.fields.length && a.fields.every((f, i) => f === b.fields[i]);
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

/** A URL produced by the template, with its query encoded as Go's url.Values.Encode does (sorted keys). */
function evaluateUrl(text: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`the URL template produced ${JSON.stringify(redactUrl(text))}, which is not an absolute URL`);
  }
  if (url.search !== '') url.search = encodeQuery(new URLSearchParams(url.search));
  return target(url);
}

function target(url: URL): Target {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${showUrl(url)}: only http and https URLs are supported`);
  }
  if (url.username === '' && url.password === '') return { url, authorization: undefined, shown: showUrl(url) };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const clean = new URL(url.href);
  clean.username = '';
  clean.password = '';
  return {
    url: clean,
    authorization: `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`,
    shown: showUrl(clean),
  };
}

const SECRET_QUERY = /(pass|secret|token|key|auth|sig|credential|session)/i;

/** The URL for errors and logs: no user or password, and query values with secret-looking names masked. */
export function showUrl(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  if (u.search !== '') {
    const params = new URLSearchParams(u.search);
    let masked = false;
    for (const name of new Set(params.keys())) {
      if (SECRET_QUERY.test(name)) {
        params.set(name, '***');
        masked = true;
      }
    }
    if (masked) u.search = params.toString().replace(/%2A/g, '*');
  }
  return u.href;
}

/** Go's url.Values.Encode: keys sorted, values in order, QueryEscape (space as +, only A-Z a-z 0-9 - _ . ~ kept). */
function encodeQuery(params: URLSearchParams): string {
  const byKey = new Map<string, string[]>();
  for (const [k, v] of params) {
    const list = byKey.get(k);
    if (list === undefined) byKey.set(k, [v]);
    else list.push(v);
  }
  const parts: string[] = [];
  for (const k of [...byKey.keys()].sort(compareGo)) {
    for (const v of byKey.get(k) ?? []) parts.push(`${queryEscape(k)}=${queryEscape(v)}`);
  }
  return parts.join('&');
}

function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------

/**
 * One HTTP exchange. fetch refuses a body on GET and HEAD, which Conduit sends
 * (its documented example posts the payload with the default GET): those go
 * through node:http, without following redirects.
 */
async function send(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: Buffer | undefined,
  signal: AbortSignal,
): Promise<HttpResponse> {
  const upper = method.toUpperCase();
  if (body !== undefined && (upper === 'GET' || upper === 'HEAD'))
    return sendWithBody(method, url, headers, body, signal);
  const res = await fetch(url, { method, headers, body, signal, redirect: 'follow' });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, statusText: res.statusText, body: bytes };
}

function sendWithBody(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  signal: AbortSignal,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      req.destroy();
      settle(() => reject(new Error('aborted')));
    };
    const request = url.protocol === 'https:' ? https.request : http.request;
    const req = request(url, { method, headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        settle(() =>
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks) }),
        ),
      );
      res.on('error', (e) => settle(() => reject(e)));
    });
    req.on('error', (e) => settle(() => reject(e)));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else req.end(body);
  });
}

// ---------------------------------------------------------------------------
// Retries and errors
// ---------------------------------------------------------------------------

function failure(cfg: WebhookSettings, msg: string, cause: unknown): RecordError {
  return new RecordError(
    new ConduitError(Code.ProcessorFailed, `processor ${cfg.processorId} (${NAME}) failed: ${msg}`, { cause }),
  );
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** fetch says "fetch failed" and puts the reason (ECONNREFUSED …) in the cause. */
function networkMessage(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  const detail = cause instanceof Error ? cause.message : undefined;
  return `request failed: ${message(e)}${detail === undefined || detail === message(e) ? '' : ` (${detail})`}`;
}

function statusText(res: HttpResponse): string {
  return res.statusText === '' ? '' : ` ${res.statusText}`;
}

function preview(body: Buffer): string {
  const text = body.toString('utf8');
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
