/**
 * cohere.embed against a local fake of Cohere's v2 embed API: Conduit's
 * example (byte for byte), batching by maxTextsPerRequest, the zstd frame
 * (checked with the zstd tool when it is installed), input types, retries and
 * errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { rawData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { closeAllFakes, fakeEmbedding, startCohereFake } from '../ai-common/fakes.js';
import { xxhash64, zstdStored } from '../ai-common/zstd.js';
import { asError, asRecord, assertReadmeTable, configured, rec } from '../testing.js';
import { cohereEmbedPlugin as plugin, EMBED_MODEL_METADATA } from './index.js';

const KEY = 'co-test-key-0123456789';

after(closeAllFakes);

async function setup(settings: Record<string, string> = {}) {
  const fake = await startCohereFake({ apiKey: KEY });
  const p = await configured(plugin, { apiKey: KEY, baseURL: fake.url, 'backoffRetry.min': '1ms', ...settings });
  return { fake, p };
}

/** Reads a frame of raw blocks back (what zstdStored writes), checking the checksum. */
function unstore(frame: Buffer): Buffer {
  assert.equal(frame.readUInt32LE(0), 0xfd2fb528, 'zstd magic');
  let i = 6;
  const parts: Buffer[] = [];
  for (;;) {
    const h = frame.readUIntLE(i, 3);
    assert.equal((h >> 1) & 3, 0, 'raw block');
    parts.push(frame.subarray(i + 3, i + 3 + (h >> 3)));
    i += 3 + (h >> 3);
    if ((h & 1) === 1) break;
  }
  const data = Buffer.concat(parts);
  assert.equal(frame.readUInt32LE(i), Number(xxhash64(data) & 0xffffffffn), 'checksum');
  return data;
}

function hasZstd(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('cohere.embed', () => {
  it('has its parameter table in the README', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });

  it("writes Conduit's bytes for its example embedding [0.1,0.2,0.3]", () => {
    const frame = zstdStored(Buffer.from('[0.1,0.2,0.3]'));
    // From Conduit's example output: magic, header, one raw block, the checksum.
    assert.equal(frame.toString('hex'), '28b52ffd04006900005b302e312c302e322c302e335d895e7848');
  });

  it('stores the zstd-compressed JSON embedding and names the model in the metadata', async () => {
    const { fake, p } = await setup();
    const [out] = await p.process([rec({ metadata: {}, payload: { before: null, after: rawData('test input') } })]);
    const r = asRecord(out);
    assert.deepEqual(r.metadata, { [EMBED_MODEL_METADATA]: 'embed-english-v2.0' });
    const frame = Buffer.from(r.payload.after as Uint8Array);
    assert.equal(unstore(frame).toString(), JSON.stringify(fakeEmbedding('test input', 3)));
    assert.deepEqual(fake.requests[0]?.body, {
      model: 'embed-english-v2.0',
      texts: ['test input'],
      embedding_types: ['float'],
    });
    assert.equal(fake.requests[0]?.path, '/v2/embed');
  });

  it('frames any size the zstd tool reads back', { skip: !hasZstd() && 'the zstd tool is not installed' }, () => {
    for (const n of [0, 1, 1024, 1025, 200_000]) {
      const data = Buffer.alloc(n, 'a1,');
      assert.ok(execFileSync('zstd', ['-d', '-c'], { input: zstdStored(data) }).equals(data), `size ${n}`);
    }
  });

  it('sends maxTextsPerRequest texts per request, in order', async () => {
    const { fake, p } = await setup({
      maxTextsPerRequest: '2',
      model: 'embed-english-v3.0',
      inputType: 'search_document',
      outputField: '.Payload.After.embedding',
    });
    const texts = ['a', 'b', 'c', 'd', 'e'];
    const out = await p.process(texts.map((t) => rec({ payload: { before: null, after: { text: t } } })));
    assert.deepEqual(
      fake.requests.map((r) => r.body.texts.length),
      [2, 2, 1],
    );
    assert.equal(fake.requests[0]?.body.input_type, 'search_document');
    out.forEach((o, i) => {
      const after = asRecord(o).payload.after as Record<string, unknown>;
      assert.equal(after['text'], texts[i]);
      const json = JSON.stringify({ text: texts[i] });
      assert.equal(
        unstore(Buffer.from(after['embedding'] as Uint8Array)).toString(),
        JSON.stringify(fakeEmbedding(json, 3)),
      );
    });
  });

  it('fails the records of a failed request, after the retries, and names the field', async () => {
    const { fake, p } = await setup({ 'backoffRetry.count': '1', maxTextsPerRequest: '1' });
    fake.failNext({ status: 504 }, { status: 504 });
    const out = await p.process([
      rec({ payload: { before: null, after: rawData('x') } }),
      rec({ payload: { before: null, after: rawData('y') } }),
      rec({ payload: { before: null, after: null } }),
    ]);
    assert.match(
      asError(out[0]).message,
      /^processor p:proc \(cohere\.embed\) failed: field \.Payload\.After: POST .*\/v2\/embed: status 504 Gateway Timeout: .*\(after 2 attempts\)$/,
    );
    asRecord(out[1]);
    assert.match(asError(out[2]).message, /unsupported type: the field holds null/);
    assert.equal(fake.requests.length, 3);
  });

  it('refuses a v3 model without inputType, and other bad settings', async () => {
    await assert.rejects(
      configured(plugin, { apiKey: 'k', model: 'embed-english-v3.0' }),
      /inputType is required for model "embed-english-v3.0" \(v3 or higher\)/,
    );
    assert.throws(() => parseConfig(plugin.params, { apiKey: 'k', maxTextsPerRequest: '0' }), /greater than 0/);
    await assert.rejects(configured(plugin, { apiKey: 'k', outputField: '.Metadata.e' }), /outputField/);
  });
});
