/**
 * cohere.command against a local fake of Cohere's v2 chat API: Conduit's
 * example, the prompt as a Go format string, the fields it reads and writes,
 * retries and errors.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { rawData } from '../../opencdc/record.js';
import { parseConfig, redactSettings } from '../../sdk/params.js';
import { closeAllFakes, startCohereFake } from '../ai-common/fakes.js';
import { goSprintf } from '../ai-common/text.js';
import { asError, asRecord, assertReadmeTable, configured, rec } from '../testing.js';
import { cohereCommandPlugin as plugin } from './index.js';

const KEY = 'co-test-key-0123456789';

after(closeAllFakes);

async function setup(settings: Record<string, string> = {}) {
  const fake = await startCohereFake({ apiKey: KEY });
  const p = await configured(plugin, {
    apiKey: KEY,
    prompt: '%s',
    baseURL: fake.url,
    'backoffRetry.min': '1ms',
    ...settings,
  });
  return { fake, p };
}

const text = (b: unknown) => Buffer.from(b as Uint8Array).toString('utf8');

describe('cohere.command', () => {
  it('has its parameter table in the README', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });

  it("Conduit's example: the answer to the prompt replaces .Payload.After", async () => {
    const { fake, p } = await setup({ prompt: 'hello %s' });
    const [out] = await p.process([
      rec({ operation: 'update', payload: { before: null, after: rawData('who are you?') } }),
    ]);
    assert.equal(text(asRecord(out).payload.after), 'cohere: hello who are you?');
    assert.equal(fake.requests[0]?.path, '/v2/chat');
    assert.equal(fake.requests[0]?.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(fake.requests[0]?.body, {
      model: 'command',
      messages: [{ role: 'user', content: 'hello who are you?' }],
    });
  });

  it('fills the prompt as Go fmt.Sprintf does', () => {
    assert.equal(goSprintf('Summarize: %s', 'x'), 'Summarize: x');
    assert.equal(goSprintf('100%% of %v', 'x'), '100% of x');
    assert.equal(goSprintf('no verb', 'x'), 'no verb%!(EXTRA string=x)');
    assert.equal(goSprintf('%s and %s', 'x'), 'x and %!s(MISSING)');
    assert.equal(goSprintf('%d', 'x'), '%!d(string=x)');
  });

  it('reads request.body and writes response.body; structured data goes as JSON', async () => {
    const { fake, p } = await setup({
      'request.body': '.Payload.After',
      'response.body': '.Metadata.answer',
      model: 'command-r',
    });
    const [out] = await p.process([rec({ payload: { before: null, after: { b: 1, a: 2 } } })]);
    assert.equal(fake.requests[0]?.body.messages[0].content, '{"a":2,"b":1}');
    assert.equal(fake.requests[0]?.body.model, 'command-r');
    const r = asRecord(out);
    assert.equal(r.metadata['answer'], 'cohere: {"a":2,"b":1}');
    assert.deepEqual(r.payload.after, { b: 1, a: 2 });
  });

  it('retries 5xx and 429 up to backoffRetry.count, not 4xx', async () => {
    const { fake, p } = await setup({ 'backoffRetry.count': '2' });
    fake.failNext({ status: 503 }, { status: 429 });
    asRecord((await p.process([rec({ payload: { before: null, after: rawData('x') } })]))[0]);
    assert.equal(fake.requests.length, 3);

    fake.failNext({ status: 500 }, { status: 500 }, { status: 500 });
    const [failed] = await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    assert.match(
      asError(failed).message,
      /^processor p:proc \(cohere\.command\) failed: field \.Payload\.After: POST http:\/\/127\.0\.0\.1:\d+\/v2\/chat: status 500 Internal Server Error: .* \(after 3 attempts\)$/,
    );

    fake.failNext({ status: 422, message: 'invalid request: model not found' });
    const before = fake.requests.length;
    const [bad] = await p.process([rec({ payload: { before: null, after: rawData('x') } })]);
    assert.match(asError(bad).message, /status 422 Unprocessable Entity: invalid request: model not found$/);
    assert.equal(fake.requests.length, before + 1);
  });

  it('with the default count of 0 does not retry', async () => {
    const { fake, p } = await setup();
    fake.failNext({ status: 503 });
    asError((await p.process([rec({ payload: { before: null, after: rawData('x') } })]))[0]);
    assert.equal(fake.requests.length, 1);
  });

  it('never shows the key', async () => {
    const fake = await startCohereFake({ apiKey: 'right-key-1234' });
    const settings = { apiKey: 'wrong-secret-5678', prompt: '%s', baseURL: fake.url };
    const p = await configured(plugin, settings);
    const msg = asError((await p.process([rec({ payload: { before: null, after: rawData('x') } })]))[0]).message;
    assert.match(msg, /status 401 Unauthorized: invalid api token/);
    assert.ok(!msg.includes('wrong-secret-5678'));
    assert.equal(redactSettings(plugin.params, settings)['apiKey'], '***');
  });

  it('refuses bad settings', async () => {
    assert.throws(() => parseConfig(plugin.params, { apiKey: 'k' }), /required parameter "prompt"/);
    assert.throws(() => parseConfig(plugin.params, { prompt: 'p' }), /required parameter "apiKey"/);
    assert.throws(
      () => parseConfig(plugin.params, { apiKey: 'k', prompt: 'p', 'backoffRetry.factor': '0' }),
      /greater than 0/,
    );
    await assert.rejects(
      configured(plugin, { apiKey: 'k', prompt: 'p', 'response.body': '.Position' }),
      /response\.body/,
    );
  });
});
