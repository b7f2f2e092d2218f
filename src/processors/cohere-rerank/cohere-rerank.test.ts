/**
 * cohere.rerank against a local fake of Cohere's v2 rerank API: Conduit's
 * example output format, one request per batch, results matched to records
 * by index whatever their order, and errors.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { rawData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { closeAllFakes, fakeRelevance, startCohereFake } from '../ai-common/fakes.js';
import { asError, asRecord, assertReadmeTable, configured, rec } from '../testing.js';
import { cohereRerankPlugin as plugin } from './index.js';

const KEY = 'co-test-key-0123456789';
const QUERY = 'What is the capital of the United States?';

after(closeAllFakes);

async function setup(settings: Record<string, string> = {}, rerankWithoutDocuments = false) {
  const fake = await startCohereFake({ apiKey: KEY, rerankWithoutDocuments });
  const p = await configured(plugin, {
    apiKey: KEY,
    query: QUERY,
    baseURL: fake.url,
    'backoffRetry.min': '1ms',
    ...settings,
  });
  return { fake, p };
}

const text = (b: unknown) => Buffer.from(b as Uint8Array).toString('utf8');

describe('cohere.rerank', () => {
  it('has its parameter table in the README', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });

  it("gives each record its result in Conduit's format, from one request per batch", async () => {
    const { fake, p } = await setup();
    const docs = [
      'Carson City is the capital city of the American state of Nevada.',
      'Washington, D.C. is the capital of the United States.',
      'Paris is the capital of France.',
    ];
    const out = await p.process(docs.map((d) => rec({ payload: { before: null, after: rawData(d) } })));
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(fake.requests[0]?.body, {
      model: 'rerank-v3.5',
      query: QUERY,
      documents: docs,
      return_documents: true,
    });
    out.forEach((o, i) => {
      assert.equal(
        text(asRecord(o).payload.after),
        `{"document":{"text":${JSON.stringify(docs[i])}},"index":${i},"relevance_score":${fakeRelevance(QUERY, docs[i] ?? '')}}`,
      );
    });
  });

  it('keeps the sent text when the API leaves the documents out, and writes into another field', async () => {
    const { p } = await setup({ 'response.body': '.Metadata.rank' }, true);
    const [out] = await p.process([rec({ payload: { before: null, after: { city: 'Washington' } } })]);
    const r = asRecord(out);
    assert.equal(
      r.metadata['rank'],
      `{"document":{"text":"{\\"city\\":\\"Washington\\"}"},"index":0,"relevance_score":${fakeRelevance(QUERY, '{"city":"Washington"}')}}`,
    );
  });

  it('fails the batch on a failed request, naming processor, field and cause', async () => {
    const { fake, p } = await setup({ 'backoffRetry.count': '1' });
    fake.failNext({ status: 500 }, { status: 400, message: 'invalid request: query cannot be empty' });
    const out = await p.process([
      rec({ payload: { before: null, after: rawData('a') } }),
      rec({ payload: { before: null, after: rawData('b') } }),
    ]);
    for (const o of out) {
      assert.match(
        asError(o).message,
        /^processor p:proc \(cohere\.rerank\) failed: field \.Payload\.After: POST .*\/v2\/rerank: status 400 Bad Request: invalid request: query cannot be empty \(after 2 attempts\)$/,
      );
    }
    assert.equal(fake.requests.length, 2);
  });

  it('refuses bad settings', async () => {
    assert.throws(() => parseConfig(plugin.params, { apiKey: 'k' }), /required parameter "query"/);
    await assert.rejects(configured(plugin, { apiKey: 'k', query: 'q', baseURL: 'ftp://x' }), /baseURL/);
  });
});
