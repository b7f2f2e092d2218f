/**
 * openai.embeddings against a local fake of OpenAI's embeddings API: Conduit's
 * example, one request per batch (split at 2048 inputs), the field kinds, the
 * request knobs, retries (429 and 5xx, not 4xx), timeouts, teardown, and
 * errors that name the processor and field and never show the key.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { ConduitError } from '../../errors/conduit-error.js';
import { rawData } from '../../opencdc/record.js';
import { parseConfig, redactSettings } from '../../sdk/params.js';
import { waitFor } from '../../sdk/testing.js';
import { closeAllFakes, fakeEmbedding, startOpenAiFake } from '../ai-common/fakes.js';
import { float32Json } from '../ai-common/text.js';
import { asError, asRecord, assertReadmeTable, configured, PROCESSOR_ID, rec } from '../testing.js';
import { MAX_INPUTS_PER_REQUEST, openaiEmbeddingsPlugin as plugin } from './index.js';

const KEY = 'sk-test-key-0123456789';

after(closeAllFakes);

async function setup(settings: Record<string, string> = {}) {
  const fake = await startOpenAiFake({ apiKey: KEY });
  const p = await configured(plugin, {
    api_key: KEY,
    model: 'text-embedding-3-small',
    base_url: `${fake.url}/v1`,
    initial_backoff: '1',
    max_backoff: '5',
    ...settings,
  });
  return { fake, p };
}

const text = (b: unknown) => Buffer.from(b as Uint8Array).toString('utf8');

describe('openai.embeddings', () => {
  it('has its parameter table in the README', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });

  it("Conduit's example: the text in .Payload.After becomes its embedding as a JSON array", async () => {
    const { fake, p } = await setup();
    const input = 'This is a sample text to generate embeddings for.';
    const [out] = await p.process([
      rec({ metadata: { key1: 'val1' }, key: rawData('test-key'), payload: { before: null, after: rawData(input) } }),
    ]);
    const r = asRecord(out);
    assert.equal(text(r.payload.after), float32Json(fakeEmbedding(input, 3)));
    assert.deepEqual(r.metadata, { key1: 'val1' });
    assert.equal(text(r.key), 'test-key');
    assert.equal(fake.requests.length, 1);
    const seen = fake.requests[0];
    assert.equal(seen?.path, '/v1/embeddings');
    assert.equal(seen?.headers.authorization, `Bearer ${KEY}`);
    // Unset knobs are not sent.
    assert.deepEqual(seen?.body, { model: 'text-embedding-3-small', input: [input] });
  });

  it('prints each number as Go prints a float32', () => {
    assert.equal(float32Json([0.1, 0.2, -0.0069368044, 1e-7, 0.30000001192092896]), '[0.1,0.2,-0.0069368044,1e-7,0.3]');
  });

  it('sends the texts of a batch in one request, in order, and splits at 2048', async () => {
    const { fake, p } = await setup();
    const texts = ['alpha', 'beta', 'gamma', 'delta'];
    const out = await p.process(texts.map((t) => rec({ payload: { before: null, after: rawData(t) } })));
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(fake.requests[0]?.body.input, texts);
    out.forEach((o, i) => assert.equal(text(asRecord(o).payload.after), float32Json(fakeEmbedding(texts[i] ?? '', 3))));

    const many = Array.from({ length: MAX_INPUTS_PER_REQUEST + 1 }, (_, i) =>
      rec({ payload: { before: null, after: rawData(`t${i}`) } }),
    );
    const results = await p.process(many);
    assert.deepEqual(
      fake.requests.slice(1).map((r) => r.body.input.length),
      [MAX_INPUTS_PER_REQUEST, 1],
    );
    assert.equal(text(asRecord(results[MAX_INPUTS_PER_REQUEST]).payload.after), float32Json(fakeEmbedding('t2048', 3)));
  });

  it('embeds structured data as its JSON, and a string field into a string', async () => {
    const { fake, p } = await setup();
    const [a] = await p.process([rec({ payload: { before: null, after: { b: 1, a: 'x' } } })]);
    assert.deepEqual(fake.requests[0]?.body.input, ['{"a":"x","b":1}']);
    assert.equal(text(asRecord(a).payload.after), float32Json(fakeEmbedding('{"a":"x","b":1}', 3)));

    const q = await configured(plugin, {
      api_key: KEY,
      model: 'm',
      base_url: `${fake.url}/v1`,
      field: '.Metadata.text',
    });
    const [b] = await q.process([rec({ metadata: { text: 'hello' } })]);
    assert.equal(asRecord(b).metadata['text'], float32Json(fakeEmbedding('hello', 3)));
  });

  it('passes dimensions, encoding_format and user, and decodes base64 embeddings', async () => {
    const { fake, p } = await setup({ dimensions: '5', encoding_format: 'base64', user: 'u-1' });
    const [out] = await p.process([rec({ payload: { before: null, after: rawData('hi') } })]);
    assert.deepEqual(fake.requests[0]?.body, {
      model: 'text-embedding-3-small',
      input: ['hi'],
      dimensions: 5,
      encoding_format: 'base64',
      user: 'u-1',
    });
    assert.equal(text(asRecord(out).payload.after), float32Json(fakeEmbedding('hi', 5)));
  });

  it('fails only the records it cannot read, and embeds the others', async () => {
    const { fake, p } = await setup();
    const out = await p.process([
      rec({ payload: { before: null, after: rawData('ok') } }),
      rec({ payload: { before: null, after: null } }),
      rec({ payload: { before: null, after: rawData('') } }),
    ]);
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(fake.requests[0]?.body.input, ['ok']);
    asRecord(out[0]);
    assert.match(
      asError(out[1]).message,
      /^processor p:proc \(openai\.embeddings\) failed: field \.Payload\.After: unsupported type/,
    );
    assert.match(asError(out[2]).message, /empty/);
  });

  it('retries 429 and 5xx with backoff, then succeeds', async () => {
    const { fake, p } = await setup();
    fake.failNext({ status: 429 }, { status: 500 }, { status: 503 });
    const [out] = await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    asRecord(out);
    assert.equal(fake.requests.length, 4);
  });

  it('gives up after max_retries, naming the processor, the field, the status and the attempts', async () => {
    const { fake, p } = await setup({ max_retries: '1' });
    fake.failNext({ status: 502, message: 'upstream down' }, { status: 502, message: 'upstream down' });
    const [out] = await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    const err = asError(out);
    assert.ok(err instanceof ConduitError);
    assert.equal(err.code, 'processor.failed');
    assert.match(err.message, /^processor p:proc \(openai\.embeddings\) failed: field \.Payload\.After: POST http/);
    assert.match(err.message, /status 502 Bad Gateway: upstream down \(after 2 attempts\)/);
    assert.equal(fake.requests.length, 2);
  });

  it('does not retry another 4xx', async () => {
    const { fake, p } = await setup();
    fake.failNext({ status: 400, message: "'$.input' is invalid." });
    const out = await p.process([
      rec({ payload: { before: null, after: rawData('x') } }),
      rec({ payload: { before: null, after: rawData('y') } }),
    ]);
    assert.equal(fake.requests.length, 1);
    for (const o of out) assert.match(asError(o).message, /status 400 Bad Request: '\$\.input' is invalid\.$/);
  });

  it('never shows the API key, not even the part OpenAI echoes back', async () => {
    const fake = await startOpenAiFake({ apiKey: 'sk-the-right-key-000' });
    const wrong = 'sk-wrong-secret-key-9876';
    const settings = { api_key: wrong, model: 'm', base_url: `${fake.url}/v1` };
    const p = await configured(plugin, settings);
    const [out] = await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    const msg = asError(out).message;
    assert.match(msg, /status 401 Unauthorized: Incorrect API key provided: \*\*\*/);
    assert.ok(!msg.includes(wrong) && !msg.includes('9876'), msg);
    assert.equal(fake.requests.length, 1, '401 is not retried');
    assert.equal(redactSettings(plugin.params, settings)['api_key'], '***');
  });

  it('abandons a request after request_timeout and retries it', async () => {
    const { fake, p } = await setup({ request_timeout: '50ms', max_retries: '1' });
    fake.failNext({ delayMs: 2000 }, { delayMs: 2000 });
    const started = Date.now();
    const [out] = await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    assert.match(asError(out).message, /no response within 50 ms \(request_timeout\).*\(after 2 attempts\)/);
    assert.equal(fake.requests.length, 2);
    assert.ok(Date.now() - started < 1500, 'did not wait for the slow server');
  });

  it('teardown abandons the request in flight', async () => {
    const { fake, p } = await setup();
    fake.failNext({ delayMs: 10_000 });
    const pending = p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    await waitFor(() => fake.requests.length === 1, { message: 'the request reached the server' });
    await p.teardown?.();
    const [out] = await pending;
    assert.match(asError(out).message, /the pipeline is stopping/);
  });

  it('refuses bad settings at configure time', async () => {
    assert.throws(() => parseConfig(plugin.params, { model: 'm' }), /required parameter "api_key"/);
    assert.throws(() => parseConfig(plugin.params, { api_key: 'k' }), /required parameter "model"/);
    assert.throws(
      () => parseConfig(plugin.params, { api_key: 'k', model: 'm', encoding_format: 'int8' }),
      /is not one of float, base64/,
    );
    await assert.rejects(configured(plugin, { api_key: 'k', model: 'm', field: '.Position' }), (e: Error) =>
      e.message.startsWith(`processor ${PROCESSOR_ID}: field:`),
    );
    await assert.rejects(configured(plugin, { api_key: 'k', model: 'm', base_url: 'http://' }), /base_url/);
  });
});
