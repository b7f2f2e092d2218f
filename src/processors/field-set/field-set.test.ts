/**
 * field.set against Conduit's documented examples (set the operation, add a
 * field, set a field from a template) plus configuration and run-time errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../../errors/conduit-error.js';
import { silentLogger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { runChain } from '../../engine/processor-chain.js';
import { parseConfig } from '../../sdk/params.js';
import { RecordError, type ProcessedRecord, type Processor } from '../../sdk/processor.js';
import { fieldSetPlugin } from './index.js';

const ID = 'p:set';

async function configured(settings: Record<string, string>): Promise<Processor> {
  const p = fieldSetPlugin.create();
  await p.configure(parseConfig(fieldSetPlugin.params, settings), {
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
    position: Buffer.from('1'),
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

describe('field.set: Conduit examples', () => {
  it('sets the record operation to update', async () => {
    const r = asRecord(await processOne({ field: '.Operation', value: 'update' }, rec({ operation: 'create' })));
    assert.equal(r.operation, 'update');
    assert.deepEqual(r.payload, { before: null, after: null });
  });

  it('adds a field to .Payload.After, creating structured data', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After.foo', value: 'bar' },
        rec({ operation: 'snapshot', key: { 'my-key': 'id' } }),
      ),
    );
    assert.deepEqual(r.payload.after, { foo: 'bar' });
    assert.deepEqual(r.key, { 'my-key': 'id' });
    assert.equal(r.operation, 'snapshot');
  });

  it('sets a field with a Go template evaluated against the record', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After.postgres', value: '{{ eq .Metadata.table "postgres" }}' },
        rec({
          operation: 'snapshot',
          metadata: { table: 'postgres' },
          payload: { before: null, after: { postgres: 'false' } },
        }),
      ),
    );
    assert.deepEqual(r.payload.after, { postgres: 'true' });
    assert.deepEqual(r.metadata, { table: 'postgres' });
  });
});

describe('field.set: targets', () => {
  it('sets a metadata key', async () => {
    const r = asRecord(await processOne({ field: '.Metadata.key', value: 'v' }, rec({ metadata: { other: 'o' } })));
    assert.deepEqual(r.metadata, { other: 'o', key: 'v' });
  });

  it('sets a metadata key written in brackets', async () => {
    const r = asRecord(await processOne({ field: '.Metadata["opencdc.collection"]', value: 'users' }, rec()));
    assert.equal(r.metadata['opencdc.collection'], 'users');
  });

  it('creates a nested field, keeping the fields around it', async () => {
    const r = asRecord(
      await processOne(
        { field: '.Payload.After.nested.field', value: 'x' },
        rec({ payload: { before: null, after: { id: 1, nested: { keep: true } } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { id: 1, nested: { keep: true, field: 'x' } });
  });

  it('creates every missing level of a nested field', async () => {
    const r = asRecord(await processOne({ field: '.Payload.After.a.b.c', value: 'deep' }, rec()));
    assert.deepEqual(r.payload.after, { a: { b: { c: 'deep' } } });
  });

  it('uses the record in the template: metadata, payload fields, functions', async () => {
    const r = asRecord(
      await processOne(
        {
          field: '.Payload.After.label',
          value: '{{ .Metadata.table | upper }}-{{ .Payload.After.id }}-{{ .Operation }}',
        },
        rec({ operation: 'update', metadata: { table: 'users' }, payload: { before: null, after: { id: 7 } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { id: 7, label: 'USERS-7-update' });
  });

  it('processes every record of a batch against its own values', async () => {
    const p = await configured({ field: '.Metadata.copy', value: '{{ .Metadata.n }}' });
    const out = (await p.process([1, 2, 3].map((n) => rec({ metadata: { n: String(n) } })))).map(asRecord);
    assert.deepEqual(
      out.map((r) => r.metadata['copy']),
      ['1', '2', '3'],
    );
  });
});

describe('field.set: configuration errors', () => {
  const parse = (settings: Record<string, string>) => () => parseConfig(fieldSetPlugin.params, settings);

  it('requires field and value', () => {
    assert.throws(parse({ value: 'x' }), { code: 'param.required', message: /"field"/ });
    assert.throws(parse({ field: '.Metadata.k' }), { code: 'param.required', message: /"value"/ });
  });

  it('rejects .Position', () => {
    assert.throws(parse({ field: '.Position', value: 'x' }), {
      code: 'param.validation_failed',
      message: /\.Position/,
    });
  });

  it('rejects, at configure, references that cannot be set: $.Position and the whole record', async () => {
    for (const field of ['$.Position', '.']) {
      await assert.rejects(configured({ field, value: 'x' }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed');
        assert.equal(e.configPath, 'field');
        assert.match(e.message, new RegExp(`processor ${ID}: field`));
        return true;
      });
    }
  });

  it('rejects a malformed field reference at configure', async () => {
    for (const field of ['Payload.After', '.Payload.After[foo]', '.Nope']) {
      await assert.rejects(configured({ field, value: 'x' }), (e: unknown) => {
        assert.ok(e instanceof ConduitError);
        assert.equal(e.configPath, 'field', field);
        assert.match(e.message, /processor p:set: field/);
        return true;
      });
    }
  });

  it('rejects a template syntax error at configure, with line and column', async () => {
    await assert.rejects(configured({ field: '.Metadata.k', value: 'id: {{ .Metadata.key ' }), (e: unknown) => {
      assert.ok(e instanceof ConduitError);
      assert.equal(e.code, 'config.field_invalid');
      assert.equal(e.configPath, 'value');
      assert.equal(e.line, 1);
      assert.equal(e.column, 7);
      assert.match(e.message, /processor p:set: value: template: .*1:7: unclosed action/);
      return true;
    });
  });

  it('rejects an unknown template function at configure', async () => {
    await assert.rejects(configured({ field: '.Metadata.k', value: '{{ nosuchfunc .Key }}' }), {
      code: 'config.field_invalid',
      message: /function "nosuchfunc" not defined/,
    });
  });
});

describe('field.set: run-time errors', () => {
  it('a template that fails on a record is a record error naming the processor; the others go on', async () => {
    const p = await configured({ field: '.Metadata.second', value: '{{ index .Payload.After.list 1 }}' });
    const out = await p.process([
      rec({ payload: { before: null, after: { list: ['a', 'b'] } } }),
      rec({ payload: { before: null, after: { list: ['a'] } } }),
      rec({ payload: { before: null, after: { list: ['c', 'd'] } } }),
    ]);
    assert.equal(asRecord(out[0] as ProcessedRecord).metadata['second'], 'b');
    assert.ok(out[1] instanceof RecordError);
    assert.match(out[1].error.message, /p:set\.value.*index out of range: 1/);
    assert.equal(asRecord(out[2] as ProcessedRecord).metadata['second'], 'd');
  });

  it('through the processor chain the record is nacked with an error naming the processor and plugin', async () => {
    const processor = await configured({ field: '.Metadata.x', value: '{{ fail "no way" }}' });
    const nacks: Array<{ error: Error; nodeId: string }> = [];
    const out = await runChain(
      [{ id: ID, plugin: 'field.set', processor, condition: undefined, workers: 1 }],
      [rec()],
      (_, error, nodeId) => nacks.push({ error, nodeId }),
    );
    assert.deepEqual(out, []);
    assert.equal(nacks.length, 1);
    assert.equal(nacks[0]?.nodeId, ID);
    assert.match(nacks[0]?.error.message ?? '', /^processor p:set \(field\.set\) failed: template: .*no way/);
    assert.equal((nacks[0]?.error as ConduitError).code, 'processor.failed');
  });

  it('an operation that is not one is a record error', async () => {
    const out = await processOne(
      { field: '.Operation', value: '{{ .Metadata.op }}' },
      rec({ metadata: { op: 'upsert' } }),
    );
    assert.ok(out instanceof RecordError);
    assert.match(out.error.message, /upsert/);
  });

  it('a nested field under raw data is a record error', async () => {
    const out = await processOne(
      { field: '.Payload.After.foo', value: 'bar' },
      rec({ payload: { before: null, after: Buffer.from('{"foo":1}') } }),
    );
    assert.ok(out instanceof RecordError);
  });
});
