/**
 * Positions of the kafka source, without a broker: the frontier positions are
 * Conduit's JSON, with every partition in the frontier's order and this
 * partition's next offset, and they decode back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodePosition, encodeGroupPosition, frontierPositions } from './position.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('kafka positions', () => {
  it('writes the frontier in its order, with the record partition at its next offset', () => {
    const frontier = [
      { topic: 'a', partition: 0, next: 5n },
      { topic: 'a', partition: 1, next: 7n },
      { topic: 'b"c', partition: 0, next: 9n },
    ];
    for (const [i, p] of frontier.entries()) {
      const at = frontierPositions(p.topic, p.partition, frontier);
      const got = text(at(41n, 42n));
      const offsets = frontier
        .map((q, j) => `${JSON.stringify(`${q.topic}:${q.partition}`)}:${j === i ? 42 : q.next}`)
        .join(',');
      assert.equal(
        got,
        `{"topic":${JSON.stringify(p.topic)},"partition":${p.partition},"offset":41,"offsets":{${offsets}}}`,
      );
    }
    assert.equal(
      text(frontierPositions('t', 0, [{ topic: 't', partition: 0, next: 0n }])(0n, 1n)),
      '{"topic":"t","partition":0,"offset":0,"offsets":{"t:0":1}}',
    );
  });

  it('writes names beyond ASCII as UTF-8', () => {
    const frontier = [{ topic: 'tópico', partition: 0, next: 1n }];
    assert.equal(
      text(frontierPositions('tópico', 0, frontier)(0n, 1n)),
      '{"topic":"tópico","partition":0,"offset":0,"offsets":{"tópico:0":1}}',
    );
  });

  it('decodes what it writes', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ topic: fc.string({ minLength: 1 }), partition: fc.nat(50) }), {
          minLength: 1,
          maxLength: 6,
          selector: (p) => `${p.topic}:${p.partition}`,
        }),
        fc.nat(),
        // Offsets decode as JavaScript numbers: exact below 2^53.
        fc.bigInt({ min: 0n, max: 2n ** 53n - 2n }),
        (parts, pick, offset) => {
          const frontier = parts.map((p, i) => ({ ...p, next: BigInt(i * 3) }));
          const me = frontier[pick % frontier.length] as (typeof frontier)[number];
          const pos = decodePosition(frontierPositions(me.topic, me.partition, frontier)(offset, offset + 1n));
          assert.equal(pos.topic, me.topic);
          assert.equal(pos.partition, me.partition);
          assert.equal(BigInt(pos.offset), offset);
          assert.deepEqual(
            Object.keys(pos.offsets ?? {}),
            frontier.map((p) => `${p.topic}:${p.partition}`),
          );
          assert.equal(pos.offsets?.[`${me.topic}:${me.partition}`], String(offset + 1n));
        },
      ),
    );
  });

  it('writes group positions as Conduit does', () => {
    assert.deepEqual(decodePosition(encodeGroupPosition('g', 't', 2, 41n)), {
      groupID: 'g',
      topic: 't',
      partition: 2,
      offset: 41,
    });
  });
});
