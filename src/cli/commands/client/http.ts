/**
 * The client side of the HTTP API: finds the server (`api.http.address` from
 * the flag, CONDUIT_API_HTTP_ADDRESS or conduit.yaml, as `conduit run` reads
 * it), sends the bearer token (CONDUIT_API_HTTP_AUTH_TOKEN or
 * `--api.http.auth.token-file`), and turns a google.rpc.Status answer back
 * into the ConduitErrors the server raised, so an error exits with the same
 * code as it would locally.
 */
import { apiSettings } from '../../../api/settings.js';
import { resolveEngineConfig } from '../../../config/engine-config.js';
import { Code, codeInfo, exitCodeFor, ExitCode } from '../../../errors/codes.js';
import { ConduitError, ValidationErrors, toConduitError } from '../../../errors/conduit-error.js';

/** The client's own codes (registered in errors/codes.ts). */
export const ClientCode = {
  Unreachable: Code.ApiUnreachable,
  BadAnswer: Code.ApiBadAnswer,
} as const;

/** The flags every client command takes (besides the global ones). */
export const CLIENT_FLAGS = ['api.http.address', 'api.http.auth.token-file', 'config.path'] as const;

/** How long a request may take: start and stop answer within 30 s on the server. */
const REQUEST_TIMEOUT_MS = 45_000;

/** An error the server answered with: the HTTP status decides the exit code of a code this client does not know. */
export class ApiError extends ConduitError {
  constructor(
    code: string,
    message: string,
    readonly httpStatus: number,
    opts: { suggestion?: string; configPath?: string } = {},
  ) {
    super(code, message, opts);
    this.name = 'ApiError';
  }
}

/** The exit code of one error: the registered code's, else by HTTP status. */
export function exitOf(e: ConduitError): number {
  if (codeInfo(e.code).description !== '') return exitCodeFor(e.code);
  if (e instanceof ApiError) {
    if (e.httpStatus === 502 || e.httpStatus === 503 || e.httpStatus === 504) return ExitCode.Environment;
    if (e.httpStatus >= 400 && e.httpStatus < 500) return ExitCode.InvalidInput;
  }
  return exitCodeFor(e.code);
}

/** The exit code of a failure, the worst of its problems (input > environment > internal). */
export function exitOfFailure(err: unknown): number {
  const e = toConduitError(err);
  const many = (e as Partial<ValidationErrors>).errors;
  const list = Array.isArray(many) ? many : [e];
  const codes = list.map(exitOf);
  if (codes.includes(ExitCode.InvalidInput)) return ExitCode.InvalidInput;
  if (codes.includes(ExitCode.Environment)) return ExitCode.Environment;
  return ExitCode.Internal;
}

export interface ClientOptions {
  /** `http://host:port` */
  readonly baseUrl: string;
  readonly token: string | undefined;
}

/** Where the server is and the token, resolved like `conduit run` resolves them. */
export function clientOptions(
  flags: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): ClientOptions {
  const settingFlags: Record<string, string> = {};
  for (const k of CLIENT_FLAGS) if (flags[k] !== undefined) settingFlags[k] = flags[k];
  const address = settingFlags['api.http.address'];
  // A URL is accepted too (http://host:port); the engine setting itself is host:port.
  if (address !== undefined && /^https?:\/\//.test(address)) {
    const url = new URL(address);
    settingFlags['api.http.address'] = `${url.hostname}:${url.port === '' ? '80' : url.port}`;
  }
  const cfg = resolveEngineConfig(settingFlags, env);
  const s = apiSettings(cfg.settings);
  let host = s.host ?? '127.0.0.1';
  // The address the server binds (every interface) is dialled on loopback.
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return { baseUrl: `http://${host}:${s.port}`, token: s.token };
}

export class ApiClient {
  constructor(readonly opts: ClientOptions) {}

  /** The address for messages: host:port. */
  get address(): string {
    return this.opts.baseUrl.replace(/^http:\/\//, '');
  }

  async get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.request<T>('GET', path, query, undefined);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, {}, body);
  }

  private async request<T>(
    method: string,
    path: string,
    query: Record<string, string | undefined>,
    body: unknown,
  ): Promise<T> {
    const url = new URL(path, this.opts.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token !== undefined) headers['authorization'] = `Bearer ${this.opts.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ConduitError(
        ClientCode.BadAnswer,
        `${this.address} answered ${method} ${path} with something that is not JSON (HTTP ${res.status})`,
        {
          suggestion: `check that --api.http.address points at the HTTP API of "conduit run"`,
        },
      );
    }
    if (res.ok) return json as T;
    throw this.apiError(res.status, json);
  }

  private unreachable(err: unknown): ConduitError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const timeout = (err as { name?: string }).name === 'TimeoutError';
    const why = timeout
      ? `did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`
      : (cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
    return new ConduitError(ClientCode.Unreachable, `cannot reach the Conduit API at ${this.address}: ${why}`, {
      suggestion:
        'start the server with "conduit run" (with a token, so the API is served), or point --api.http.address (CONDUIT_API_HTTP_ADDRESS) at it',
      cause: err,
    });
  }

  /** A google.rpc.Status back into errors: one per ErrorInfo, the reason as the code. */
  private apiError(status: number, json: unknown): ConduitError {
    const body = (json ?? {}) as { message?: unknown; details?: unknown };
    const message = typeof body.message === 'string' && body.message !== '' ? body.message : `HTTP ${status}`;
    const infos = (Array.isArray(body.details) ? body.details : []).filter(
      (d): d is { reason: string; metadata?: Record<string, string> } =>
        typeof d === 'object' && d !== null && typeof (d as { reason?: unknown }).reason === 'string',
    );
    const errors = infos.map((d) => {
      const md = d.metadata ?? {};
      let suggestion = md['suggestion'];
      if (d.reason === Code.ApiUnauthenticated) suggestion = this.tokenSuggestion();
      return new ApiError(d.reason, infos.length > 1 ? (md['message'] ?? message) : message, status, {
        ...(suggestion === undefined ? {} : { suggestion }),
        ...(md['configPath'] === undefined ? {} : { configPath: md['configPath'] }),
      });
    });
    if (errors.length === 0) {
      const code = status === 401 ? Code.ApiUnauthenticated : status >= 500 ? Code.Internal : ClientCode.BadAnswer;
      return new ApiError(code, `${this.address}: ${message}`, status, {
        ...(status === 401 ? { suggestion: this.tokenSuggestion() } : {}),
      });
    }
    return errors.length === 1 ? (errors[0] as ApiError) : new ValidationErrors(errors);
  }

  private tokenSuggestion(): string {
    return this.opts.token === undefined
      ? 'no token is set: export CONDUIT_API_HTTP_AUTH_TOKEN or pass --api.http.auth.token-file FILE, with the token the server runs with'
      : 'the server refused the token: use the one "conduit run" was started with (CONDUIT_API_HTTP_AUTH_TOKEN or --api.http.auth.token-file)';
  }
}
