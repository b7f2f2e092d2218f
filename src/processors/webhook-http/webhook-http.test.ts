/**
 * webhook.http against a real HTTP server started by each test on a free
 * port: Conduit's documented examples and its unit-test cases (bodies,
 * statuses, URL templates, retries), headers, credentials, timeouts, and a
 * teardown that is not held by a slow server.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { runChain } from '../../engine/processor-chain.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { createLogger, silentLogger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig, redactSettings } from '../../sdk/params.js';
import { MultiRecord, RecordError, type ProcessedRecord, type Processor } from '../../sdk/processor.js';
import { waitFor } from '../../sdk/testing.js';
import { backoffDelay } from '../util.js';
import { showUrl, webhookHttpPlugin } from './index.js';

const ID = 'p:hook';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Handler = (req: Seen, res: ServerResponse, n: number) => void;

interface TestServer {
  readonly url: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A real HTTP server on a free port; the handler sees each request with its whole body. */
async function serve(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      handler(s, res, seen.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const s: TestServer = {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
  servers.push(s);
  return s;
}

/** Conduit's example server: greets the path, or the body at `/`. */
function greeter(): Promise<TestServer> {
  return serve((req, res) => {
    res.end(req.url !== '/' ? `hello, ${req.url.slice(1)}!` : `hello, ${req.body}`);
  });
}

function reply(status: number, body = 'foo-bar/response'): Handler {
  return (_, res) => {
    res.writeHead(status);
    res.end(body);
  };
}

async function configured(settings: Record<string, string>, logger = silentLogger): Promise<Processor> {
  const p = webhookHttpPlugin.create();
  await p.configure(parseConfig(webhookHttpPlugin.params, settings), {
    processorId: ID,
    pipelineId: 'p',
    logger,
  });
  return p;
}

async function processOne(settings: Record<string, string>, record: OpenCDCRecord): Promise<ProcessedRecord> {
  const p = await configured(settings);
  try {
    const out = await p.process([record]);
    assert.equal(out.length, 1, 'one result per record');
    return out[0] as ProcessedRecord;
  } finally {
    await p.teardown?.();
  }
}

function rec(over: Partial<OpenCDCRecord> = {}): OpenCDCRecord {
  return {
    position: Buffer.alloc(0),
    operation: 'create',
    metadata: {},
    key: null,
    payload: { before: null, after: null },
    ...over,
  };
}

function asRecord(r: ProcessedRecord): OpenCDCRecord {
  assert.ok(
    typeof r === 'object' && !(r instanceof RecordError) && 'position' in r,
    `a record, got ${describeResult(r)}`,
  );
  return r;
}

function asError(r: ProcessedRecord): ConduitError {
  assert.ok(r instanceof RecordError, 'a record error');
  assert.ok(r.error instanceof ConduitError);
  return r.error;
}

function describeResult(r: ProcessedRecord): string {
  if (r instanceof RecordError) return `error: ${r.error.message}`;
  return typeof r === 'symbol' ? r.toString() : r instanceof MultiRecord ? 'a MultiRecord' : 'a record';
}

const FAST_RETRY = { 'backoffRetry.min': '5ms', 'backoffRetry.max': '10ms', 'backoffRetry.factor': '1.2' };

describe('webhook.http: Conduit examples', () => {
  it('sends .Payload.After as the body, stores the reply in .Payload.After and the status in metadata', async () => {
    const srv = await greeter();
    const r = asRecord(
      await processOne(
        {
          'request.url': srv.url,
          'request.body': '{{ printf "%s" .Payload.After }}',
          'response.status': '.Metadata["http_status"]',
          'headers.content-type': 'application/json',
        },
        rec({
          operation: 'update',
          position: Buffer.from('pos-1'),
          payload: { before: null, after: Buffer.from('world') },
        }),
      ),
    );
    assert.deepEqual(r, {
      position: Buffer.from('pos-1'),
      operation: 'update',
      metadata: { http_status: '200' },
      key: null,
      payload: { before: null, after: Buffer.from('hello, world') },
    });
    // The default method GET, with the body: Conduit sends it, so do we.
    assert.equal(srv.seen[0]?.method, 'GET');
    assert.equal(srv.seen[0]?.body, 'world');
    assert.equal(srv.seen[0]?.headers['content-type'], 'application/json');
  });

  it('uses .Payload.After.name in the URL path and stores the reply under .Payload.After.response', async () => {
    const srv = await greeter();
    const r = asRecord(
      await processOne(
        { 'request.url': `${srv.url}/{{.Payload.After.name}}`, 'response.body': '.Payload.After.response' },
        rec({ position: Buffer.from('pos-1'), payload: { before: null, after: { name: 'foo' } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { name: 'foo', response: Buffer.from('hello, foo!') });
    assert.equal(srv.seen[0]?.url, '/foo');
    assert.equal(srv.seen[0]?.body, '');
  });
});

describe('webhook.http: requests and responses (Conduit test cases)', () => {
  const cases: Array<{
    name: string;
    settings: Record<string, string>;
    status: number;
    record: OpenCDCRecord;
    wantMethod: string;
    wantBody: string;
    want: OpenCDCRecord['payload'];
  }> = [
    {
      name: 'structured data, the whole record as JSON with POST',
      settings: { 'request.method': 'POST', 'request.body': '{{ toJson . }}' },
      status: 200,
      record: rec({ payload: { before: null, after: { bar: 123, baz: null } } }),
      wantMethod: 'POST',
      wantBody:
        '{"position":"","operation":"create","metadata":{},"key":null,"payload":{"before":null,"after":{"bar":123,"baz":null}}}',
      want: { before: null, after: Buffer.from('foo-bar/response') },
    },
    {
      name: 'raw data, the whole record as JSON with GET',
      settings: { 'request.method': 'GET', 'request.body': '{{ toJson . }}' },
      status: 200,
      record: rec({ operation: 'update', payload: { before: null, after: Buffer.from('random data') } }),
      wantMethod: 'GET',
      wantBody:
        '{"position":"","operation":"update","metadata":{},"key":null,"payload":{"before":null,"after":"cmFuZG9tIGRhdGE="}}',
      want: { before: null, after: Buffer.from('foo-bar/response') },
    },
    {
      name: 'custom fields for the response body and status; a 404 is stored, not failed',
      settings: {
        'response.body': '.Payload.After.body',
        'response.status': '.Payload.After.status',
        'request.method': 'POST',
        'request.body': '{{ toJson . }}',
      },
      status: 404,
      record: rec({ operation: 'snapshot', payload: { before: null, after: { 'a key': 'random data' } } }),
      wantMethod: 'POST',
      wantBody:
        '{"position":"","operation":"snapshot","metadata":{},"key":null,"payload":{"before":null,"after":{"a key":"random data"}}}',
      want: {
        before: null,
        after: { 'a key': 'random data', body: Buffer.from('foo-bar/response'), status: '404' },
      },
    },
    {
      name: 'a raw .Payload.Before as the body',
      settings: {
        'request.body': '{{ printf "%s" .Payload.Before }}',
        'response.body': '.Payload.After.httpResponse',
        'request.method': 'POST',
      },
      status: 200,
      record: rec({ payload: { before: Buffer.from('uncooked data'), after: { 'after-key': 'after-data' } } }),
      wantMethod: 'POST',
      wantBody: 'uncooked data',
      want: {
        before: Buffer.from('uncooked data'),
        after: { 'after-key': 'after-data', httpResponse: Buffer.from('foo-bar/response') },
      },
    },
    {
      name: 'a static body',
      settings: { 'request.body': 'foo', 'response.body': '.Payload.After.httpResponse', 'request.method': 'POST' },
      status: 200,
      record: rec({ payload: { before: null, after: { unused: 'data' } } }),
      wantMethod: 'POST',
      wantBody: 'foo',
      want: { before: null, after: { unused: 'data', httpResponse: Buffer.from('foo-bar/response') } },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const srv = await serve(reply(c.status));
      const r = asRecord(await processOne({ ...c.settings, 'request.url': srv.url }, c.record));
      assert.deepEqual(r.payload, c.want);
      assert.equal(srv.seen.length, 1);
      assert.equal(srv.seen[0]?.method, c.wantMethod);
      assert.equal(srv.seen[0]?.body, c.wantBody);
    });
  }

  const urlCases: Array<[string, string, OpenCDCRecord['payload'], string]> = [
    ['a field in the path', '/{{.Payload.After.foo}}', { before: null, after: { foo: 123 } }, '/123'],
    [
      'a key with a hyphen, through index',
      '/{{index .Payload.After "foo-bar"}}',
      { before: null, after: { 'foo-bar': 'baz' } },
      '/baz',
    ],
    [
      'spaces in the path and the query',
      '/{{.Payload.Before.url}}',
      { before: { url: 'what is conduit?id=my id' }, after: null },
      '/what%20is%20conduit?id=my+id',
    ],
    [
      'a query encoded as Go does: sorted keys, values in order',
      '/q?{{.Payload.After.q}}',
      { before: null, after: { q: 'b=2&a=x*y&b=1&c=~' } },
      '/q?a=x%2Ay&b=2&b=1&c=~',
    ],
  ];
  for (const [name, path, payload, want] of urlCases) {
    it(`URL template: ${name}`, async () => {
      const srv = await serve(reply(200));
      asRecord(await processOne({ 'request.url': srv.url + path }, rec({ payload })));
      assert.equal(srv.seen[0]?.url, want);
    });
  }

  it('processes a batch in order, one request per record', async () => {
    const srv = await serve((req, res) => res.end(`got ${req.url}`));
    const p = await configured({ 'request.url': `${srv.url}/{{.Metadata.n}}`, 'response.body': '.Metadata.reply' });
    const out = (await p.process([1, 2, 3].map((n) => rec({ metadata: { n: String(n) } })))).map(asRecord);
    assert.deepEqual(
      out.map((r) => r.metadata['reply']),
      ['got /1', 'got /2', 'got /3'],
    );
    await p.teardown?.();
  });
});

describe('webhook.http: headers and credentials', () => {
  it('sends headers.* and application/json by default', async () => {
    const srv = await serve(reply(200));
    await processOne(
      { 'request.url': srv.url, 'headers.Authorization': 'Bearer key', 'headers.X-Trace': 'abc' },
      rec(),
    );
    const h = srv.seen[0]?.headers;
    assert.equal(h?.['authorization'], 'Bearer key');
    assert.equal(h?.['x-trace'], 'abc');
    assert.equal(h?.['content-type'], 'application/json');
  });

  it('takes the deprecated request.contentType', async () => {
    const srv = await serve(reply(200));
    await processOne({ 'request.url': srv.url, 'request.contentType': 'text/plain' }, rec());
    assert.equal(srv.seen[0]?.headers['content-type'], 'text/plain');
  });

  it('marks headers secret: redacted from settings shown in logs and API answers', () => {
    const shown = redactSettings(webhookHttpPlugin.params, {
      'request.url': 'http://h',
      'headers.Authorization': 'Bearer key',
    });
    assert.deepEqual(shown, { 'request.url': 'http://h', 'headers.Authorization': '***' });
  });

  it('sends credentials in the URL as basic authentication and never shows them in errors', async () => {
    const srv = await serve(reply(503, 'down'));
    const url = srv.url.replace('http://', 'http://alice:s%40cret@') + '/x?token=abc&id=1';
    const err = asError(await processOne({ 'request.url': url }, rec()));
    assert.equal(srv.seen[0]?.headers['authorization'], `Basic ${Buffer.from('alice:s@cret').toString('base64')}`);
    assert.doesNotMatch(err.message, /alice|cret|abc/);
    assert.match(err.message, new RegExp(`GET ${srv.url.replace(/\./g, '\\.')}/x\\?token=\\*\\*\\*&id=1: status 503`));
  });

  it('showUrl drops user and password and masks secret-looking query values', () => {
    assert.equal(
      showUrl(new URL('https://u:p@example.com/a?api_key=k&x=1&sig=s')),
      'https://example.com/a?api_key=***&x=1&sig=***',
    );
    assert.equal(showUrl(new URL('https://example.com/a?x=1')), 'https://example.com/a?x=1');
  });
});

describe('webhook.http: retries and failures', () => {
  it('retries a 500 with backoff until it succeeds', async () => {
    const srv = await serve((req, res, n) => {
      if (n < 5) res.writeHead(500).end();
      else res.end('foo-bar/response');
    });
    const r = asRecord(
      await processOne(
        { 'request.url': srv.url, 'backoffRetry.count': '4', 'request.body': '{{ toJson . }}', ...FAST_RETRY },
        rec({ payload: { before: null, after: Buffer.from('random data') } }),
      ),
    );
    assert.deepEqual(r.payload.after, Buffer.from('foo-bar/response'));
    assert.equal(srv.seen.length, 5);
    assert.ok(srv.seen.every((s) => s.body === srv.seen[0]?.body && s.method === 'GET'));
  });

  it('fails the record when the retries are exhausted, naming the processor, the URL and the status', async () => {
    const srv = await serve(reply(500, 'boom'));
    const err = asError(
      await processOne(
        { 'request.url': `${srv.url}/hook`, 'backoffRetry.count': '5', ...FAST_RETRY },
        rec({ payload: { before: null, after: Buffer.from('something') } }),
      ),
    );
    assert.equal(srv.seen.length, 6, '1 request and 5 retries');
    assert.equal(err.code, 'processor.failed');
    assert.equal(
      err.message,
      `processor p:hook (webhook.http) failed: GET ${srv.url}/hook: status 500 Internal Server Error (body: "boom") after 6 attempts`,
    );
  });

  it('does not retry by default (backoffRetry.count 0)', async () => {
    const srv = await serve(reply(502));
    const err = asError(await processOne({ 'request.url': srv.url }, rec()));
    assert.equal(srv.seen.length, 1);
    assert.match(err.message, /status 502 Bad Gateway/);
    assert.doesNotMatch(err.message, /attempts/);
  });

  it('does not retry a 4xx: it is a response, stored like a success', async () => {
    const srv = await serve(reply(404, 'not here'));
    const r = asRecord(
      await processOne(
        { 'request.url': srv.url, 'backoffRetry.count': '3', 'response.status': '.Metadata.status', ...FAST_RETRY },
        rec(),
      ),
    );
    assert.equal(srv.seen.length, 1);
    assert.equal(r.metadata['status'], '404');
    assert.deepEqual(r.payload.after, Buffer.from('not here'));
  });

  it('retries a network error (nothing listening) and then fails the record', async () => {
    const srv = await serve(reply(200));
    const url = srv.url;
    await srv.close();
    const err = asError(await processOne({ 'request.url': url, 'backoffRetry.count': '2', ...FAST_RETRY }, rec()));
    assert.match(
      err.message,
      new RegExp(
        `^processor p:hook \\(webhook\\.http\\) failed: GET ${url.replace(/\./g, '\\.')}/: request failed: .*after 3 attempts$`,
      ),
    );
  });

  it('a request slower than request.timeout is abandoned and counted as a failure', async () => {
    const srv = await serve(() => undefined); // never answers
    const started = Date.now();
    const err = asError(await processOne({ 'request.url': srv.url, 'request.timeout': '50ms' }, rec()));
    assert.match(err.message, /no response within 50 ms \(request\.timeout\)/);
    assert.ok(Date.now() - started < 5000);
  });

  it('a template that fails on a record fails that record without a request', async () => {
    const srv = await serve(reply(200));
    const p = await configured({ 'request.url': `${srv.url}/{{ index .Payload.After.ids 1 }}` });
    const out = await p.process([
      rec({ payload: { before: null, after: { ids: ['a', 'b'] } } }),
      rec({ payload: { before: null, after: { ids: ['a'] } } }),
    ]);
    asRecord(out[0] as ProcessedRecord);
    assert.match(asError(out[1] as ProcessedRecord).message, /cannot build the HTTP request: .*index out of range/);
    assert.equal(srv.seen.length, 1);
    await p.teardown?.();
  });

  it('a response that cannot be stored fails the record', async () => {
    const srv = await serve(reply(200));
    const err = asError(
      await processOne(
        { 'request.url': srv.url, 'response.body': '.Payload.After.reply' },
        rec({ payload: { before: null, after: Buffer.from('raw') } }),
      ),
    );
    assert.match(err.message, /cannot store the response: .*raw data/);
  });

  it('through the processor chain the error reaches the nack as it is', async () => {
    const srv = await serve(reply(500));
    const processor = await configured({ 'request.url': srv.url });
    const nacks: Error[] = [];
    const out = await runChain(
      [{ id: ID, plugin: 'webhook.http', processor, condition: undefined, workers: 1 }],
      [rec()],
      (_, error) => nacks.push(error),
    );
    assert.deepEqual(out, []);
    assert.match(nacks[0]?.message ?? '', /^processor p:hook \(webhook\.http\) failed: GET .*: status 500/);
    await processor.teardown?.();
  });

  it('backoff: min × factor^attempt, capped at max, as jpillora/backoff', () => {
    const b = { minMs: 100, maxMs: 5000, factor: 2 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, b)),
      [100, 200, 400, 800, 1600, 3200, 5000],
    );
    assert.equal(backoffDelay(3, { minMs: 0, maxMs: 0, factor: 0 }), 800);
    assert.equal(backoffDelay(0, { minMs: 5000, maxMs: 1000, factor: 2 }), 1000);
  });
});

describe('webhook.http: teardown is not held by a slow server', () => {
  it('aborts a request in flight (no timeout set)', async () => {
    const srv = await serve(() => undefined); // never answers
    const p = await configured({ 'request.url': srv.url, 'request.timeout': '0', 'backoffRetry.count': '3' });
    const pending = p.process([rec()]);
    await waitFor(() => srv.seen.length === 1, { message: 'the request to arrive' });
    const started = Date.now();
    await p.teardown?.();
    const out = await pending;
    assert.ok(Date.now() - started < 2000, 'process returned promptly');
    assert.match(asError(out[0] as ProcessedRecord).message, /the pipeline is stopping/);
    assert.equal(srv.seen.length, 1, 'no retry after teardown');
  });

  it('aborts a backoff wait', async () => {
    const srv = await serve(reply(503));
    // The processor is in its backoff wait once it has logged the retry (the server having seen the
    // request is too early: the 503 may still be on its way back).
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) });
    const p = await configured(
      { 'request.url': srv.url, 'backoffRetry.count': '5', 'backoffRetry.min': '1h', 'backoffRetry.max': '2h' },
      logger,
    );
    const pending = p.process([rec(), rec()]);
    await waitFor(() => lines.some((l) => l.includes('retrying HTTP request')), { message: 'the first retry wait' });
    await p.teardown?.();
    const out = await pending;
    assert.equal(out.length, 2, 'one result per record');
    assert.match(asError(out[0] as ProcessedRecord).message, /status 503 .*the pipeline is stopping/);
    assert.match(asError(out[1] as ProcessedRecord).message, /the pipeline is stopping/);
    assert.equal(srv.seen.length, 1);
  });

  it('aborts a GET with a body (sent through node:http) in flight', async () => {
    const srv = await serve(() => undefined);
    const p = await configured({ 'request.url': srv.url, 'request.body': 'x', 'request.timeout': '0' });
    const pending = p.process([rec()]);
    await waitFor(() => srv.seen.length === 1, { message: 'the request to arrive' });
    await p.teardown?.();
    assert.match(asError((await pending)[0] as ProcessedRecord).message, /the pipeline is stopping/);
  });
});

describe('webhook.http: configuration', () => {
  const parse = (settings: Record<string, string>) => () => parseConfig(webhookHttpPlugin.params, settings);

  it('requires request.url', () => {
    assert.throws(parse({}), { code: 'param.required', message: /"request\.url"/ });
    assert.throws(parse({ 'request.url': '' }), { code: 'param.required' });
  });

  it('checks number and duration types', () => {
    assert.throws(parse({ 'request.url': 'http://h', 'backoffRetry.count': 'not-a-number' }), {
      code: 'param.invalid_type',
    });
    assert.throws(parse({ 'request.url': 'http://h', 'backoffRetry.min': 'not-a-duration' }), {
      code: 'param.invalid_type',
    });
    assert.throws(parse({ 'request.url': 'http://h', 'backoffRetry.max': 'not-a-duration' }), {
      code: 'param.invalid_type',
    });
    assert.throws(parse({ 'request.url': 'http://h', 'backoffRetry.factor': 'not-a-number' }), {
      code: 'param.invalid_type',
    });
    assert.throws(parse({ 'request.url': 'http://h', 'backoffRetry.factor': '0' }), {
      code: 'param.validation_failed',
    });
  });

  const invalid: Array<[string, Record<string, string>, string, RegExp]> = [
    ['a URL without a scheme', { 'request.url': ':not/a/valid/url' }, 'request.url', /Invalid URL/],
    ['a URL that is not http', { 'request.url': 'ftp://example.com/x' }, 'request.url', /only http and https/],
    [
      'an invalid method',
      { 'request.url': 'http://example.com', 'request.method': ':foo' },
      'request.method',
      /":foo" is not a valid HTTP method/,
    ],
    [
      'a method fetch cannot send',
      { 'request.url': 'http://example.com', 'request.method': 'TRACE' },
      'request.method',
      /cannot be sent/,
    ],
    [
      'a URL template that does not parse',
      { 'request.url': 'http://example.com/{{.Payload.After.my-key}}' },
      'request.url',
      /template: p:hook\.request\.url:1:\d+: /,
    ],
    [
      'a body template that does not parse',
      { 'request.url': 'http://h', 'request.body': '{{ .Key ' },
      'request.body',
      /unclosed action/,
    ],
    [
      'both headers.Content-Type and request.contentType',
      {
        'request.url': 'http://h',
        'request.contentType': 'application/json',
        'headers.content-type': 'application/json',
      },
      'request.contentType',
      /cannot be used together with headers\.Content-Type/,
    ],
    [
      'the same field for response.body and response.status',
      { 'request.url': 'http://h', 'response.body': '.Payload.After', 'response.status': '.Payload.After' },
      'response.status',
      /name the same field/,
    ],
    [
      'the same field written two ways',
      { 'request.url': 'http://h', 'response.body': '.Metadata.x', 'response.status': '.Metadata["x"]' },
      'response.status',
      /name the same field/,
    ],
    [
      'a response.body that cannot take a value',
      { 'request.url': 'http://h', 'response.body': '.Position' },
      'response.body',
      /cannot take the response/,
    ],
    [
      'a malformed response.status',
      { 'request.url': 'http://h', 'response.status': 'Metadata' },
      'response.status',
      /invalid field reference/,
    ],
    [
      'a header name with a space',
      { 'request.url': 'http://h', 'headers.X Y': 'v' },
      'headers.X Y',
      /not a valid header name/,
    ],
  ];
  for (const [name, settings, key, pattern] of invalid) {
    it(`rejects ${name} at configure, naming the parameter`, async () => {
      await assert.rejects(configured(settings), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.configPath, `/${key}`);
        assert.ok(e.message.startsWith(`processor ${ID}: parameter "${key}": `), e.message);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }

  it('accepts Conduit’s valid configurations', async () => {
    const valid: Array<Record<string, string>> = [
      { 'request.url': 'http://example.com' },
      { 'request.url': 'http://example.com/{{.Payload.After}}' },
      { 'request.url': 'http://example.com', 'request.method': 'GET' },
      {
        'request.url': 'http://example.com',
        'request.contentType': 'application/json',
        'backoffRetry.count': '1',
        'backoffRetry.min': '10ms',
        'backoffRetry.max': '1s',
        'backoffRetry.factor': '1.3',
      },
      { 'request.url': 'http://example.com', 'headers.content-type': 'application/json' },
      {
        'request.url': 'http://example.com',
        'response.body': '.Payload.After',
        'response.status': '.Metadata["response.status"]',
      },
    ];
    for (const settings of valid) {
      const p = await configured(settings);
      await p.teardown?.();
    }
  });
});
