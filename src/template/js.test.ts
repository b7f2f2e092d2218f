import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../errors/conduit-error.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { compileTemplate, TemplateExecError } from './index.js';

const rec: OpenCDCRecord = {
  position: Buffer.from('pos-1'),
  operation: 'update',
  metadata: { kind: 'a', 'opencdc.collection': 'users' },
  key: { id: 7n },
  payload: { before: null, after: { name: 'Ann', age: 30, tags: ['x', 'y'], bytes: Buffer.from('hi') } },
};
const raw: OpenCDCRecord = {
  position: Buffer.from('42'),
  operation: 'create',
  metadata: {},
  key: Buffer.from('k1'),
  payload: { before: null, after: Buffer.from('hello') },
};

describe('js: expressions', () => {
  const cases: Array<[string, OpenCDCRecord, string]> = [
    ['js: Payload.After.name', rec, 'Ann'],
    ['js:Payload.After.age + 1', rec, '31'],
    ['  js: $.Payload.After.name.toUpperCase()', rec, 'ANN'],
    ['js: record.payload.after.tags.join("+")', rec, 'x+y'],
    ['js: Metadata["opencdc.collection"] + "-" + Operation', rec, 'users-update'],
    ['js: record.operation === "update"', rec, 'true'],
    ['js: Position', rec, 'pos-1'],
    ['js: Key.id * 2n', rec, '14'],
    ['js: Payload.After.bytes', rec, 'hi'],
    ['js: Key + ":" + Payload.After', raw, 'k1:hello'],
    ['js: record.key', raw, 'k1'],
    ['js: Payload.After.tags', rec, '["x","y"]'],
    ['js: Payload.Before', rec, '<nil>'],
    ['js: Payload.After.missing', rec, '<no value>'],
    ['js: `${Payload.After.name}/${Payload.After.age}` // a comment', rec, 'Ann/30'],
    ['js: Payload.After.age > 18 ? "adult" : "minor"', rec, 'adult'],
    ['js: Math.max(Payload.After.age, 40)', rec, '40'],
    ['js: /^A/.test(Payload.After.name)', rec, 'true'],
    // The lazily copied parts are own enumerable properties, so the objects serialize and list whole.
    ['js: JSON.stringify(Payload)', raw, '{"Before":null,"After":"hello"}'],
    ['js: Object.keys(record).join()', rec, 'position,operation,metadata,key,payload'],
    ['js: Object.keys($).join()', rec, 'Position,Operation,Metadata,Key,Payload'],
    ['js: Object.keys(record.payload).join()', rec, 'before,after'],
  ];
  for (const [src, r, want] of cases) {
    it(`${src} → ${want}`, () => assert.equal(compileTemplate(src, { name: 'p.value' }).execute(r), want));
  }

  it('condition mode: truthiness for non-strings, strings as is', () => {
    const c = (s: string): string => compileTemplate(s, { name: 'p.condition', condition: true }).execute(rec);
    assert.equal(c('js: Payload.After.age'), 'true');
    assert.equal(c('js: Payload.After.missing'), 'false');
    assert.equal(c('js: Payload.Before'), 'false');
    assert.equal(c('js: Metadata.kind === "b"'), 'false');
    assert.equal(c('js: "true"'), 'true');
  });

  it('the record seen by the expression is a copy: the host record is untouched', () => {
    const r = structuredClone(rec);
    assert.equal(compileTemplate('js: (Payload.After.tags.push("z"), Payload.After.tags.length)').execute(r), '3');
    assert.deepEqual((r.payload.after as { tags: string[] }).tags, ['x', 'y']);
  });

  const bad: Array<[string, string, number]> = [
    ['js: 1 +', 'Unexpected token', 8],
    ['js: x', '"x" is not defined', 5],
    ['js: (() => 1)()', 'function literals not allowed', 6],
    ['js: [1].map(function (v) { return v })', 'function literals not allowed', 13],
    ['js: Payload.After.name = "x"', 'assignments not allowed', 5],
    ['js: 1; 2', 'unexpected text after the expression', 6],
    ['js: globalThis', '"globalThis" is not defined', 5],
    ['js: process.exit()', '"process" is not defined', 5],
    ['js: require("fs")', '"require" is not defined', 5],
    ['js: delete Payload.After', 'delete not allowed', 5],
    ['js: import("fs")', 'import() not allowed', 5],
    ['js:\n  class {}', 'classes not allowed', 3],
  ];
  for (const [src, msg, column] of bad) {
    it(`rejects ${JSON.stringify(src)} at column ${column}`, () => {
      assert.throws(
        () => compileTemplate(src, { name: 'p.value' }),
        (e: unknown) => {
          assert.ok(e instanceof ConduitError);
          assert.equal(e.code, 'config.field_invalid');
          assert.match(e.message, new RegExp(`^js: p\\.value:\\d+:${column}: .*${msg.replace(/[()[\]]/g, '\\$&')}`));
          return true;
        },
      );
    });
  }

  it('run-time errors are TemplateExecErrors, one per record, and the expression keeps working', () => {
    const t = compileTemplate('js: Payload.After.name.length', { name: 'p.value' });
    assert.throws(
      () => t.execute(raw),
      (e: unknown) => e instanceof TemplateExecError && /TypeError/.test(e.message),
    );
    assert.equal(t.execute(rec), '3');
  });

  it('isolation: no way out to the host realm', () => {
    const fails = [
      'js: Object.constructor("return process")()',
      'js: record.constructor.constructor("return this")()',
      'js: Payload.After.tags.constructor.constructor("return globalThis.process")()',
    ];
    for (const src of fails) {
      assert.throws(
        () => compileTemplate(src).execute(rec),
        (e: unknown) => e instanceof TemplateExecError && /EvalError/.test(e.message),
        src,
      );
    }
    // intrinsics are frozen: nothing persists from one record to the next
    const t = compileTemplate('js: (Object.assign(Math, { leaked: 1 }), Math.leaked)');
    assert.throws(() => t.execute(rec), TemplateExecError);
    assert.equal(compileTemplate('js: typeof Math.leaked').execute(rec), 'undefined');
    assert.equal((Math as unknown as Record<string, unknown>).leaked, undefined);
  });

  it('a runaway expression is stopped by the time budget and the next record still runs', () => {
    const t = compileTemplate('js: /^(a+)+$/.test(Payload.After.s)', { name: 'p.value', timeoutMs: 50 });
    const slow = { ...rec, payload: { before: null, after: { s: 'a'.repeat(40) + '!' } } };
    const started = Date.now();
    assert.throws(
      () => t.execute(slow),
      (e: unknown) => e instanceof TemplateExecError && /time budget of 50 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 5000);
    assert.equal(t.execute({ ...rec, payload: { before: null, after: { s: 'aaa' } } }), 'true');
  });

  it('text that merely contains js: later is still a Go template', () => {
    assert.equal(compileTemplate('x js: {{ .Operation }}').execute(rec), 'x js: update');
  });
});
