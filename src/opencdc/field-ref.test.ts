import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { FieldRefError, isRenamable, parseFieldRef, renameField } from './field-ref.js';
import type { OpenCDCRecord } from './record.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function structured(): OpenCDCRecord {
  return {
    position: b('pos'),
    operation: 'update',
    metadata: { foo: 'bar', 'opencdc.readAt': '1' },
    key: { id: 1, nested: { k: 'v' } },
    payload: {
      before: { foo: 'old' },
      after: { foo: { bar: 'baz' }, 'a b': { c: 3 }, list: [1, 2], raw: b('x') },
    },
  };
}

function rawRecord(): OpenCDCRecord {
  return {
    position: b('pos'),
    operation: 'create',
    metadata: {},
    key: b('k'),
    payload: { before: null, after: b('{"foo":1}') },
  };
}

describe('parseFieldRef: get', () => {
  const r = structured();
  const cases: [string, unknown][] = [
    ['.', r],
    ['$', r],
    ['.Position', r.position],
    ['.Operation', 'update'],
    ['.Metadata', r.metadata],
    ['.Metadata.foo', 'bar'],
    ['.Metadata.missing', undefined],
    ['.Metadata["opencdc.readAt"]', '1'],
    ['$.Metadata.foo', 'bar'],
    ['.Key', r.key],
    ['.Key.id', 1],
    ['.Key.nested.k', 'v'],
    ['.Key["nested"]["k"]', 'v'],
    ['.Payload', r.payload],
    ['.Payload.Before', r.payload.before],
    ['.Payload.After', r.payload.after],
    ['.Payload["After"].foo', { bar: 'baz' }],
    ['.Payload.Before.foo', 'old'],
    ['.Payload.After.foo.bar', 'baz'],
    ['.Payload.After.foo.missing', undefined],
    ['.Payload.After.missing.deeper', undefined],
    ['.Payload.After["a b"]["c"]', 3],
    ['.Payload.After["a b"].c', 3],
    ['.Payload.After.list', [1, 2]],
    ['.Payload.After.ünïcödé_1', undefined],
    ['.Payload.After["esc\\"aped\\u00e9\\n"]', undefined],
  ];
  for (const [text, want] of cases) {
    it(text, () => {
      const ref = parseFieldRef(text);
      assert.equal(ref.text, text);
      assert.deepStrictEqual(ref.get(r), want);
    });
  }

  it('unquotes Go strings in brackets', () => {
    const rec = structured();
    parseFieldRef('.Payload.After["q\\"\\\\\\t\\u00e9\\x41"]').set(rec, 1);
    assert.equal((rec.payload.after as Record<string, unknown>)['q"\\\té' + 'A'], 1);
  });

  it('returns undefined below missing data without creating it', () => {
    const rec = rawRecord();
    rec.key = null;
    assert.equal(parseFieldRef('.Key.a.b').get(rec), undefined);
    assert.equal(rec.key, null);
  });

  it('refuses to look inside raw data', () => {
    assert.throws(
      () => parseFieldRef('.Payload.After.foo').get(rawRecord()),
      /raw data cannot be navigated, use json.decode first/,
    );
    assert.throws(() => parseFieldRef('.Payload.After.raw.x').get(structured()), /raw data cannot be navigated/);
    assert.throws(
      () => parseFieldRef('.Payload.After.list.x').get(structured()),
      (err: unknown) =>
        err instanceof FieldRefError && /\.Payload\.After\.list does not contain structured data/.test(err.message),
    );
  });

  it('describes what it points at', () => {
    assert.equal(parseFieldRef('.').target, 'record');
    assert.equal(parseFieldRef('.Metadata["x"]').target, 'metadataField');
    assert.equal(parseFieldRef('.Payload.After').target, 'payloadAfter');
    const f = parseFieldRef('.Payload.After.a["b c"]');
    assert.equal(f.target, 'dataField');
    assert.deepEqual(f.fields, ['a', 'b c']);
    assert.equal(parseFieldRef('.Position').settable, false);
    assert.equal(parseFieldRef('.Operation').deletable, false);
    assert.equal(parseFieldRef('.Key.x').settable, true);
  });
});

describe('parseFieldRef: set', () => {
  const cases: [string, unknown, (r: OpenCDCRecord) => unknown, unknown][] = [
    ['.Operation', 'delete', (r) => r.operation, 'delete'],
    ['.Operation', 4, (r) => r.operation, 'snapshot'],
    ['.Metadata', { a: 'b' }, (r) => r.metadata, { a: 'b' }],
    ['.Metadata', null, (r) => r.metadata, {}],
    ['.Metadata.new', 'v', (r) => r.metadata.new, 'v'],
    ['.Metadata["opencdc.readAt"]', '2', (r) => r.metadata['opencdc.readAt'], '2'],
    ['.Metadata.foo', null, (r) => Object.hasOwn(r.metadata, 'foo'), false],
    ['.Key', 'text', (r) => r.key, b('text')],
    ['.Key', b('bytes'), (r) => r.key, b('bytes')],
    ['.Key', { x: 1 }, (r) => r.key, { x: 1 }],
    ['.Key', null, (r) => r.key, null],
    ['.Key.id', 2, (r) => r.key, { id: 2, nested: { k: 'v' } }],
    ['.Key.a.b.c', true, (r) => (r.key as Record<string, unknown>).a, { b: { c: true } }],
    ['.Payload', { before: null, after: 'x' }, (r) => r.payload, { before: null, after: b('x') }],
    ['.Payload.Before', null, (r) => r.payload.before, null],
    ['.Payload.After.foo.bar', 'new', (r) => (r.payload.after as Record<string, unknown>).foo, { bar: 'new' }],
    [
      '.Payload.After["a b"]["c"]',
      4,
      (r) => (r.payload.after as Record<string, Record<string, unknown>>)['a b'],
      { c: 4 },
    ],
    ['.Payload.After.foo.x', 1, (r) => (r.payload.after as Record<string, unknown>).foo, { bar: 'baz', x: 1 }],
  ];
  for (const [text, value, read, want] of cases) {
    it(`${text} = ${JSON.stringify(value)}`, () => {
      const r = structured();
      parseFieldRef(text).set(r, value);
      assert.deepStrictEqual(read(r), want);
    });
  }

  it('creates structured data where there was none', () => {
    const r = rawRecord();
    parseFieldRef('.Payload.Before.x.y').set(r, 1);
    assert.deepStrictEqual(r.payload.before, { x: { y: 1 } });
    r.key = null;
    parseFieldRef('.Key["a b"]').set(r, 'v');
    assert.deepStrictEqual(r.key, { 'a b': 'v' });
  });

  it('replaces a null intermediate with an object', () => {
    const r = structured();
    (r.payload.after as Record<string, unknown>).n = null;
    parseFieldRef('.Payload.After.n.m').set(r, 1);
    assert.deepStrictEqual((r.payload.after as Record<string, unknown>).n, { m: 1 });
  });

  const refused: [string, unknown, RegExp, () => OpenCDCRecord][] = [
    ['.', {}, /the record is read-only/, structured],
    ['.Position', b('x'), /\.Position is read-only/, structured],
    ['.Operation', 'frobnicate', /unknown operation "frobnicate"/, structured],
    ['.Operation', 5, /unknown operation a number/, structured],
    ['.Operation', null, /unknown operation null/, structured],
    ['.Metadata', 'x', /expected an object of strings/, structured],
    ['.Metadata', { a: 1 }, /expected an object of strings/, structured],
    ['.Metadata.foo', 1, /metadata values are strings/, structured],
    ['.Key', 5, /expected raw data .* got a number/, structured],
    ['.Key', [1], /got an array/, structured],
    ['.Payload', 'x', /expected \{before, after\}/, structured],
    ['.Payload.After.foo', 1, /raw data cannot be navigated, use json\.decode first/, rawRecord],
    ['.Key.id', 1, /\.Key holds raw data: raw data cannot be navigated/, rawRecord],
    ['.Payload.After.foo.bar.baz', 1, /\.Payload\.After\.foo\.bar does not contain structured data/, structured],
    ['.Payload.After.raw.x', 1, /raw data cannot be navigated/, structured],
  ];
  for (const [text, value, re, make] of refused) {
    it(`refuses ${text} = ${JSON.stringify(value) ?? String(value)}`, () => {
      const r = make();
      assert.throws(
        () => parseFieldRef(text).set(r, value),
        (err: unknown) => err instanceof FieldRefError && re.test(err.message),
      );
    });
  }
});

describe('parseFieldRef: delete', () => {
  const cases: [string, (r: OpenCDCRecord) => unknown, unknown][] = [
    ['.Metadata', (r) => r.metadata, {}],
    ['.Metadata.foo', (r) => r.metadata, { 'opencdc.readAt': '1' }],
    ['.Metadata.absent', (r) => r.metadata, { foo: 'bar', 'opencdc.readAt': '1' }],
    ['.Key', (r) => r.key, null],
    ['.Key.nested.k', (r) => r.key, { id: 1, nested: {} }],
    ['.Key.nope.k', (r) => r.key, { id: 1, nested: { k: 'v' } }],
    ['.Payload', (r) => r.payload, { before: null, after: null }],
    ['.Payload.Before', (r) => r.payload.before, null],
    ['.Payload.Before.foo', (r) => r.payload.before, {}],
    ['.Payload.After["a b"]', (r) => Object.keys(r.payload.after as object), ['foo', 'list', 'raw']],
  ];
  for (const [text, read, want] of cases) {
    it(text, () => {
      const r = structured();
      parseFieldRef(text).delete(r);
      assert.deepStrictEqual(read(r), want);
    });
  }

  it('refuses to delete the record, position and operation, and inside raw data', () => {
    for (const text of ['.', '.Position', '.Operation']) {
      assert.throws(() => parseFieldRef(text).delete(structured()), FieldRefError, text);
    }
    assert.throws(() => parseFieldRef('.Payload.After.foo').delete(rawRecord()), /raw data cannot be navigated/);
  });
});

describe('parseFieldRef: rejected forms', () => {
  const rejected: [string, RegExp][] = [
    ['', /starts with "\."/],
    ['foo', /unexpected "f"/],
    ['(.Key)', /unexpected "\("/],
    ['.foo', /unexpected field "foo" \(expected Position, Operation, Metadata, Key or Payload\)/],
    ['.payload.after', /unexpected field "payload"/],
    ['.Position.foo', /\.Position is not a structured field/],
    ['.Operation.foo', /\.Operation is not a structured field/],
    ['.Metadata.foo.bar', /\.Metadata fields are not structured/],
    ['.Metadata["foo"]["bar"]', /\.Metadata fields are not structured/],
    ['.Metadata["foo"', /expected "\]" after the string, got end of input/],
    ['.Metadata[]', /expected a double-quoted string after "\["/],
    [".Metadata['foo']", /expected a double-quoted string/],
    ['.Metadata["foo\n"]', /unterminated quoted string/],
    ['.Metadata["a\\qb"]', /unknown escape \\q/],
    ['.Payload.Middle', /unexpected field "Middle" in \.Payload/],
    ['.Payload.After.', /a field name is missing at the end/],
    ['.Payload..After', /unexpected "\." after "\."/],
    ['.Payload.After.1abc', /cannot start with a digit/],
    ['.Payload.After.a-b', /unexpected "-"/],
    ['.Payload.After a', /unexpected " "/],
    ['.Key[', /expected a double-quoted string after "\[", got end of input/],
    ['["Key"]', /"\[" needs a field before it/],
    ['$.', /expected a field name after "\$\."/],
    ['$Key', /unexpected "K"/],
    ['..', /unexpected "\." after "\."/],
  ];
  for (const [text, re] of rejected) {
    it(JSON.stringify(text), () => {
      assert.throws(
        () => parseFieldRef(text, { configPath: '/processors/0/settings/field' }),
        (err: unknown) =>
          err instanceof ConduitError &&
          err.code === Code.ConfigFieldInvalid &&
          err.configPath === '/processors/0/settings/field' &&
          err.message.startsWith(`invalid field reference ${JSON.stringify(text)}: `) &&
          (err.suggestion ?? '').includes('.Payload.After["a b"]["c"]') &&
          re.test(err.message),
      );
    });
  }
});

describe('renameField', () => {
  it('renames a metadata key and a nested field, keeping the value and the other fields', () => {
    const r = structured();
    assert.equal(renameField(parseFieldRef('.Metadata["opencdc.readAt"]'), r, 'readAt'), true);
    assert.deepEqual(r.metadata, { foo: 'bar', readAt: '1' });
    assert.equal(renameField(parseFieldRef('.Payload.After.foo.bar'), r, 'qux'), true);
    assert.deepEqual((r.payload.after as Record<string, unknown>)['foo'], { qux: 'baz' });
    assert.equal(renameField(parseFieldRef('.Key.nested'), r, 'inner'), true);
    assert.deepEqual(r.key, { id: 1, inner: { k: 'v' } });
  });

  it('returns false and creates nothing when the field or its parent is missing', () => {
    const r = rawRecord();
    r.payload.after = null;
    assert.equal(renameField(parseFieldRef('.Payload.After.a.b'), r, 'c'), false);
    assert.equal(r.payload.after, null);
    assert.equal(renameField(parseFieldRef('.Metadata.nope'), r, 'x'), false);
    assert.deepEqual(r.metadata, {});
  });

  it('refuses a name that is taken, raw data, and references that are not a key or nested field', () => {
    assert.throws(() => renameField(parseFieldRef('.Metadata.foo'), structured(), 'opencdc.readAt'), FieldRefError);
    assert.throws(() => renameField(parseFieldRef('.Payload.After.foo'), rawRecord(), 'x'), /raw data/);
    for (const text of ['.', '.Position', '.Operation', '.Metadata', '.Key', '.Payload', '.Payload.After']) {
      const ref = parseFieldRef(text);
      assert.equal(isRenamable(ref), false, text);
      assert.throws(() => renameField(ref, structured(), 'x'), FieldRefError);
    }
    assert.equal(isRenamable(parseFieldRef('.Payload.Before.foo')), true);
  });
});
