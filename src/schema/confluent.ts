/**
 * A client of the Confluent Schema Registry REST API (v1), for
 * `schema-registry.type: confluent`. It uses the documented endpoints only:
 *
 * - `POST /subjects/{subject}/versions` `{"schema"}` → `{"id"}` (register),
 * - `POST /subjects/{subject}` `{"schema"}` → `{"subject","id","version","schema"}` (look up the version),
 * - `GET /subjects/{subject}/versions/{version}` → `{"subject","id","version","schema","schemaType"?}`,
 * - `GET /schemas/ids/{id}` → `{"schema","schemaType"?}`,
 * - `GET /subjects/{subject}/versions` and `PUT /config/{subject}` `{"compatibility":"NONE"}`
 *   (before the first `autoRegister` registration of a new subject).
 *
 * Errors come back as `{"error_code","message"}`: 40401/40402/40403 are
 * `schema.not_found`, 42201 and 409 `schema.invalid`, 401/403
 * `schema.registry_unauthorized`, 5xx and network failures the retryable
 * `schema.registry_unreachable`. Schemas by ID and by subject/version never
 * change, so they are cached for the life of the client.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { redactUrl, registerSecret } from '../log/redact.js';
import {
  invalidSchema,
  notFound,
  SchemaCode,
  type CreateOptions,
  type SchemaRegistry,
  type SubjectSchema,
} from './registry.js';

export type ConfluentAuth =
  | { readonly type: 'none' }
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string };

export interface ConfluentOptions {
  /** The registry's base URL, e.g. `http://localhost:8081`; user info in it is used as basic auth. */
  readonly url: string;
  readonly auth?: ConfluentAuth;
  /** Per request; 10 s by default. */
  readonly timeoutMs?: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface ErrorBody {
  error_code?: number;
  message?: string;
}

/**
 * @example
 * ```ts
 * const registry = new ConfluentRegistry({ url: 'http://localhost:8081', auth: { type: 'basic', username: 'u', password: 'p' } });
 * const { id } = await registry.create('orders-value', schemaText);
 * ```
 */
export class ConfluentRegistry implements SchemaRegistry {
  private readonly base: string;
  /** The URL for messages: user info masked. */
  readonly where: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly ids = new Map<number, string>();
  private readonly versions = new Map<string, SubjectSchema>();
  private readonly created = new Map<string, SubjectSchema>();
  private readonly prepared = new Set<string>();

  constructor(opts: ConfluentOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new ConduitError(
        SchemaCode.Invalid,
        `the schema registry URL ${JSON.stringify(redactUrl(opts.url))} is not a URL`,
        {
          configPath: '/schema-registry/confluent/connection-string',
          suggestion: 'use an http:// or https:// URL, e.g. http://localhost:8081',
          retryable: false,
        },
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConduitError(
        SchemaCode.Invalid,
        `the schema registry URL must be http:// or https://, not ${url.protocol}`,
        {
          configPath: '/schema-registry/confluent/connection-string',
          suggestion: 'use an http:// or https:// URL, e.g. http://localhost:8081',
          retryable: false,
        },
      );
    }
    let auth = opts.auth ?? { type: 'none' };
    if (url.username !== '' || url.password !== '') {
      if (auth.type === 'none') {
        auth = {
          type: 'basic',
          username: decodeURIComponent(url.username),
          password: decodeURIComponent(url.password),
        };
      }
      url.username = '';
      url.password = '';
    }
    this.base = url.toString().replace(/\/+$/, '');
    this.where = this.base;
    this.headers = { accept: CONTENT_TYPE };
    if (auth.type === 'basic') {
      if (auth.password !== '') registerSecret(auth.password);
      const token = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
      registerSecret(token);
      this.headers['authorization'] = `Basic ${token}`;
    } else if (auth.type === 'bearer') {
      registerSecret(auth.token);
      this.headers['authorization'] = `Bearer ${auth.token}`;
    }
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async create(subject: string, schema: string, opts: CreateOptions = {}): Promise<SubjectSchema> {
    const cacheKey = `${subject}\u0000${schema}`;
    const cached = this.created.get(cacheKey);
    if (cached !== undefined) return cached;
    const s = encodeURIComponent(subject);
    if (opts.compatibilityNone === true && !this.prepared.has(subject)) {
      const versions = await this.request('GET', `/subjects/${s}/versions`, undefined, [404]);
      if (versions === undefined) {
        await this.request('PUT', `/config/${s}`, { compatibility: 'NONE' });
      }
      this.prepared.add(subject);
    }
    const registered = (await this.request('POST', `/subjects/${s}/versions`, { schema })) as { id?: unknown };
    const found = (await this.request('POST', `/subjects/${s}`, { schema })) as Record<string, unknown>;
    const id = typeof found['id'] === 'number' ? found['id'] : registered.id;
    const version = found['version'];
    if (typeof id !== 'number' || typeof version !== 'number') {
      throw this.unexpected(`POST /subjects/${s}`, 'no id and version');
    }
    const out: SubjectSchema = { subject, version, id, schema };
    this.created.set(cacheKey, out);
    this.ids.set(id, schema);
    return out;
  }

  async bySubjectVersion(subject: string, version: number): Promise<SubjectSchema> {
    const key = `${subject}\u0000${version}`;
    const cached = this.versions.get(key);
    if (cached !== undefined) return cached;
    const path = `/subjects/${encodeURIComponent(subject)}/versions/${version}`;
    const body = (await this.request('GET', path)) as Record<string, unknown>;
    const schema = this.avroText(body, path);
    const id = body['id'];
    if (typeof id !== 'number') throw this.unexpected(`GET ${path}`, 'no id');
    const out: SubjectSchema = { subject, version, id, schema };
    this.versions.set(key, out);
    this.ids.set(id, schema);
    return out;
  }

  async byId(id: number): Promise<string> {
    const cached = this.ids.get(id);
    if (cached !== undefined) return cached;
    const path = `/schemas/ids/${id}`;
    const schema = this.avroText((await this.request('GET', path)) as Record<string, unknown>, path);
    this.ids.set(id, schema);
    return schema;
  }

  private avroText(body: Record<string, unknown>, path: string): string {
    const type = body['schemaType'];
    if (type !== undefined && type !== 'AVRO') {
      throw invalidSchema(`the schema at ${this.where}${path} is ${JSON.stringify(type)}, not Avro`);
    }
    const schema = body['schema'];
    if (typeof schema !== 'string') throw this.unexpected(`GET ${path}`, 'no schema');
    return schema;
  }

  /**
   * One request. Resolves to the parsed JSON body, or undefined for a status in `absent`.
   * Nothing in a message may show the credentials: the URL has none, the headers are not shown.
   */
  private async request(method: string, path: string, body?: unknown, absent: number[] = []): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? this.headers : { ...this.headers, 'content-type': CONTENT_TYPE },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = e as Error & { cause?: { code?: string; message?: string } };
      const why =
        cause.name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
      throw new ConduitError(
        SchemaCode.RegistryUnreachable,
        `schema registry ${this.where} is unreachable (${method} ${path}): ${why}`,
        {
          retryable: true,
          suggestion: 'check schema-registry.confluent.connection-string and that the registry is up',
        },
      );
    }
    const text = await res.text();
    if (absent.includes(res.status)) return undefined;
    if (res.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw this.unexpected(`${method} ${path}`, 'a body that is not JSON');
      }
    }
    let err: ErrorBody = {};
    try {
      err = JSON.parse(text) as ErrorBody;
    } catch {
      // not JSON: the status says enough
    }
    const detail = `${res.status}${err.error_code === undefined ? '' : ` (${err.error_code})`}: ${err.message ?? (text.slice(0, 200) || res.statusText)}`;
    const what = `schema registry ${this.where}: ${method} ${path} failed with ${detail}`;
    if (res.status === 404) throw notFound(what);
    if (res.status === 422 || res.status === 409) throw invalidSchema(what);
    if (res.status === 401 || res.status === 403) {
      throw new ConduitError(SchemaCode.RegistryUnauthorized, what, {
        retryable: false,
        suggestion: 'check schema-registry.confluent.auth.* (the credentials were refused)',
      });
    }
    throw new ConduitError(SchemaCode.RegistryUnreachable, what, {
      retryable: res.status >= 500 || res.status === 429,
    });
  }

  private unexpected(call: string, what: string): ConduitError {
    return new ConduitError(
      SchemaCode.RegistryUnreachable,
      `schema registry ${this.where}: ${call} answered with ${what}`,
      {
        retryable: false,
        suggestion: 'is the connection string the URL of a Confluent-compatible schema registry?',
      },
    );
  }
}
