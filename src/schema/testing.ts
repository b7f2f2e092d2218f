/**
 * A local fake of the Confluent Schema Registry for tests, following its
 * documented REST API (v1) for what the client uses: registering and looking
 * up schemas under subjects, schemas by ID, listing versions and per-subject
 * compatibility, basic or bearer auth, `{"error_code","message"}` errors.
 *
 * One simplification: compatibility. When a subject's level is not NONE (the
 * default level is BACKWARD, as in Confluent's), a new schema must be able to
 * read the latest one's data in a simplified sense: both are records and every
 * field of the new one is in the old one with the same type, or has a default.
 * Anything else fails with 409, as an incompatible change would. Tests use it
 * to see that `autoRegister` turns the checks off for the subjects it creates.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../log/logger.js';
import { parseConfig } from '../sdk/params.js';
import type { Processor, ProcessorContext, ProcessorPlugin } from '../sdk/processor.js';
import { AvroSchemaError, parseSchema } from './avro.js';
import type { SchemaRegistry } from './registry.js';

/** Validates the settings against the plugin's spec, then configures a processor whose context holds the registry. */
export async function configuredWith(
  registry: SchemaRegistry | undefined,
  plugin: ProcessorPlugin,
  settings: Record<string, string>,
): Promise<Processor> {
  const p = plugin.create();
  const ctx: ProcessorContext & { schemaRegistry?: SchemaRegistry } = {
    processorId: 'p:proc',
    pipelineId: 'p',
    logger: silentLogger,
    ...(registry === undefined ? {} : { schemaRegistry: registry }),
  };
  await p.configure(parseConfig(plugin.params, settings), ctx);
  return p;
}

export interface FakeRegistryOptions {
  readonly auth?: { readonly username: string; readonly password: string } | { readonly token: string };
}

interface Entry {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
}

export class FakeConfluentRegistry {
  readonly requests: string[] = [];
  private server: Server | undefined;
  private readonly schemas = new Map<number, string>();
  private readonly byNormalized = new Map<string, number>();
  private readonly subjects = new Map<string, Entry[]>();
  private readonly compatibility = new Map<string, string>();
  /** Statuses to answer the next requests with, one each, before serving normally. */
  readonly failNext: number[] = [];

  constructor(private readonly opts: FakeRegistryOptions = {}) {}

  /** Starts on a free port of 127.0.0.1; resolves to the base URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    if (addr === undefined || addr === null) throw new Error('the fake registry is not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** Registers directly (as an operator would, with the registry's own tools). */
  register(subject: string, schema: string): Entry {
    const normalized = parseSchema(schema).normalized;
    let id = this.byNormalized.get(normalized);
    const entries = this.subjects.get(subject) ?? [];
    const same = entries.find((e) => e.id === id);
    if (same !== undefined) return same;
    if (id === undefined) {
      id = this.schemas.size + 1;
      this.schemas.set(id, schema);
      this.byNormalized.set(normalized, id);
    }
    const entry = { subject, version: entries.length + 1, id };
    entries.push(entry);
    this.subjects.set(subject, entries);
    return entry;
  }

  compatibilityOf(subject: string): string | undefined {
    return this.compatibility.get(subject);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push(`${method} ${path}`);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: number, message: string): void => send(status, { error_code: code, message });
    const failing = this.failNext.shift();
    if (failing !== undefined) return error(failing, failing * 100, 'injected failure');
    if (!this.authorized(req.headers.authorization)) return error(401, 401, 'Unauthorized');
    let body: Record<string, unknown> = {};
    if (chunks.length > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return error(400, 400, 'Unexpected character: the body is not JSON');
      }
    }
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const [a, b, c, d] = parts;

    if (method === 'GET' && a === 'schemas' && b === 'ids' && c !== undefined && parts.length === 3) {
      const schema = this.schemas.get(Number(c));
      return schema === undefined ? error(404, 40403, 'Schema not found') : send(200, { schema });
    }
    if (a === 'config' && b !== undefined && parts.length === 2) {
      if (method === 'PUT') {
        const level = body['compatibility'];
        if (typeof level !== 'string') return error(422, 42203, 'Invalid compatibility level');
        this.compatibility.set(b, level);
        return send(200, { compatibility: level });
      }
      if (method === 'GET') return send(200, { compatibilityLevel: this.compatibility.get(b) ?? 'BACKWARD' });
    }
    if (a !== 'subjects' || b === undefined) return error(404, 404, 'HTTP 404 Not Found');
    const entries = this.subjects.get(b);
    if (method === 'GET' && c === 'versions' && d === undefined) {
      return entries === undefined
        ? error(404, 40401, `Subject '${b}' not found.`)
        : send(
            200,
            entries.map((e) => e.version),
          );
    }
    if (method === 'GET' && c === 'versions' && d !== undefined) {
      if (entries === undefined) return error(404, 40401, `Subject '${b}' not found.`);
      const e = d === 'latest' ? entries[entries.length - 1] : entries.find((x) => x.version === Number(d));
      if (e === undefined) return error(404, 40402, `Version ${d} not found.`);
      return send(200, { subject: b, version: e.version, id: e.id, schema: this.schemas.get(e.id) });
    }
    if (method === 'POST' && (c === undefined || (c === 'versions' && d === undefined))) {
      const schema = body['schema'];
      if (typeof schema !== 'string') return error(422, 42201, 'Invalid schema: no schema');
      if (body['schemaType'] !== undefined && body['schemaType'] !== 'AVRO') {
        return error(422, 42201, 'Invalid schema: only AVRO in this fake');
      }
      let normalized: string;
      try {
        normalized = parseSchema(schema).normalized;
      } catch (e) {
        if (e instanceof AvroSchemaError) return error(422, 42201, `Invalid schema ${e.message}`);
        throw e;
      }
      const id = this.byNormalized.get(normalized);
      const existing = entries?.find((e) => e.id === id);
      if (c === undefined) {
        // Look up: is the schema registered under the subject?
        if (entries === undefined) return error(404, 40401, `Subject '${b}' not found.`);
        if (existing === undefined) return error(404, 40403, 'Schema not found');
        return send(200, {
          subject: b,
          version: existing.version,
          id: existing.id,
          schema: this.schemas.get(existing.id),
        });
      }
      const latest = entries?.[entries.length - 1];
      if (existing === undefined && latest !== undefined) {
        const old = this.schemas.get(latest.id) ?? '';
        if ((this.compatibility.get(b) ?? 'BACKWARD') !== 'NONE' && !canRead(schema, old)) {
          return error(409, 409, 'Schema being registered is incompatible with an earlier schema for subject');
        }
      }
      return send(200, { id: this.register(b, schema).id });
    }
    return error(405, 405, 'HTTP 405 Method Not Allowed');
  }

  private authorized(header: string | undefined): boolean {
    const auth = this.opts.auth;
    if (auth === undefined) return true;
    if ('token' in auth) return header === `Bearer ${auth.token}`;
    return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }
}

/** The simplified BACKWARD rule: records, each new field in the old one with the same type or with a default. */
function canRead(next: string, old: string): boolean {
  type Rec = { type?: unknown; fields?: Array<{ name: string; type: unknown; default?: unknown }> };
  const n = JSON.parse(next) as Rec;
  const o = JSON.parse(old) as Rec;
  if (n.type !== 'record' || o.type !== 'record' || n.fields === undefined || o.fields === undefined) return false;
  const oldFields = new Map(o.fields.map((f) => [f.name, JSON.stringify(f.type)]));
  return n.fields.every((f) => 'default' in f || oldFields.get(f.name) === JSON.stringify(f.type));
}
