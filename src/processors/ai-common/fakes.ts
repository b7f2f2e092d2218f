/**
 * Local fakes of the AI vendors' HTTP APIs, for tests: real HTTP servers on
 * 127.0.0.1 that follow each vendor's documented request and response shapes
 * and error bodies.
 *
 * - OpenAI: `POST /v1/embeddings`, `POST /v1/chat/completions`, bearer auth,
 *   errors as `{"error": {"message", "type", "param", "code"}}`.
 * - Cohere (API v2): `POST /v2/chat`, `POST /v2/embed`, `POST /v2/rerank`,
 *   bearer auth, errors as `{"id", "message"}`.
 * - Ollama: `POST /api/generate` (no auth), errors as `{"error": "…"}`.
 *
 * Every fake records the requests it saw, and `failNext` queues faults
 * (a status with the vendor's error body, or a delay) for the next requests.
 * The "models" are deterministic functions of their input, exported so tests
 * can compute what to expect.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A parsed JSON request body: any shape, read freely by the fakes and the tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape
export type JsonBody = any;

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when it was not JSON). */
  readonly body: JsonBody;
}

/** What the next request gets instead of a normal answer. */
export interface Fault {
  /** Answer with this status and the vendor's error body. */
  readonly status?: number;
  /** Wait this long before answering (or before the fault's status). */
  readonly delayMs?: number;
  /** The error message in the vendor's error body. */
  readonly message?: string;
}

export interface FakeServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** The next requests get these faults, one each, in order. */
  failNext(...faults: Fault[]): void;
  close(): Promise<void>;
}

type Reply = { status: number; body: unknown };
type Route = (req: SeenRequest) => Reply;

interface ServeOptions {
  readonly routes: Readonly<Record<string, Route>>;
  /** The bearer token the server accepts; undefined: no auth. */
  readonly apiKey: string | undefined;
  readonly unauthorized: (req: SeenRequest) => Reply;
  readonly errorBody: (status: number, message: string) => unknown;
}

const servers = new Set<FakeServer>();

/** Closes every fake still open (call from an `after` hook). */
export async function closeAllFakes(): Promise<void> {
  await Promise.all([...servers].map((s) => s.close()));
}

async function serve(opts: ServeOptions): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const send = (res: ServerResponse, r: Reply) => {
    if (res.destroyed) return;
    res.writeHead(r.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(r.body));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(seen);
      const fault = faults.shift();
      const answer = (): Reply => {
        if (fault?.status !== undefined) {
          return {
            status: fault.status,
            body: opts.errorBody(fault.status, fault.message ?? defaultMessage(fault.status)),
          };
        }
        if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
          return opts.unauthorized(seen);
        }
        const route = opts.routes[`${seen.method} ${seen.path.split('?')[0]}`];
        if (route === undefined) return { status: 404, body: opts.errorBody(404, `no route for ${seen.path}`) };
        if ((req.headers['content-type'] ?? '').split(';')[0] !== 'application/json' || body === undefined) {
          return { status: 400, body: opts.errorBody(400, 'the body must be JSON (Content-Type: application/json)') };
        }
        return route(seen);
      };
      if (fault?.delayMs !== undefined) {
        const t = setTimeout(() => {
          timers.delete(t);
          send(res, answer());
        }, fault.delayMs);
        timers.add(t);
      } else {
        send(res, answer());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const fake: FakeServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...f) => faults.push(...f),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        servers.delete(fake);
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
  servers.add(fake);
  return fake;
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests';
  if (status >= 500) return 'The server had an error while processing your request';
  return 'Bad request';
}

// ---------------------------------------------------------------------------
// The deterministic "models"
// ---------------------------------------------------------------------------

/** The fakes' embedding of a text: `dims` numbers derived from its characters. */
export function fakeEmbedding(text: string, dims: number): number[] {
  let h = 7;
  for (const ch of text) h = (h * 31 + (ch.codePointAt(0) ?? 0)) % 1_000_003;
  const out: number[] = [];
  for (let i = 0; i < dims; i++) out.push((((h + i * 7919) % 2001) - 1000) / 1000);
  return out;
}

/** The fakes' relevance of a document to a query: the share of the query's words found in it. */
export function fakeRelevance(query: string, doc: string): number {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) return 0;
  const text = doc.toLowerCase();
  return Math.round((words.filter((w) => text.includes(w)).length / words.length) * 1000) / 1000;
}

// ---------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------

export interface OpenAiFakeOptions {
  readonly apiKey?: string;
  /** The assistant's answer to a chat (default: the last user message in upper case). */
  readonly chat?: (messages: Array<{ role: string; content: string }>, body: JsonBody) => string;
  /** The embedding size when the request gives no `dimensions` (default 3). */
  readonly dims?: number;
}

function openAiError(status: number, message: string, code: string | null = null): unknown {
  const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code } };
}

export function startOpenAiFake(opts: OpenAiFakeOptions = {}): Promise<FakeServer> {
  const apiKey = opts.apiKey ?? 'sk-test-key-0123456789';
  // OpenAI echoes a wrong key partly masked.
  const masked = (req: SeenRequest) => {
    const k = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    return `${k.slice(0, 3)}****${k.slice(-4)}`;
  };
  return serve({
    apiKey,
    errorBody: (s, m) => openAiError(s, m),
    unauthorized: (req) => ({
      status: 401,
      body: openAiError(
        401,
        `Incorrect API key provided: ${masked(req)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_api_key',
      ),
    }),
    routes: {
      'POST /v1/embeddings': (req) => {
        const b = req.body;
        if (typeof b.model !== 'string' || b.model === '') return bad('you must provide a model parameter');
        const inputs: unknown[] = typeof b.input === 'string' ? [b.input] : Array.isArray(b.input) ? b.input : [];
        if (inputs.length === 0 || inputs.length > 2048 || inputs.some((t) => typeof t !== 'string' || t === '')) {
          return bad(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
          );
        }
        if (b.encoding_format !== undefined && b.encoding_format !== 'float' && b.encoding_format !== 'base64') {
          return bad(`'${b.encoding_format}' is not one of ['float', 'base64'] - 'encoding_format'`);
        }
        const dims = typeof b.dimensions === 'number' ? b.dimensions : (opts.dims ?? 3);
        return {
          status: 200,
          body: {
            object: 'list',
            data: (inputs as string[]).map((text, index) => {
              const v = fakeEmbedding(text, dims);
              return {
                object: 'embedding',
                index,
                embedding:
                  b.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
              };
            }),
            model: b.model,
            usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
          },
        };
      },
      'POST /v1/chat/completions': (req) => {
        const b = req.body;
        if (typeof b.model !== 'string' || b.model === '') return bad('you must provide a model parameter');
        if (!Array.isArray(b.messages) || b.messages.length === 0)
          return bad("'messages' must contain at least 1 item");
        for (const m of b.messages) {
          if (!['developer', 'system', 'user', 'assistant', 'tool'].includes(m?.role)) {
            return bad(
              `Invalid value: '${m?.role}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'developer'.`,
            );
          }
        }
        if (b.temperature !== undefined && (b.temperature < 0 || b.temperature > 2)) {
          return bad(
            `Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got ${b.temperature} instead.`,
          );
        }
        const answer =
          opts.chat?.(b.messages, b) ??
          String(
            [...b.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '',
          ).toUpperCase();
        const n = typeof b.n === 'number' && b.n > 0 ? b.n : 1;
        return {
          status: 200,
          body: {
            id: 'chatcmpl-fake',
            object: 'chat.completion',
            created: 1_700_000_000,
            model: b.model,
            choices: Array.from({ length: n }, (_, index) => ({
              index,
              message: { role: 'assistant', content: answer, refusal: null },
              logprobs: null,
              finish_reason: 'stop',
            })),
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          },
        };
      },
    },
  });

  function bad(message: string): Reply {
    return { status: 400, body: openAiError(400, message) };
  }
}

// ---------------------------------------------------------------------------
// Cohere (v2)
// ---------------------------------------------------------------------------

export interface CohereFakeOptions {
  readonly apiKey?: string;
  /** The reply to a chat (default: `cohere: ` and the user message). */
  readonly chat?: (text: string, body: JsonBody) => string;
  /** The embedding size (default 3). */
  readonly dims?: number;
  /** Leave `document` out of rerank results, as API v2 does when not asked. */
  readonly rerankWithoutDocuments?: boolean;
}

function cohereError(message: string): unknown {
  return { id: 'fake-error-id', message };
}

const COHERE_INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering', 'image'];

export function startCohereFake(opts: CohereFakeOptions = {}): Promise<FakeServer> {
  const bad = (message: string): Reply => ({ status: 400, body: cohereError(message) });
  return serve({
    apiKey: opts.apiKey ?? 'co-test-key-0123456789',
    errorBody: (_s, m) => cohereError(m),
    unauthorized: () => ({ status: 401, body: cohereError('invalid api token') }),
    routes: {
      'POST /v2/chat': (req) => {
        const b = req.body;
        if (typeof b.model !== 'string' || b.model === '') return bad('invalid request: model is required');
        if (!Array.isArray(b.messages) || b.messages.length === 0)
          return bad('invalid request: messages cannot be empty');
        const user = b.messages.find((m: { role?: string }) => m.role === 'user');
        const text = typeof user?.content === 'string' ? user.content : '';
        return {
          status: 200,
          body: {
            id: 'fake-chat-id',
            finish_reason: 'COMPLETE',
            message: {
              role: 'assistant',
              content: [{ type: 'text', text: opts.chat?.(text, b) ?? `cohere: ${text}` }],
            },
            usage: {
              billed_units: { input_tokens: 1, output_tokens: 1 },
              tokens: { input_tokens: 1, output_tokens: 1 },
            },
          },
        };
      },
      'POST /v2/embed': (req) => {
        const b = req.body;
        if (typeof b.model !== 'string' || b.model === '') return bad('invalid request: model is required');
        if (!Array.isArray(b.texts) || b.texts.length === 0) return bad('invalid request: texts cannot be empty');
        if (b.texts.length > 96) {
          return bad(`invalid request: texts must be an array of max 96 strings, received ${b.texts.length}`);
        }
        if (!String(b.model).includes('v2') && b.input_type === undefined) {
          return bad('invalid request: valid input_type must be provided with the provided model');
        }
        if (b.input_type !== undefined && !COHERE_INPUT_TYPES.includes(b.input_type)) {
          return bad(`invalid request: input_type must be one of ${COHERE_INPUT_TYPES.join(', ')}`);
        }
        const types: string[] = Array.isArray(b.embedding_types) ? b.embedding_types : ['float'];
        const dims = opts.dims ?? 3;
        const embeddings: Record<string, number[][]> = {};
        for (const t of types) embeddings[t] = (b.texts as string[]).map((x) => fakeEmbedding(x, dims));
        return {
          status: 200,
          body: {
            id: 'fake-embed-id',
            embeddings,
            texts: b.texts,
            meta: { api_version: { version: '2' }, billed_units: { input_tokens: b.texts.length } },
            response_type: 'embeddings_by_type',
          },
        };
      },
      'POST /v2/rerank': (req) => {
        const b = req.body;
        if (typeof b.model !== 'string' || b.model === '') return bad('invalid request: model is required');
        if (typeof b.query !== 'string' || b.query === '') return bad('invalid request: query cannot be empty');
        if (!Array.isArray(b.documents) || b.documents.length === 0) {
          return bad('invalid request: documents cannot be empty');
        }
        if (b.documents.length > 1000) return bad('invalid request: too many documents, the maximum is 1000');
        const docs = b.documents as string[];
        const results = docs
          .map((text, index) => ({
            index,
            relevance_score: fakeRelevance(b.query, text),
            ...(b.return_documents === true && opts.rerankWithoutDocuments !== true ? { document: { text } } : {}),
          }))
          .sort((x, y) => y.relevance_score - x.relevance_score || x.index - y.index)
          .slice(0, typeof b.top_n === 'number' ? b.top_n : docs.length);
        return {
          status: 200,
          body: {
            id: 'fake-rerank-id',
            results,
            meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } },
          },
        };
      },
    },
  });
}

// ---------------------------------------------------------------------------
// Ollama
// ---------------------------------------------------------------------------

export interface OllamaFakeOptions {
  /** The models the server has pulled (default: llama3.2). */
  readonly models?: readonly string[];
  /** The model's text answer to a prompt (default: the record in the prompt with `"processed": true`). */
  readonly generate?: (prompt: string, body: JsonBody) => string;
  /** Answer `done: false` (an unfinished generation). */
  readonly notDone?: boolean;
}

/** The record JSON inside a prompt the `ollama` processor built. */
export function recordInPrompt(prompt: string): string {
  const m = /\n Record: \{(.*)\} \n Suffix \{/s.exec(prompt);
  return m?.[1] ?? '';
}

export function startOllamaFake(opts: OllamaFakeOptions = {}): Promise<FakeServer> {
  const models = opts.models ?? ['llama3.2'];
  return serve({
    apiKey: undefined,
    errorBody: (_s, m) => ({ error: m }),
    unauthorized: () => ({ status: 401, body: { error: 'unauthorized' } }),
    routes: {
      'POST /api/generate': (req) => {
        const b = req.body;
        const model = String(b.model ?? '');
        if (!models.some((m) => m === model || `${m}:latest` === model)) {
          return { status: 404, body: { error: `model "${model}" not found, try pulling it first` } };
        }
        if (b.stream !== false) {
          return { status: 400, body: { error: 'this fake answers only non-streaming requests ("stream": false)' } };
        }
        const prompt = String(b.prompt ?? '');
        const response =
          opts.generate?.(prompt, b) ??
          JSON.stringify({ ...JSON.parse(recordInPrompt(prompt) || '{}'), processed: true });
        return {
          status: 200,
          body: {
            model,
            created_at: '2025-04-09T04:18:57.239864Z',
            response,
            done: opts.notDone !== true,
            done_reason: 'stop',
            context: [1, 2, 3],
            total_duration: 1000,
            load_duration: 10,
            prompt_eval_count: 1,
            prompt_eval_duration: 10,
            eval_count: 1,
            eval_duration: 10,
          },
        };
      },
    },
  });
}
