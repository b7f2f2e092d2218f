import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { encodeRecord } from '../opencdc/json.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { byteWriterOf, createFormatter, parseFormatOptions, RECORD_FORMATS, validateFormat } from './formats.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function rec(r: Partial<OpenCDCRecord>): OpenCDCRecord {
  return {
    position: r.position ?? b('foo'),
    operation: r.operation ?? 'create',
    metadata: r.metadata ?? { 'conduit.source.plugin.name': 'example' },
    key: r.key ?? b('bar'),
    payload: r.payload ?? { before: null, after: null },
  };
}

// The fixed tail of every Debezium envelope schema (op, ts_ms, transaction).
const TAIL =
  '{"type":"string","optional":false,"field":"op"},' +
  '{"type":"int64","optional":true,"field":"ts_ms"},' +
  '{"type":"struct","optional":true,"fields":[' +
  '{"type":"string","optional":false,"field":"id"},' +
  '{"type":"int64","optional":false,"field":"total_order"},' +
  '{"type":"int64","optional":false,"field":"data_collection_order"}],"field":"transaction"}';
const SOURCE_SCHEMA =
  '{"type":"struct","optional":true,"fields":[{"type":"string","optional":false,"field":"conduit.source.plugin.name"}],"field":"source"}';

describe('opencdc/json', () => {
  const r = rec({
    metadata: { 'opencdc.readAt': '1', 'conduit.source.plugin.name': 'example' },
    payload: { before: null, after: { foo: 'bar', baz: '<qux>' } },
  });

  it('equals encodeRecord', () => {
    assert.equal(createFormatter('opencdc/json', '')(r), encodeRecord(r));
    assert.equal(createFormatter('', '')(r), encodeRecord(r), 'empty format means the default');
    assert.equal(createFormatter(' opencdc/json ', '')(r), encodeRecord(r));
  });

  it('has a byte writer that writes the formatted text as UTF-8, honouring position.excluded', () => {
    for (const options of ['', 'position.excluded=true']) {
      const format = createFormatter('opencdc/json', options);
      const writeInto = byteWriterOf(format);
      assert.ok(writeInto);
      const sink = { buf: Buffer.alloc(1), off: 0 };
      writeInto(r, sink);
      assert.equal(sink.buf.subarray(0, sink.off).toString('utf8'), format(r));
    }
    assert.equal(byteWriterOf(createFormatter('debezium/json', '')), undefined);
    assert.equal(byteWriterOf(createFormatter('template', '{{ .Operation }}')), undefined);
    assert.equal(
      byteWriterOf(() => ''),
      undefined,
    );
  });

  it('takes position.excluded', () => {
    const out = createFormatter('opencdc/json', 'position.excluded=true')(r) as string;
    assert.ok(out.startsWith('{"position":null,"operation":"create"'), out);
    assert.equal(createFormatter('opencdc/json', 'position.excluded=F')(r), encodeRecord(r));
    const err = validateFormat('opencdc/json', 'position.excluded=maybe');
    assert.ok(err instanceof ConduitError);
    assert.equal(err.code, Code.ParamValidation);
    assert.equal(err.configPath, 'sdk.record.format.options');
    assert.match(
      err.message,
      /failed to parse position\.excluded: strconv\.ParseBool: parsing "maybe": invalid syntax/,
    );
  });
});

describe('debezium/json', () => {
  it('wraps a create with structured data (golden)', () => {
    const r = rec({
      metadata: { 'conduit.source.plugin.name': 'example', 'opencdc.readAt': '1700000000123456789' },
      payload: { before: null, after: { foo: 'bar', baz: 'qux', n: 1, f: 1.5 } },
    });
    const fields =
      '[{"type":"string","optional":false,"field":"baz"},{"type":"double","optional":false,"field":"f"},' +
      '{"type":"string","optional":false,"field":"foo"},{"type":"int64","optional":false,"field":"n"}]';
    assert.equal(
      createFormatter('debezium/json', 'debezium.schema.name=custom.name')(r),
      '{"schema":{"type":"struct","optional":false,"name":"custom.name","fields":[' +
        `{"type":"struct","optional":true,"fields":${fields},"field":"before"},` +
        `{"type":"struct","optional":true,"fields":${fields},"field":"after"},` +
        '{"type":"struct","optional":true,"fields":[{"type":"string","optional":false,"field":"conduit.source.plugin.name"},' +
        '{"type":"string","optional":false,"field":"opencdc.readAt"}],"field":"source"},' +
        TAIL +
        ']},"payload":{"before":null,"after":{"baz":"qux","f":1.5,"foo":"bar","n":1},' +
        '"source":{"conduit.source.plugin.name":"example","opencdc.readAt":"1700000000123456789"},' +
        '"op":"c","ts_ms":1700000000123,"transaction":null}}',
    );
  });

  it('wraps a delete with raw data that is not JSON under opencdc.rawData (golden)', () => {
    // conduit-connector-sdk TestDebeziumConverter_RawData, encoded.
    const r = rec({ operation: 'delete', payload: { before: b('foo'), after: null } });
    const raw = '[{"type":"bytes","optional":true,"field":"opencdc.rawData"}]';
    assert.equal(
      createFormatter('debezium/json', '')(r),
      '{"schema":{"type":"struct","optional":false,"fields":[' +
        `{"type":"struct","optional":true,"fields":${raw},"field":"before"},` +
        `{"type":"struct","optional":true,"fields":${raw},"field":"after"},` +
        SOURCE_SCHEMA +
        ',' +
        TAIL +
        ']},"payload":{"before":{"opencdc.rawData":"Zm9v"},"after":null,' +
        '"source":{"conduit.source.plugin.name":"example"},"op":"d","transaction":null}}',
    );
  });

  it('wraps an update, each side with its own schema', () => {
    const r = rec({
      operation: 'update',
      payload: { before: { bar: 123 }, after: { foo: 'bar', nested: { list: [true], bytes: b('x'), none: null } } },
    });
    const out = JSON.parse(createFormatter('debezium/json', '')(r) as string);
    assert.deepEqual(out.schema.fields[0], {
      type: 'struct',
      optional: true,
      fields: [{ type: 'int64', optional: false, field: 'bar' }],
      field: 'before',
    });
    assert.deepEqual(out.schema.fields[1], {
      type: 'struct',
      optional: true,
      fields: [
        { type: 'string', optional: false, field: 'foo' },
        {
          type: 'struct',
          optional: true,
          fields: [
            { type: 'bytes', optional: true, field: 'bytes' },
            { type: 'array', optional: true, items: { type: 'boolean', optional: false }, field: 'list' },
            { type: 'string', optional: true, field: 'none' },
          ],
          field: 'nested',
        },
      ],
      field: 'after',
    });
    assert.deepEqual(out.payload, {
      before: { bar: 123 },
      after: { foo: 'bar', nested: { bytes: 'eA==', list: [true], none: null } },
      source: { 'conduit.source.plugin.name': 'example' },
      op: 'u',
      transaction: null,
    });
  });

  it('wraps a snapshot whose raw data holds a JSON object (numbers are doubles)', () => {
    const r = rec({
      operation: 'snapshot',
      metadata: { 'opencdc.readAt': 'not a number' },
      payload: { before: null, after: b('{"id":1,"tags":[],"xs":[2,3]}') },
    });
    const out = JSON.parse(createFormatter('debezium/json', '')(r) as string);
    assert.equal(out.payload.op, 'r');
    assert.equal(out.payload.ts_ms, undefined, 'ts_ms is omitted when readAt is not a number');
    assert.deepEqual(out.payload.after, { id: 1, tags: [], xs: [2, 3] });
    assert.deepEqual(out.schema.fields[1].fields, [
      { type: 'double', optional: false, field: 'id' },
      { type: 'array', optional: true, items: { type: 'string', optional: true }, field: 'tags' },
      { type: 'array', optional: true, items: { type: 'double', optional: false }, field: 'xs' },
    ]);
    assert.deepEqual(out.schema.fields[2], {
      type: 'struct',
      optional: true,
      fields: [{ type: 'string', optional: false, field: 'opencdc.readAt' }],
      field: 'source',
    });
  });

  it('uses debezium.rawData.key, and treats empty raw data and JSON null as no data', () => {
    const f = createFormatter('debezium/json', 'debezium.rawData.key=raw,debezium.schema.name=s');
    const out = JSON.parse(f(rec({ payload: { before: b(''), after: b('[1,2]') } })) as string);
    assert.equal(out.schema.name, 's');
    assert.deepEqual(out.payload.before, null);
    assert.deepEqual(out.payload.after, { raw: 'WzEsMl0=' });
    const none = JSON.parse(f(rec({ metadata: {}, payload: { before: b('null'), after: null } })) as string);
    assert.deepEqual(none.schema.fields[0], { type: 'struct', optional: true, field: 'before' });
    assert.deepEqual(none.schema.fields[2], { type: 'struct', optional: true, field: 'source' });
    assert.deepEqual(none.payload, { before: null, after: null, source: {}, op: 'c', transaction: null });
  });

  it('rounds readAt down to milliseconds', () => {
    const f = createFormatter('debezium/json', '');
    const ts = (v: string): unknown =>
      JSON.parse(f(rec({ metadata: { 'opencdc.readAt': v } })) as string).payload.ts_ms;
    assert.equal(ts('1700000000999999999'), 1700000000999);
    assert.equal(ts('-1'), -1);
    assert.equal(ts('999999'), undefined);
    assert.equal(ts('99999999999999999999'), undefined, 'out of int64 range');
  });
});

describe('template', () => {
  // The cases of conduit-connector-sdk TestTemplateRecordSerializer.
  const r = rec({ payload: { before: null, after: { foo: 'bar', baz: 'qux' } } });

  it('prints the Go record', () => {
    assert.equal(
      createFormatter('template', '{{ . }}')(r),
      '{foo create map[conduit.source.plugin.name:example] [98 97 114] {<nil> map[baz:qux foo:bar]} <nil>}',
    );
  });

  it('with toJson equals opencdc/json', () => {
    assert.equal(createFormatter('template', '{{ toJson . }}')(r), encodeRecord(r));
  });

  it('prints metadata as a Go map', () => {
    assert.equal(createFormatter('template', '{{ .Metadata }}')(r), 'map[conduit.source.plugin.name:example]');
  });

  it('prints raw data with printf %s', () => {
    const raw = rec({ payload: { before: null, after: b('my raw data') } });
    assert.equal(createFormatter('template', '{{ printf "%s" .Payload.After }}')(raw), 'my raw data');
  });

  it('reports a template that does not compile', () => {
    const err = validateFormat('template', '{{ bad }');
    assert.ok(err instanceof ConduitError);
    assert.equal(err.code, Code.ParamValidation);
    assert.equal(err.configPath, 'sdk.record.format.options');
    assert.match(err.message, /^invalid sdk\.record\.format\.options for "template": invalid template: /);
  });

  it('fails on a missing field when it runs', () => {
    assert.throws(() => createFormatter('template', '{{ .NonExistentKey }}')(r), /NonExistentKey/);
  });
});

describe('format names and options', () => {
  it('lists the formats as the SDK does', () => {
    assert.deepEqual(RECORD_FORMATS, ['debezium/json', 'opencdc/json', 'template']);
  });

  for (const bad of ['json', 'opencdc', 'opencdc/avro', 'debezium/', 'Debezium/json', 'opencdc/json/x', 'templates']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => createFormatter(bad, ''),
        (err: unknown) =>
          err instanceof ConduitError &&
          err.code === Code.ParamValidation &&
          err.configPath === 'sdk.record.format' &&
          err.message ===
            `invalid sdk.record.format: ${JSON.stringify(bad)} not found in [debezium/json opencdc/json template]` &&
          (err.suggestion ?? '').includes('opencdc/json, debezium/json') === false &&
          (err.suggestion ?? '').includes('debezium/json, opencdc/json, template'),
      );
      assert.ok(validateFormat(bad, '') instanceof ConduitError);
    });
  }

  it('accepts good formats in validateFormat', () => {
    assert.equal(validateFormat('opencdc/json', ''), undefined);
    assert.equal(validateFormat('debezium/json', 'debezium.schema.name=x'), undefined);
  });

  it('splits options like the SDK (no trimming inside, last key wins, bare key is empty)', () => {
    assert.deepEqual(
      [...parseFormatOptions(' a=1,b=x=y, c ,a=2,d ')],
      [
        ['a', '2'],
        ['b', 'x=y'],
        [' c ', ''],
        ['d', ''],
      ],
    );
    assert.equal(parseFormatOptions('   ').size, 0);
  });
});
