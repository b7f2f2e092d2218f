/**
 * unwrap.debezium against Conduit's documented example and its unit-test
 * cases (raw and structured events, a custom field, a missing payload), plus
 * the bare envelope, every operation, metadata merging and the errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChain } from '../../engine/processor-chain.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { silentLogger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { RecordError, type ProcessedRecord, type Processor } from '../../sdk/processor.js';
import { unwrapDebeziumPlugin } from './index.js';

const ID = 'p:unwrap';

async function configured(settings: Record<string, string> = {}): Promise<Processor> {
  const p = unwrapDebeziumPlugin.create();
  await p.configure(parseConfig(unwrapDebeziumPlugin.params, settings), {
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
    position: Buffer.from('position'),
    operation: 'create',
    metadata: {},
    key: null,
    payload: { before: null, after: null },
    ...over,
  };
}

function asRecord(r: ProcessedRecord): OpenCDCRecord {
  assert.ok(
    typeof r === 'object' && !(r instanceof RecordError) && 'position' in r,
    `a single record, got ${r instanceof RecordError ? r.error.message : typeof r}`,
  );
  return r;
}

function asError(r: ProcessedRecord): Error {
  assert.ok(r instanceof RecordError, 'a record error');
  return r.error;
}

const EVENT_JSON = `{
  "payload": {
    "after": {
      "description": "test1",
      "id": 27
    },
    "before": null,
    "op": "c",
    "source": {
      "opencdc.readAt": "1674061777225877000",
      "opencdc.version": "v1"
    },
    "transaction": null,
    "ts_ms": 1674061777225
  },
  "schema": {}
}`;

function structuredEvent(op = 'u') {
  return {
    payload: {
      after: { description: 'test1', id: 27 },
      before: null,
      op,
      source: { 'opencdc.version': 'v1' },
      transaction: null,
      ts_ms: 1674061777225,
    },
    schema: {},
  };
}

describe('unwrap.debezium: Conduit examples', () => {
  it('unwraps an event nested in .Payload.After as a JSON string, unwrapping the key and merging metadata', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After.nested' },
        rec({
          position: Buffer.from('test-position'),
          key: Buffer.from('{"payload":"27"}'),
          metadata: { 'metadata-key': 'metadata-value' },
          payload: { before: null, after: { nested: EVENT_JSON } },
        }),
      ),
    );
    assert.deepEqual(r, {
      position: Buffer.from('test-position'),
      operation: 'create',
      metadata: {
        'metadata-key': 'metadata-value',
        'opencdc.readAt': '1674061777225877000',
        'opencdc.version': 'v1',
      },
      key: Buffer.from('27'),
      payload: { before: null, after: { description: 'test1', id: 27 } },
    });
  });

  it('raw payload: the event as JSON bytes in .Payload.After', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After' },
        rec({ key: Buffer.from('{"payload":"27"}'), payload: { before: null, after: Buffer.from(EVENT_JSON) } }),
      ),
    );
    assert.deepEqual(r, {
      position: Buffer.from('position'),
      operation: 'create',
      metadata: { 'opencdc.readAt': '1674061777225877000', 'opencdc.version': 'v1' },
      key: Buffer.from('27'),
      payload: { before: null, after: { description: 'test1', id: 27 } },
    });
  });

  it('structured payload: ts_ms becomes opencdc.readAt, the key payload 27 becomes raw "27"', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After' },
        rec({
          metadata: { 'conduit.version': 'v0.4.0' },
          key: { payload: 27, schema: {} },
          payload: { before: null, after: structuredEvent('u') },
        }),
      ),
    );
    assert.equal(r.operation, 'update');
    assert.deepEqual(r.metadata, {
      'opencdc.readAt': '1674061777225000000',
      'opencdc.version': 'v1',
      'conduit.version': 'v0.4.0',
    });
    assert.deepEqual(r.payload, { before: null, after: { description: 'test1', id: 27 } });
    assert.deepEqual(r.key, Buffer.from('27'));
  });

  it('structured data without a payload field is a record error', async () => {
    const err = asError(
      await processOne(
        {},
        rec({
          metadata: { 'conduit.version': 'v0.4.0' },
          key: { payload: 27, schema: {} },
          payload: { before: null, after: { foo: 'bar', schema: {} } },
        }),
      ),
    );
    assert.match(err.message, /^processor p:unwrap \(unwrap\.debezium\) failed: field \.Payload\.After: .*"payload"/);
  });

  it('custom field in brackets, structured payload', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After["debezium_event"]' },
        rec({
          metadata: { 'conduit.version': 'v0.4.0' },
          key: { payload: 27, schema: {} },
          payload: { before: null, after: { debezium_event: structuredEvent('u') } },
        }),
      ),
    );
    assert.equal(r.operation, 'update');
    assert.deepEqual(r.payload.after, { description: 'test1', id: 27 });
    assert.deepEqual(r.key, Buffer.from('27'));
    assert.equal(r.metadata['conduit.version'], 'v0.4.0');
  });
});

describe('unwrap.debezium: events', () => {
  it('maps c, u, d, r and $unset to create, update, delete, snapshot and update', async () => {
    const p = await configured();
    const ops = ['c', 'u', 'd', 'r', '$unset'];
    const out = await p.process(ops.map((op) => rec({ payload: { before: null, after: structuredEvent(op) } })));
    assert.deepEqual(
      out.map((r) => asRecord(r).operation),
      ['create', 'update', 'delete', 'snapshot', 'update'],
    );
  });

  it('unwraps a bare event (no schema/payload wrapper) as well', async () => {
    const bare = JSON.stringify({
      before: { id: 1, name: 'old' },
      after: null,
      op: 'd',
      source: { connector: 'postgresql', table: 'users' },
      ts_ms: 1700000000123,
    });
    const r = asRecord(await processOne({}, rec({ payload: { before: null, after: Buffer.from(bare) } })));
    assert.equal(r.operation, 'delete');
    assert.deepEqual(r.payload, { before: { id: 1, name: 'old' }, after: null });
    assert.deepEqual(r.metadata, {
      connector: 'postgresql',
      table: 'users',
      'opencdc.readAt': '1700000000123000000',
    });
  });

  it('keeps the position and replaces the rest; string before/after become raw data', async () => {
    const event = { payload: { before: 'old text', after: 'new text', op: 'u', source: {} } };
    const r = asRecord(
      await processOne({}, rec({ operation: 'snapshot', payload: { before: { x: 1 }, after: event } })),
    );
    assert.deepEqual(r.position, Buffer.from('position'));
    assert.deepEqual(r.payload, { before: Buffer.from('old text'), after: Buffer.from('new text') });
  });

  it('flattens other fields under debezium. and nested source fields with dots; source wins', async () => {
    const event = {
      payload: {
        after: { id: 1 },
        op: 'c',
        source: { db: 'shop', pos: { lsn: 42, snapshot: false }, 'opencdc.readAt': '5' },
        transaction: { id: 'tx-1', total_order: 3, data_collection_order: 1 },
        ts_ms: 1000,
      },
    };
    const r = asRecord(
      await processOne({}, rec({ metadata: { db: 'mine', keep: 'me' }, payload: { before: null, after: event } })),
    );
    assert.deepEqual(r.metadata, {
      keep: 'me',
      db: 'shop',
      'pos.lsn': '42',
      'pos.snapshot': 'false',
      'opencdc.readAt': '5',
      'debezium.transaction.id': 'tx-1',
      'debezium.transaction.total_order': '3',
      'debezium.transaction.data_collection_order': '1',
    });
  });

  it('leaves a key that is not an envelope as it is; unwraps structured key payloads', async () => {
    const p = await configured();
    const keys = [Buffer.from('plain'), { id: 1 }, Buffer.from('{"schema":{},"payload":{"id":5}}'), null];
    const out = await p.process(keys.map((key) => rec({ key, payload: { before: null, after: structuredEvent() } })));
    assert.deepEqual(
      out.map((r) => asRecord(r).key),
      [Buffer.from('plain'), { id: 1 }, { id: 5 }, null],
    );
  });

  it('one result per record: a bad record between good ones fails alone', async () => {
    const p = await configured();
    const out = await p.process([
      rec({ payload: { before: null, after: structuredEvent('c') } }),
      rec({ payload: { before: null, after: Buffer.from('{not json') } }),
      rec({ payload: { before: null, after: structuredEvent('d') } }),
    ]);
    assert.equal(out.length, 3);
    assert.equal(asRecord(out[0] as ProcessedRecord).operation, 'create');
    assert.match(asError(out[1] as ProcessedRecord).message, /field \.Payload\.After: the raw data is not JSON/);
    assert.equal(asRecord(out[2] as ProcessedRecord).operation, 'delete');
  });
});

describe('unwrap.debezium: record errors', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['an empty field', null, /field \.Payload\.After: the field is empty/],
    ['JSON that is not an object', Buffer.from('[1,2]'), /holds an array, not a JSON object/],
    ['a payload that is not an object', { payload: 'x' }, /"payload" .* is the string "x", not an object/],
    [
      'an event without after, source and op',
      { payload: { before: null } },
      /not a Debezium event: "after", "source", "op" missing/,
    ],
    ['an unknown op', { payload: { after: null, source: {}, op: 'x' } }, /"op" "x" is not a Debezium operation/],
    ['an op that is not a string', { payload: { after: null, source: {}, op: 1 } }, /"op" is the number 1/],
    ['an after that is a number', { payload: { after: 5, source: {}, op: 'c' } }, /"after" is the number 5/],
    ['a ts_ms that is not a number', { payload: { after: null, source: {}, op: 'c', ts_ms: 'x' } }, /"ts_ms"/],
  ];
  for (const [name, after, pattern] of cases) {
    it(`${name} fails the record, naming the processor and the field`, async () => {
      const err = asError(await processOne({}, rec({ payload: { before: null, after: after as never } })));
      assert.ok(err instanceof ConduitError);
      assert.equal(err.code, 'processor.failed');
      assert.match(err.message, /^processor p:unwrap \(unwrap\.debezium\) failed: field \.Payload\.After: /);
      assert.match(err.message, pattern);
    });
  }

  it('a field under raw data fails the record', async () => {
    const err = asError(
      await processOne({ field: '.Payload.After.event' }, rec({ payload: { before: null, after: Buffer.from('{}') } })),
    );
    assert.match(err.message, /field \.Payload\.After\.event: .*raw data/);
  });

  it('through the processor chain the error reaches the nack as it is', async () => {
    const processor = await configured();
    const nacks: Error[] = [];
    const out = await runChain(
      [{ id: ID, plugin: 'unwrap.debezium', processor, condition: undefined, workers: 1 }],
      [rec({ payload: { before: null, after: Buffer.from('nope') } })],
      (_, error) => nacks.push(error),
    );
    assert.deepEqual(out, []);
    assert.equal(nacks.length, 1);
    assert.match(nacks[0]?.message ?? '', /^processor p:unwrap \(unwrap\.debezium\) failed: field \.Payload\.After: /);
  });
});

describe('unwrap.debezium: configuration', () => {
  it('defaults field to .Payload.After', () => {
    assert.equal(parseConfig(unwrapDebeziumPlugin.params, {}).string('field'), '.Payload.After');
  });

  it('rejects a field outside .Payload (Conduit: regex ^.Payload)', () => {
    assert.throws(() => parseConfig(unwrapDebeziumPlugin.params, { field: '.Key' }), {
      code: 'param.validation_failed',
      message: /"field".*\^\.Payload/,
    });
  });

  it('rejects at configure a malformed reference and .Payload as a whole', async () => {
    for (const field of ['.Payload.Something', '.Payload', '.Payload.After[x]']) {
      await assert.rejects(configured({ field }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed');
        assert.equal(e.configPath, '/field');
        assert.match(e.message, /^processor p:unwrap: parameter "field": /);
        return true;
      });
    }
  });
});
