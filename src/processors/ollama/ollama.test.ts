/**
 * ollama against a local fake of Ollama's /api/generate: Conduit's example,
 * the prompt it builds and checks, the field kinds it reads, and the errors
 * for a bad answer, a failed request and a slow server.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { rawData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { closeAllFakes, recordInPrompt, startOllamaFake, type OllamaFakeOptions } from '../ai-common/fakes.js';
import { asError, asRecord, assertReadmeTable, configured, rec } from '../testing.js';
import { OLLAMA_SUFFIX, ollamaPlugin as plugin } from './index.js';

after(closeAllFakes);

const PROMPT =
  "Take the incoming record in JSON format, with a structure of {'test-field': integer}. Add one to the value of the integer and return that field.";

async function setup(settings: Record<string, string> = {}, fakeOpts: OllamaFakeOptions = {}) {
  const fake = await startOllamaFake(fakeOpts);
  const p = await configured(plugin, { url: fake.url, prompt: PROMPT, ...settings });
  return { fake, p };
}

const addOne = (prompt: string) => {
  const r = JSON.parse(recordInPrompt(prompt));
  return JSON.stringify({ 'test-field': r['test-field'] + 1 });
};

describe('ollama', () => {
  it('has its parameter table in the README', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });

  it("Conduit's example: the model's JSON object replaces .Payload.After", async () => {
    const { fake, p } = await setup({}, { generate: addOne });
    const [out] = await p.process([
      rec({
        metadata: { key1: 'val1' },
        key: rawData('test-key'),
        payload: { before: null, after: { 'test-field': 123 } },
      }),
    ]);
    const r = asRecord(out);
    assert.deepEqual(r.payload.after, { 'test-field': 124 });
    assert.deepEqual(r.metadata, { key1: 'val1' });
    assert.equal(fake.requests[0]?.path, '/api/generate');
    assert.deepEqual(fake.requests[0]?.body, {
      model: 'llama3.2',
      prompt: `Instructions: {${PROMPT}}\n Record: {{"test-field":123}} \n Suffix {${OLLAMA_SUFFIX}}`,
      format: 'json',
      stream: false,
    });
  });

  it('reads JSON from raw data or a nested string, and writes into .Payload.Before', async () => {
    const { p } = await setup({ field: '.Payload.Before' });
    const [a] = await p.process([rec({ payload: { before: rawData('{"foo":"bar"}'), after: rawData('keep') } })]);
    const ra = asRecord(a);
    assert.deepEqual(ra.payload.before, { foo: 'bar', processed: true });
    assert.equal(Buffer.from(ra.payload.after as Uint8Array).toString(), 'keep');

    const { p: q } = await setup({ field: '.Payload.After.doc' });
    const [b] = await q.process([rec({ payload: { before: null, after: { doc: '{"x":1}', y: 2 } } })]);
    assert.deepEqual(asRecord(b).payload.after, { doc: { x: 1, processed: true }, y: 2 });
  });

  it('fails a record whose field is not JSON, nil, or makes a refused prompt', async () => {
    const { fake, p } = await setup();
    const out = await p.process([
      rec({ payload: { before: null, after: rawData('hello') } }),
      rec(),
      rec({ payload: { before: null, after: { q: 'DROP TABLE users' } } }),
      rec({ payload: { before: null, after: { big: 'x'.repeat(5000) } } }),
    ]);
    assert.match(
      asError(out[0]).message,
      /^processor p:proc \(ollama\) failed: field \.Payload\.After: failed unmarshalling JSON from raw data/,
    );
    assert.match(asError(out[1]).message, /field to unmarshal is nil/);
    assert.match(asError(out[2]).message, /potentially malicious pattern: DROP TABLE/);
    assert.match(asError(out[3]).message, /prompt exceeds context window allowance, must be 4096 characters/);
    assert.equal(fake.requests.length, 0);
  });

  it('fails a record on a bad answer or status, without retrying', async () => {
    const { fake, p } = await setup({}, { generate: () => 'not json' });
    const [a] = await p.process([rec({ payload: { before: null, after: { a: 1 } } })]);
    assert.match(asError(a).message, /invalid JSON in response/);

    fake.failNext({ status: 500, message: 'model runner crashed' });
    const [b] = await p.process([rec({ payload: { before: null, after: { a: 1 } } })]);
    assert.match(
      asError(b).message,
      /POST http:\/\/127\.0\.0\.1:\d+\/api\/generate: status 500 Internal Server Error: model runner crashed$/,
    );
    assert.equal(fake.requests.length, 2);

    const { p: q } = await setup({}, { notDone: true });
    assert.match(
      asError((await q.process([rec({ payload: { before: null, after: { a: 1 } } })]))[0]).message,
      /not done/,
    );
  });

  it('gives up on a slow server after request.timeout', async () => {
    const { fake, p } = await setup({ 'request.timeout': '50ms' });
    fake.failNext({ delayMs: 2000 });
    const [out] = await p.process([rec({ payload: { before: null, after: { a: 1 } } })]);
    assert.match(asError(out).message, /no response within 50 ms \(request\.timeout\)/);
  });

  it('refuses bad settings', async () => {
    assert.throws(() => parseConfig(plugin.params, {}), /required parameter "url"/);
    assert.throws(() => parseConfig(plugin.params, { url: 'http://x', model: 'chatgpt' }), /is not one of llama3\.2/);
    assert.throws(() => parseConfig(plugin.params, { url: 'http://x', field: '.Key' }), /does not match/);
    await assert.rejects(configured(plugin, { url: 'not a url' }), /url/);
  });
});
