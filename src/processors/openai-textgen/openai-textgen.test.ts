/**
 * openai.textgen against a local fake of OpenAI's chat completions API:
 * Conduit's example (the fake model answers in upper case), the request it
 * sends (messages and every knob), retries, and errors.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { rawData } from '../../opencdc/record.js';
import { parseConfig, redactSettings } from '../../sdk/params.js';
import { closeAllFakes, startOpenAiFake } from '../ai-common/fakes.js';
import { asError, asRecord, assertReadmeTable, configured, rec } from '../testing.js';
import { openaiTextgenPlugin as plugin } from './index.js';

const KEY = 'sk-test-key-0123456789';
const DEV = 'You will receive a payload. Your task is to output back the payload in uppercase.';

after(closeAllFakes);

async function setup(settings: Record<string, string> = {}, chat?: (m: Array<{ content: string }>) => string) {
  const fake = await startOpenAiFake({ apiKey: KEY, ...(chat === undefined ? {} : { chat }) });
  const p = await configured(plugin, {
    api_key: KEY,
    model: 'gpt-4o-mini',
    developer_message: DEV,
    base_url: `${fake.url}/v1`,
    initial_backoff: '1',
    max_backoff: '5',
    ...settings,
  });
  return { fake, p };
}

const text = (b: unknown) => Buffer.from(b as Uint8Array).toString('utf8');

describe('openai.textgen', () => {
  it('has its parameter table in the README', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });

  it("Conduit's example: the payload goes after the developer message and the answer replaces it", async () => {
    const { fake, p } = await setup({ temperature: '0' });
    const [out] = await p.process([
      rec({ position: Buffer.from('pos-1'), payload: { before: null, after: rawData('hello world') } }),
    ]);
    assert.equal(text(asRecord(out).payload.after), 'HELLO WORLD');
    assert.equal(fake.requests[0]?.path, '/v1/chat/completions');
    assert.deepEqual(fake.requests[0]?.body, {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'developer', content: DEV },
        { role: 'user', content: 'hello world' },
      ],
      // Sent although it is zero: Conduit's Go client would drop it and get the default temperature.
      temperature: 0,
    });
  });

  it('sends every knob with its OpenAI name', async () => {
    const { fake, p } = await setup({
      max_tokens: '10',
      max_completion_tokens: '20',
      temperature: '0.5',
      top_p: '0.9',
      n: '2',
      stop: 'END, STOP',
      presence_penalty: '0.1',
      frequency_penalty: '0.2',
      seed: '42',
      'logit_bias.50256': '-100',
      log_probs: 'true',
      top_log_probs: '3',
      user: 'u-1',
      store: 'true',
      reasoning_effort: 'low',
      'metadata.team': 'data',
    });
    await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    const { messages: _m, ...knobs } = fake.requests[0]?.body ?? {};
    assert.deepEqual(knobs, {
      model: 'gpt-4o-mini',
      max_tokens: 10,
      max_completion_tokens: 20,
      n: 2,
      seed: 42,
      top_logprobs: 3,
      temperature: 0.5,
      top_p: 0.9,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      logprobs: true,
      store: true,
      stop: ['END', 'STOP'],
      user: 'u-1',
      reasoning_effort: 'low',
      logit_bias: { '50256': -100 },
      metadata: { team: 'data' },
    });
  });

  it('processes each record with its own request, in order; structured data goes as JSON', async () => {
    const { fake, p } = await setup({}, (m) => `echo ${m[1]?.content ?? ''}`);
    const out = await p.process([
      rec({ payload: { before: null, after: { b: 2, a: 1 } } }),
      rec({ payload: { before: null, after: rawData('two') } }),
    ]);
    assert.deepEqual(
      fake.requests.map((r) => r.body.messages[1].content),
      ['{"a":1,"b":2}', 'two'],
    );
    assert.equal(text(asRecord(out[0]).payload.after), 'echo {"a":1,"b":2}');
    assert.equal(text(asRecord(out[1]).payload.after), 'echo two');
  });

  it('writes a string into a nested or metadata field', async () => {
    const { p } = await setup({ field: '.Payload.After.title' });
    const [out] = await p.process([rec({ payload: { before: null, after: { title: 'abc', n: 1 } } })]);
    assert.deepEqual(asRecord(out).payload.after, { title: 'ABC', n: 1 });
  });

  it('retries 5xx, does not retry 4xx, and names processor, field and cause', async () => {
    const { fake, p } = await setup({ max_retries: '2' });
    fake.failNext({ status: 500 }, { status: 429 });
    asRecord((await p.process([rec({ payload: { before: null, after: rawData('x') } })]))[0]);
    assert.equal(fake.requests.length, 3);

    fake.failNext({ status: 404, message: 'The model `gpt-x` does not exist' });
    const out = await p.process([
      rec({ payload: { before: null, after: rawData('x') } }),
      rec({ payload: { before: null, after: rawData('y') } }),
    ]);
    assert.equal(fake.requests.length, 5, 'the 404 was not retried; the next record went on');
    assert.match(
      asError(out[0]).message,
      /^processor p:proc \(openai\.textgen\) failed: field \.Payload\.After: POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: status 404 Not Found: The model `gpt-x` does not exist$/,
    );
    asRecord(out[1]);
  });

  it('fails a record whose field holds no text', async () => {
    const { fake, p } = await setup();
    const [out] = await p.process([rec()]);
    assert.match(asError(out).message, /field \.Payload\.After: unsupported type: the field holds null/);
    assert.equal(fake.requests.length, 0);
  });

  it('refuses bad settings and keeps the key secret', async () => {
    assert.throws(() => parseConfig(plugin.params, { api_key: 'k', model: 'm' }), /"developer_message"/);
    await assert.rejects(
      configured(plugin, { api_key: 'k', model: 'm', developer_message: 'd', stream: 'true' }),
      /stream: streaming is not supported/,
    );
    assert.throws(
      () => parseConfig(plugin.params, { api_key: 'k', model: 'm', developer_message: 'd', 'logit_bias.1': 'x' }),
      /not an integer/,
    );
    assert.equal(redactSettings(plugin.params, { api_key: 'sk-secret' })['api_key'], '***');
  });
});
