/**
 * unwrap.opencdc against Conduit's documented example and its unit-test cases
 * (structured records, OpenCDC JSON for create, update and delete with and
 * without before, a nested field, and the failing inputs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../../errors/conduit-error.js';
import { silentLogger } from '../../log/logger.js';
import { encodeRecord } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { RecordError, type ProcessedRecord, type Processor } from '../../sdk/processor.js';
import { unwrapOpencdcPlugin } from './index.js';

const ID = 'p:unwrap';

async function configured(settings: Record<string, string> = {}): Promise<Processor> {
  const p = unwrapOpencdcPlugin.create();
  await p.configure(parseConfig(unwrapOpencdcPlugin.params, settings), {
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

function asRecord(r: ProcessedRecord): OpenCDCRecord {
  assert.ok(typeof r === 'object' && !(r instanceof RecordError) && 'position' in r, 'a single record');
  return r;
}

function asError(r: ProcessedRecord): Error {
  assert.ok(r instanceof RecordError, 'a record error');
  return r.error;
}

/** The wrapping record Conduit's tests use: a Kafka source's record holding a generator's record. */
const KAFKA_POSITION = Buffer.from(
  'eyJHcm91cElEIjoiNGQ2ZTBhMjktNzAwZi00Yjk4LWEzY2MtZWUyNzZhZTc4MjVjIiwiVG9waWMiOiJzdHJlYW0tNzhscG5jaHg3dHpweXF6LWdlbmVyYXRvciIsIlBhcnRpdGlvbiI6MCwiT2Zmc2V0IjoyMjF9',
);
const KAFKA_METADATA = {
  'conduit.source.connector.id': 'dest-log-78lpnchx7tzpyqz:source-kafka',
  'kafka.topic': 'stream-78lpnchx7tzpyqz-generator',
  'opencdc.createdAt': '1706028953595000000',
  'opencdc.readAt': '1706028953606997000',
  'opencdc.version': 'v1',
};
const WRAPPED_METADATA = {
  'conduit.source.connector.id': 'source-generator-78lpnchx7tzpyqz:source',
  'opencdc.readAt': '1706028953595546000',
  'opencdc.version': 'v1',
};
const ROW = {
  event_id: 1747353650,
  msg: 'string 0e8955b3-7fb5-4dda-8064-e10dc007f00d',
  pg_generator: false,
  sensor_id: 1250383582,
  triggered: false,
};
const ROW2 = {
  event_id: 1747353658,
  msg: 'string 0f5397c9-31f1-422a-9c9a-26e3574a5c31',
  pg_generator: false,
  sensor_id: 1250383580,
  triggered: false,
};
const WRAPPED_KEY = Buffer.from('17774941-57a2-42fa-b430-8912a9424b3a');

/** A wrapped record as Conduit's tests write it (indented, as a source might). */
function wrappedJson(operation: string, before: unknown, after: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(
      {
        position: 'NzgyNjJmODUtODNmMS00ZGQwLWEyZDAtNTRmNjA1ZjkyYTg0',
        operation,
        metadata: WRAPPED_METADATA,
        key: 'MTc3NzQ5NDEtNTdhMi00MmZhLWI0MzAtODkxMmE5NDI0YjNh',
        payload: { before, after },
      },
      null,
      8,
    ),
  );
}

function kafkaRecord(after: OpenCDCRecord['payload']['after']): OpenCDCRecord {
  return {
    position: KAFKA_POSITION,
    operation: 'create',
    metadata: { ...KAFKA_METADATA },
    key: Buffer.from('one-key-raw-data'),
    payload: { before: null, after },
  };
}

describe('unwrap.opencdc: Conduit examples', () => {
  it('unwraps a structured record, keeping only the wrapping position', async () => {
    const r = asRecord(
      await processOne(
        {},
        {
          position: Buffer.from('wrapping position'),
          operation: 'create',
          metadata: {},
          key: Buffer.from('wrapping key'),
          payload: {
            before: null,
            after: {
              position: Buffer.from('test-position'),
              operation: 'update',
              key: { id: 'test-key' },
              metadata: {},
              payload: {
                before: null,
                after: { msg: 'string 0e8955b3-7fb5-4dda-8064-e10dc007f00d', sensor_id: 1250383582, triggered: false },
              },
            },
          },
        },
      ),
    );
    assert.deepEqual(r, {
      position: Buffer.from('wrapping position'),
      operation: 'update',
      metadata: {},
      key: { id: 'test-key' },
      payload: {
        before: null,
        after: { msg: 'string 0e8955b3-7fb5-4dda-8064-e10dc007f00d', sensor_id: 1250383582, triggered: false },
      },
    });
  });

  it('create with structured data: the wrapped metadata replaces the wrapping one', async () => {
    const r = asRecord(
      await processOne(
        {},
        kafkaRecord({
          position: Buffer.from('NzgyNjJmODUtODNmMS00ZGQwLWEyZDAtNTRmNjA1ZjkyYTg0'),
          operation: 'create',
          metadata: { ...WRAPPED_METADATA },
          key: { id: 'MTc3NzQ5NDEtNTdhMi00MmZhLWI0MzAtODkxMmE5NDI0YjNh' },
          payload: { before: null, after: { ...ROW } },
        }),
      ),
    );
    assert.deepEqual(r, {
      position: KAFKA_POSITION,
      operation: 'create',
      metadata: WRAPPED_METADATA,
      key: { id: 'MTc3NzQ5NDEtNTdhMi00MmZhLWI0MzAtODkxMmE5NDI0YjNh' },
      payload: { before: null, after: ROW },
    });
  });

  const rawCases: Array<[string, string, unknown, unknown]> = [
    ['create with raw data', 'create', null, ROW],
    ['delete with before and with raw data', 'delete', ROW, null],
    ['delete without before and with raw data', 'delete', null, null],
    ['update with before and with raw data', 'update', ROW, ROW2],
    ['update without before and with raw data', 'update', null, ROW],
  ];
  for (const [name, operation, before, after] of rawCases) {
    it(`${name}: OpenCDC JSON, raw key decoded from base64`, async () => {
      const r = asRecord(await processOne({}, kafkaRecord(wrappedJson(operation, before, after))));
      assert.deepEqual(r, {
        position: KAFKA_POSITION,
        operation,
        metadata: WRAPPED_METADATA,
        key: WRAPPED_KEY,
        payload: { before, after },
      });
    });
  }

  it('update without before, raw data in a nested field', async () => {
    const r = asRecord(
      await processOne({ field: '.Payload.After.nested' }, kafkaRecord({ nested: wrappedJson('update', null, ROW) })),
    );
    assert.equal(r.operation, 'update');
    assert.deepEqual(r.payload, { before: null, after: ROW });
    assert.deepEqual(r.key, WRAPPED_KEY);
    assert.deepEqual(r.position, KAFKA_POSITION);
  });
});

describe('unwrap.opencdc: round trips and other fields', () => {
  it('unwraps what the opencdc/json codec wrote, byte for byte', async () => {
    const inner: OpenCDCRecord = {
      position: Buffer.from('inner'),
      operation: 'snapshot',
      metadata: { a: '1', 'opencdc.collection': 'users' },
      key: Buffer.from([0, 1, 2, 255]),
      payload: { before: Buffer.from('raw before'), after: { nested: { list: [1, 'two', null] } } },
    };
    const r = asRecord(await processOne({}, kafkaRecord(Buffer.from(encodeRecord(inner)))));
    assert.deepEqual(r, { ...inner, position: KAFKA_POSITION });
  });

  it('reads a record held as a JSON string in a metadata field', async () => {
    const record = kafkaRecord(null);
    record.metadata['wrapped'] = wrappedJson('create', null, { id: 1 }).toString();
    const r = asRecord(await processOne({ field: '.Metadata["wrapped"]' }, record));
    assert.deepEqual(r.payload.after, { id: 1 });
  });

  it('prints metadata values that are not strings as Go does; a missing key is no key', async () => {
    const r = asRecord(
      await processOne(
        {},
        kafkaRecord({
          operation: 'create',
          metadata: { n: 27, b: true, s: 'x' },
          payload: { before: null, after: null },
        }),
      ),
    );
    assert.deepEqual(r.metadata, { n: '27', b: 'true', s: 'x' });
    assert.equal(r.key, null);
  });

  it('reads structured data whose key and payload are base64 strings, as after json.decode', async () => {
    const r = asRecord(
      await processOne(
        {},
        kafkaRecord({
          operation: 'delete',
          metadata: {},
          key: 'a2V5',
          payload: { before: 'YmVmb3Jl', after: null },
        }),
      ),
    );
    assert.deepEqual(r.key, Buffer.from('key'));
    assert.deepEqual(r.payload, { before: Buffer.from('before'), after: null });
    assert.equal(r.operation, 'delete');
  });
});

describe('unwrap.opencdc: record errors', () => {
  const cases: Array<[string, OpenCDCRecord['payload']['after'], RegExp]> = [
    ['no data in the field', null, /the field is empty/],
    [
      'an invalid operation',
      Buffer.from('{"operation":"foobar","key":"MTc3","payload":{"after":{"msg":"x"}}}'),
      /operation: unknown operation "foobar"/,
    ],
    [
      'invalid metadata',
      Buffer.from('{"operation":"create","metadata":"invalid","payload":{"after":{"msg":"x"}}}'),
      /metadata: expected an object of strings, got the string "invalid"/,
    ],
    [
      'an invalid key',
      Buffer.from('{"operation":"create","metadata":{},"key":1,"payload":{"after":{"msg":"x"}}}'),
      /key: expected a base64 string .*got the number 1/,
    ],
    ['raw data that is not JSON', Buffer.from('this is not a json string'), /not JSON/],
    ['structured data without an operation', { metadata: {}, payload: {} }, /not a record: no operation/],
    ['structured data without metadata', { operation: 'create', payload: {} }, /not a record: no metadata/],
    ['structured data without a payload', { operation: 'create', metadata: {} }, /not a record: no payload/],
    [
      'a structured key that is a number',
      { operation: 'create', metadata: {}, key: 1, payload: {} },
      /key: .*number 1/,
    ],
    [
      'a key that is not base64',
      { operation: 'create', metadata: {}, key: '!!', payload: {} },
      /key: "!!" is not valid base64/,
    ],
  ];
  for (const [name, after, pattern] of cases) {
    it(`${name} fails the record, naming the processor and the field`, async () => {
      const err = asError(await processOne({}, kafkaRecord(after)));
      assert.ok(err instanceof ConduitError);
      assert.equal(err.code, 'processor.failed');
      assert.match(err.message, /^processor p:unwrap \(unwrap\.opencdc\) failed: field \.Payload\.After: /);
      assert.match(err.message, pattern);
    });
  }

  it('one result per record: the records around a failing one are unwrapped', async () => {
    const p = await configured();
    const out = await p.process([
      kafkaRecord(wrappedJson('create', null, ROW)),
      kafkaRecord(Buffer.from('{')),
      kafkaRecord(wrappedJson('delete', ROW, null)),
    ]);
    assert.equal(asRecord(out[0] as ProcessedRecord).operation, 'create');
    assert.ok(out[1] instanceof RecordError);
    assert.equal(asRecord(out[2] as ProcessedRecord).operation, 'delete');
  });
});

describe('unwrap.opencdc: configuration', () => {
  it('accepts .Payload.Before', async () => {
    await configured({ field: '.Payload.Before' });
  });

  it('rejects an invalid reference and the parts of a record that cannot hold one', async () => {
    for (const field of ['.Payload.Something', '.', '.Position', '.Operation', '.Metadata', '.Payload']) {
      await assert.rejects(configured({ field }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed', field);
        assert.equal(e.configPath, '/field');
        assert.match(e.message, /^processor p:unwrap: parameter "field": /);
        return true;
      });
    }
  });
});
