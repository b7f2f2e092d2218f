/**
 * unwrap.kafkaconnect against Conduit's documented example and its unit-test
 * cases (structured and raw envelopes), plus key unwrapping and the errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../../errors/conduit-error.js';
import { silentLogger } from '../../log/logger.js';
import type { Data, OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { RecordError, type ProcessedRecord, type Processor } from '../../sdk/processor.js';
import { unwrapKafkaconnectPlugin, unwrapKafkaConnectKey } from './index.js';

const ID = 'p:kc';

async function configured(settings: Record<string, string> = {}): Promise<Processor> {
  const p = unwrapKafkaconnectPlugin.create();
  await p.configure(parseConfig(unwrapKafkaconnectPlugin.params, settings), {
    processorId: ID,
    pipelineId: 'p',
    logger: silentLogger,
  });
  return p;
}

async function processOne(settings: Record<string, string>, record: OpenCDCRecord): Promise<ProcessedRecord> {
  const out = await (await configured(settings)).process([record]);
  assert.equal(out.length, 1, 'one result per record');
  return out[0] as ProcessedRecord;
}

function rec(over: Partial<OpenCDCRecord> = {}): OpenCDCRecord {
  return {
    position: Buffer.from('test position'),
    operation: 'create',
    metadata: {},
    key: null,
    payload: { before: null, after: null },
    ...over,
  };
}

function asRecord(r: ProcessedRecord): OpenCDCRecord {
  assert.ok(typeof r === 'object' && !(r instanceof RecordError) && 'position' in r, 'a single record');
  return r;
}

function asError(r: ProcessedRecord): Error {
  assert.ok(r instanceof RecordError, 'a record error');
  return r.error;
}

describe('unwrap.kafkaconnect: Conduit examples', () => {
  it('unwraps a record serialized as JSON in .Payload.After; the structured key is unwrapped too', async () => {
    const r = asRecord(
      await processOne(
        {},
        rec({
          metadata: { 'metadata-key': 'metadata-value' },
          key: { payload: { id: 27 }, schema: {} },
          payload: {
            before: null,
            after: Buffer.from('{\n"payload": {\n  "description": "test2"\n},\n"schema": {}\n}'),
          },
        }),
      ),
    );
    assert.deepEqual(r, {
      position: Buffer.from('test position'),
      operation: 'create',
      metadata: { 'metadata-key': 'metadata-value' },
      key: { id: 27 },
      payload: { before: null, after: { description: 'test2' } },
    });
  });

  it('structured payload', async () => {
    const r = asRecord(
      await processOne(
        {},
        rec({
          key: { payload: { id: 27 }, schema: {} },
          payload: { before: null, after: { payload: { description: 'test2', id: 27 }, schema: {} } },
        }),
      ),
    );
    assert.equal(r.operation, 'create');
    assert.deepEqual(r.metadata, {});
    assert.deepEqual(r.payload, { before: null, after: { description: 'test2', id: 27 } });
    assert.deepEqual(r.key, { id: 27 });
  });

  it('raw payload: the operation becomes create, a key that is not JSON is kept, before is cleared', async () => {
    const r = asRecord(
      await processOne(
        {},
        rec({
          operation: 'snapshot',
          metadata: { 'metadata-key': 'metadata-value' },
          key: Buffer.from('key'),
          payload: {
            before: { old: true },
            after: Buffer.from('{\n\t"payload": {\n\t\t"description": "test2"\n\t},\n\t"schema": {}\n}'),
          },
        }),
      ),
    );
    assert.deepEqual(r, {
      position: Buffer.from('test position'),
      operation: 'create',
      metadata: { 'metadata-key': 'metadata-value' },
      key: Buffer.from('key'),
      payload: { before: null, after: { description: 'test2' } },
    });
  });
});

describe('unwrap.kafkaconnect: fields and keys', () => {
  it('reads the envelope from a nested field and from .Payload.Before', async () => {
    const envelope = { schema: { type: 'struct' }, payload: { id: 1 } };
    const a = asRecord(
      await processOne({ field: '.Payload.After.kc' }, rec({ payload: { before: null, after: { kc: envelope } } })),
    );
    assert.deepEqual(a.payload, { before: null, after: { id: 1 } });
    const b = asRecord(
      await processOne({ field: '.Payload.Before' }, rec({ payload: { before: envelope, after: null } })),
    );
    assert.deepEqual(b.payload, { before: null, after: { id: 1 } });
  });

  it('reads the envelope from a JSON string inside structured data', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After.value' },
        rec({ payload: { before: null, after: { value: '{"schema":null,"payload":{"n":1}}' } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { n: 1 });
  });

  it('unwraps keys as Conduit does', () => {
    const cases: Array<[Data, Data]> = [
      [Buffer.from('{"schema":{"type":"int32"},"payload":27}'), Buffer.from('27')],
      [Buffer.from('{"payload":"abc"}'), Buffer.from('abc')],
      [Buffer.from('{"payload":{"id":1}}'), { id: 1 }],
      [Buffer.from('{"payload":true}'), Buffer.from('true')],
      [Buffer.from('{"payload":1700000000000}'), Buffer.from('1.7e+12')],
      [{ payload: 27, schema: {} }, Buffer.from('27')],
      [{ payload: null }, null],
      [Buffer.from('{"id":1}'), Buffer.from('{"id":1}')],
      [Buffer.from('[1]'), Buffer.from('[1]')],
      [Buffer.from('not json'), Buffer.from('not json')],
      [{ id: 1 }, { id: 1 }],
      [null, null],
    ];
    for (const [key, want] of cases) assert.deepEqual(unwrapKafkaConnectKey(key), want, JSON.stringify(key));
  });
});

describe('unwrap.kafkaconnect: record errors', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['an empty field', null, /the field is empty/],
    ['raw data that is not JSON', Buffer.from('this is not a json string'), /the raw data is not JSON/],
    ['JSON that is not an object', Buffer.from('"text"'), /holds the string "text", not a JSON object/],
    ['an envelope without payload', { schema: {} }, /has no "payload" field/],
    ['a payload that is not an object', { schema: {}, payload: 3 }, /"payload" .* is the number 3, not an object/],
  ];
  for (const [name, after, pattern] of cases) {
    it(`${name} fails the record, naming the processor and the field`, async () => {
      const err = asError(await processOne({}, rec({ payload: { before: null, after: after as never } })));
      assert.ok(err instanceof ConduitError);
      assert.equal(err.code, 'processor.failed');
      assert.match(err.message, /^processor p:kc \(unwrap\.kafkaconnect\) failed: field \.Payload\.After: /);
      assert.match(err.message, pattern);
    });
  }
});

describe('unwrap.kafkaconnect: configuration', () => {
  it('takes no field (default .Payload.After) or a field under .Payload', async () => {
    await configured();
    await configured({ field: '.Payload.After.something' });
  });

  it('rejects .Key (Conduit: regex ^.Payload) and references that cannot hold a record', async () => {
    assert.throws(() => parseConfig(unwrapKafkaconnectPlugin.params, { field: '.Key' }), {
      code: 'param.validation_failed',
    });
    await assert.rejects(configured({ field: '.Payload' }), {
      code: 'param.validation_failed',
      message: /^processor p:kc: parameter "field": \.Payload cannot hold a wrapped record/,
    });
  });
});
