/**
 * The client's reading of answers, against a local server that answers what
 * a test tells it: codes this engine registers exit as they do locally, codes
 * it does not know exit by HTTP status, and an answer that is not the API's
 * is an environment problem.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ConduitError } from '../../../errors/conduit-error.js';
import { ApiClient, clientOptions, exitOfFailure } from './http.js';

let server: Server;
let answer: { status: number; body: string } = { status: 200, body: '[]' };
let seenAuth: string | undefined;
let client: ApiClient;

function status(code: number, message: string, ...infos: Array<[string, Record<string, string>]>): string {
  return JSON.stringify({
    code,
    message,
    details: infos.map(([reason, metadata]) => ({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason,
      domain: 'conduit',
      metadata,
    })),
  });
}

async function failure(): Promise<ConduitError> {
  try {
    await client.get('/v1/pipelines');
  } catch (e) {
    assert.ok(e instanceof ConduitError);
    return e;
  }
  assert.fail('expected the request to fail');
}

before(async () => {
  server = createServer((req, res) => {
    seenAuth = req.headers.authorization;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  client = new ApiClient(
    clientOptions(
      { 'api.http.address': `127.0.0.1:${port}` },
      { CONDUIT_API_HTTP_AUTH_TOKEN: 'unit-token-0123456789' },
    ),
  );
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the API client', () => {
  it('sends the bearer token and returns the JSON', async () => {
    answer = { status: 200, body: '[{"id":"a"}]' };
    assert.deepEqual(await client.get('/v1/pipelines'), [{ id: 'a' }]);
    assert.equal(seenAuth, 'Bearer unit-token-0123456789');
  });

  it('maps a registered code to its local exit code, keeping path and suggestion', async () => {
    answer = { status: 400, body: status(9, 'running', ['pipeline.running', { suggestion: 'stop it first' }]) };
    const e = await failure();
    assert.equal(e.code, 'pipeline.running');
    assert.equal(e.suggestion, 'stop it first');
    assert.equal(exitOfFailure(e), 2);
  });

  it('maps a code it does not know by the HTTP status', async () => {
    answer = { status: 409, body: status(6, 'taken', ['future.conflict', {}]) };
    assert.equal(exitOfFailure(await failure()), 2);
    answer = { status: 503, body: status(14, 'busy', ['future.unavailable', {}]) };
    assert.equal(exitOfFailure(await failure()), 3);
    answer = { status: 500, body: status(13, 'internal error', ['future.internal', {}]) };
    assert.equal(exitOfFailure(await failure()), 1);
  });

  it('keeps every problem of a multi-problem answer, the exit code of the worst', async () => {
    answer = {
      status: 400,
      body: status(
        3,
        '2 problems',
        ['param.required', { message: 'rate is required', configPath: '/config/settings/rate' }],
        ['future.unavailable', { message: 'elsewhere' }],
      ),
    };
    const e = await failure();
    const errors = (e as ConduitError & { errors: ConduitError[] }).errors;
    assert.equal(errors.length, 2);
    assert.equal(errors[0]?.message, 'rate is required');
    assert.equal(errors[0]?.configPath, '/config/settings/rate');
    assert.equal(exitOfFailure(e), 2);
  });

  it('calls an answer that is not JSON an environment problem', async () => {
    answer = { status: 200, body: '<html>not the API</html>' };
    const e = await failure();
    assert.equal(e.code, 'api.bad_answer');
    assert.equal(exitOfFailure(e), 3);
  });

  it('reads a URL or an every-interface address as a loopback address', () => {
    const env = { CONDUIT_API_HTTP_AUTH_TOKEN: '' };
    assert.equal(clientOptions({ 'api.http.address': 'http://localhost:9000' }, env).baseUrl, 'http://localhost:9000');
    assert.equal(clientOptions({ 'api.http.address': ':8080' }, env).baseUrl, 'http://127.0.0.1:8080');
    assert.equal(clientOptions({ 'api.http.address': '0.0.0.0:81' }, env).baseUrl, 'http://127.0.0.1:81');
    assert.equal(clientOptions({ 'api.http.address': '[::]:82' }, env).baseUrl, 'http://[::1]:82');
    assert.equal(clientOptions({}, { CONDUIT_API_HTTP_ADDRESS: '127.0.0.2:83' }).baseUrl, 'http://127.0.0.2:83');
    assert.equal(clientOptions({}, env).token, undefined);
  });
});
