/**
 * Records per second for the `opencdc/json` encoder, against JSON.stringify
 * of the same record (as an object with base64 strings, which is what a naive
 * encoder would hand it: no key sorting, no Go escaping).
 *
 *   node --import tsx bench/opencdc-json.bench.ts
 */
import { decodeRecord, encodeRecord } from '../src/opencdc/json.js';
import type { OpenCDCRecord } from '../src/opencdc/record.js';

function makeRecord(i: number): OpenCDCRecord {
  return {
    position: Buffer.from(`pos-${i}`),
    operation: 'create',
    // Five metadata keys, in insertion (not sorted) order, as sources produce them.
    metadata: {
      'opencdc.readAt': '1700000000000000000',
      'opencdc.collection': 'users',
      'conduit.source.connector.id': 'pipeline1:source1',
      'opencdc.version': 'v1',
      'conduit.source.plugin.name': 'builtin:postgres',
    },
    key: { id: i },
    // About 100 bytes of structured payload.
    payload: {
      before: null,
      after: { id: i, name: 'Jane Doe', email: 'jane@example.com', active: true, balance: 1234.56, city: 'Berlin' },
    },
  };
}

function naive(r: OpenCDCRecord): string {
  return JSON.stringify({
    position: Buffer.from(r.position).toString('base64'),
    operation: r.operation,
    metadata: r.metadata,
    key: r.key,
    payload: r.payload,
  });
}

function measure(name: string, fn: (r: OpenCDCRecord) => string, records: OpenCDCRecord[], ms = 1500): number {
  let sink = 0;
  // Warm up so that the JIT has compiled the hot paths.
  for (let i = 0; i < 200_000; i++) sink += fn(records[i % records.length] as OpenCDCRecord).length;
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10_000; i++) sink += fn(records[(n + i) % records.length] as OpenCDCRecord).length;
    n += 10_000;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  const rate = n / seconds;
  console.log(`${name.padEnd(34)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} records/s  (${sink % 10})`);
  return rate;
}

const records = Array.from({ length: 1024 }, (_, i) => makeRecord(i));
const sample = encodeRecord(records[0] as OpenCDCRecord);
console.log(`record: ${Buffer.byteLength(sample)} bytes of JSON`);
measure('encodeRecord (opencdc/json)', (r) => encodeRecord(r), records);
measure('JSON.stringify (same object)', naive, records);
const texts = records.map((r) => encodeRecord(r));
let j = 0;
measure(
  'decodeRecord',
  () => {
    const r = decodeRecord(texts[j++ % texts.length] as string);
    return r.operation;
  },
  records,
);
