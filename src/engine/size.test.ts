import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { OpenCDCRecord, StructuredData } from '../opencdc/record.js';
import { estimateRecordSize } from './size.js';

const record = (key: OpenCDCRecord['key'], after: OpenCDCRecord['payload']['after']): OpenCDCRecord => ({
  position: Buffer.from('p1'),
  operation: 'create',
  metadata: { 'opencdc.collection': 'users' },
  key,
  payload: { before: null, after },
});

/** Many payloads of one shape (the key set of `make(0)`): past the point where a sizing function is compiled. */
function sizes(make: (i: number) => StructuredData, n = 200): number[] {
  return Array.from({ length: n }, (_, i) => estimateRecordSize(record({ id: i }, make(i))));
}

describe('estimateRecordSize', () => {
  it('counts a payload the same before and after its shape is compiled', () => {
    const keys = fc.uniqueArray(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 40 });
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.bigInt(),
      fc.constant(null),
      fc.constant(undefined),
      fc.date({ noInvalidDate: true }),
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
    );
    fc.assert(
      fc.property(keys, fc.array(value, { minLength: 40, maxLength: 40 }), (names, values) => {
        const payload = (): StructuredData => {
          const o: Record<string, unknown> = {};
          names.forEach((k, i) => (o[k] = values[i]));
          return o as StructuredData;
        };
        const all = sizes(payload);
        assert.deepEqual(new Set(all).size, 1, `estimates differ: ${[...new Set(all)].join(', ')}`);
      }),
      { numRuns: 60 },
    );
  });

  it('counts what each record holds once a shape is compiled: longer values, more', () => {
    const est = sizes((i) => ({ name: 'x'.repeat(i), n: i, ok: true }));
    for (let i = 1; i < est.length; i++) assert.equal((est[i] as number) - (est[i - 1] as number), 1, `record ${i}`);
  });

  it('counts a field the compiled shape does not have', () => {
    sizes((i) => ({ a: 'aa', b: i }));
    const plain = estimateRecordSize(record({ id: 1 }, { a: 'aa', b: 1 }));
    const more = estimateRecordSize(record({ id: 1 }, { a: 'aa', b: 1, c: 'z'.repeat(1000) }));
    assert.ok(more >= plain + 1000, `${more} < ${plain} + 1000`);
    const fewer = estimateRecordSize(record({ id: 1 }, { a: 'aa' }));
    assert.ok(fewer < plain, `${fewer} >= ${plain}`);
  });

  it('keeps counting an own __proto__ field', () => {
    const payload = (i: number): StructuredData =>
      JSON.parse(`{"a":${i},"__proto__":"${'q'.repeat(100)}"}`) as StructuredData;
    const est = sizes(payload);
    assert.equal(new Set(est).size, 1);
    const without = estimateRecordSize(record({ id: 1 }, { a: 1 }));
    assert.ok((est[0] as number) >= without + 100, `${est[0]} < ${without} + 100`);
  });
});
