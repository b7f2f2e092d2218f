/**
 * The produce requests of produce.ts against the client's own encoding: the same messages give the same
 * bytes (record batches, compressed or not, with keys, null keys and headers; whole Produce requests), and
 * the partitioner's murmur2 gives the client's hash. The broker's view is kafka.test.ts's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createRecordsBatch, murmur2 as clientMurmur2, produceV11 } from '@platformatic/kafka';
import { murmur2, produceRequest, recordBatch, type OutMessage } from './produce.js';

const NOW = 1_764_000_000_000n;

function sample(n: number, withHeaders: boolean): OutMessage[] {
  const out: OutMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m: OutMessage = { topic: 't', value: randomBytes((i * 37) % 300) };
    if (i % 3 !== 0) m.key = randomBytes(i % 20);
    if (withHeaders && i % 4 !== 1) {
      m.headers = new Map(
        i % 4 === 2
          ? []
          : [
              ['opencdc.collection', `c${i}`],
              ['ünïcode', 'välue'],
            ],
      );
    }
    out.push(m);
  }
  return out;
}

/** The messages as the client's producer hands them to createRecordsBatch (headers serialized). */
function clientMessages(messages: OutMessage[], partition = 0) {
  return messages.map((m) => ({
    topic: m.topic,
    partition,
    key: m.key,
    value: m.value,
    timestamp: NOW,
    headers: new Map([...(m.headers ?? new Map<string, string>())].map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
  }));
}

describe('kafka produce encoding', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4']) {
    for (const withHeaders of [false, true]) {
      it(`writes the client's record batch (${compression}${withHeaders ? ', headers' : ''})`, () => {
        const messages = sample(200, withHeaders);
        const mine = recordBatch(messages, NOW, 42n, 3, 1000, compression);
        const theirs = createRecordsBatch(clientMessages(messages), {
          compression: compression as 'none',
          producerId: 42n,
          producerEpoch: 3,
          sequences: { getWithDefault: () => 1000 } as never,
        }).buffer;
        assert.equal(mine.toString('hex'), theirs.toString('hex'));
      });
    }
  }

  it('writes a non-idempotent batch as the client does (producer id -1, sequence 0)', () => {
    const messages = sample(5, false);
    const mine = recordBatch(messages, NOW, -1n, 0, 0, 'none');
    const theirs = createRecordsBatch(clientMessages(messages), {}).buffer;
    assert.deepEqual(mine, theirs);
  });

  it("writes the client's Produce request for several topics and partitions", () => {
    const a = sample(7, true);
    const b = sample(4, false).map((m) => ({ ...m, topic: 'another' }));
    const batches = [
      { topic: 't', partition: 0, count: 4, bytes: recordBatch(a.slice(0, 4), NOW, 5n, 1, 10, 'none') },
      { topic: 't', partition: 2, count: 3, bytes: recordBatch(a.slice(4), NOW, 5n, 1, 20, 'none') },
      { topic: 'another', partition: 1, count: 4, bytes: recordBatch(b, NOW, 5n, 1, 0, 'none') },
    ];
    const mine = produceRequest(-1, 5000, batches).buffer;
    const seq = new Map([
      ['t:0', 10],
      ['t:2', 20],
    ]);
    const messages = [
      ...clientMessages(a.slice(0, 4), 0),
      ...clientMessages(a.slice(4), 2),
      ...clientMessages(b, 1).map((m) => ({ ...m, topic: 'another' })),
    ];
    const theirs = produceV11.createRequest(-1, 5000, messages, {
      producerId: 5n,
      producerEpoch: 1,
      sequences: { getWithDefault: (k: string, d: number) => seq.get(k) ?? d } as never,
    }).buffer;
    assert.equal(mine.toString('hex'), theirs.toString('hex'));
  });

  it("hashes keys as the client's partitioner does (murmur2, unsigned)", () => {
    for (let len = 0; len < 64; len++) {
      for (let k = 0; k < 20; k++) {
        const key = randomBytes(len);
        assert.equal(murmur2(key), clientMurmur2(key) >>> 0, key.toString('hex'));
      }
    }
  });
});
