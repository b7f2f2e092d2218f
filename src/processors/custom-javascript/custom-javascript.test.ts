/**
 * custom.javascript against Conduit's documented example and its processor
 * tests (the record shape, the helpers, filtering, errors), then what this
 * engine adds: modules, TypeScript, processBatch, the sandbox and the time
 * budget.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChain } from '../../engine/processor-chain.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { createLogger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { FILTERED, type Processor } from '../../sdk/processor.js';
import {
  asError,
  asMulti,
  asRecord,
  assertReadmeTable,
  configured,
  PROCESSOR_ID,
  processOne,
  rec,
} from '../testing.js';
import { customJavascriptPlugin as plugin } from './index.js';

const js = (script: string, extra: Record<string, string> = {}) => configured(plugin, { script, ...extra });
const one = (script: string, r: OpenCDCRecord, extra: Record<string, string> = {}) =>
  processOne(plugin, { script, ...extra }, r);
const raw = (s: string) => Buffer.from(s);

async function configError(settings: Record<string, string>): Promise<ConduitError> {
  let caught: unknown;
  try {
    await configured(plugin, settings);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConduitError, `a ConduitError at configure, got ${String(caught)}`);
  return caught;
}

describe('custom.javascript: Conduit examples', () => {
  it("modifies a record's metadata and payload (Conduit's documented example)", async () => {
    const r = asRecord(
      await one(
        `function process(rec) {
  rec.Metadata["processed"] = "true";
  let existing = String.fromCharCode.apply(String, rec.Payload.After);
  rec.Payload.After = RawData("hello, " + existing);
  return rec;
}`,
        rec({ metadata: { 'existing-key': 'existing-value' }, payload: { before: null, after: raw('world') } }),
      ),
    );
    assert.deepEqual(r.metadata, { 'existing-key': 'existing-value', processed: 'true' });
    assert.deepEqual(r.payload, { before: null, after: raw('hello, world') });
  });

  it('changes the fields of a structured record', async () => {
    const r = asRecord(
      await one(
        `function process(rec) {
          rec.Operation = "update";
          rec.Metadata["returned"] = "JS";
          rec.Key = RawData("baz");
          rec.Payload.After["ccc"] = "baz";
          return rec;
        }`,
        rec({
          position: raw('2'),
          operation: 'create',
          metadata: { existing: 'val' },
          key: raw('bar'),
          payload: { before: null, after: { aaa: 111, bbb: ['foo', 'bar'] } },
        }),
      ),
    );
    assert.deepEqual(r, {
      position: raw('2'),
      operation: 'update',
      metadata: { existing: 'val', returned: 'JS' },
      key: raw('baz'),
      payload: { before: null, after: { aaa: 111, bbb: ['foo', 'bar'], ccc: 'baz' } },
    });
  });

  it('replaces raw data with new StructuredData()', async () => {
    const r = asRecord(
      await one(
        `function process(rec) {
          rec.Metadata["returned"] = "JS";
          rec.Key = RawData("baz");
          rec.Payload.After = new StructuredData();
          rec.Payload.After["foo"] = "bar";
          return rec;
        }`,
        rec({
          position: raw('2'),
          metadata: { existing: 'val' },
          key: raw('bar'),
          payload: { before: null, after: raw('foo') },
        }),
      ),
    );
    assert.deepEqual(r.key, raw('baz'));
    assert.deepEqual(r.payload.after, { foo: 'bar' });
    assert.deepEqual(r.metadata, { existing: 'val', returned: 'JS' });
  });

  it('reads raw data as bytes and writes new raw data', async () => {
    const r = asRecord(
      await one(
        `function process(rec) {
          rec.Payload.After = RawData(String.fromCharCode.apply(String, rec.Payload.After) + "bar");
          return rec;
        }`,
        rec({ position: raw('3'), payload: { before: null, after: raw('foo') } }),
      ),
    );
    assert.deepEqual(r.payload.after, raw('foobar'));
    assert.deepEqual(r.position, raw('3'));
  });

  it('returns a new Record() with raw data; Record() starts with empty metadata', async () => {
    const r = asRecord(
      await one(
        `function process(record) {
          r = new Record();
          r.Position = "3";
          r.Metadata["returned"] = "JS";
          r.Key = new RawData("baz");
          r.Payload.After = new RawData("foobar");
          return r;
        }`,
        rec({ position: raw('3') }),
      ),
    );
    assert.deepEqual(r, {
      position: raw('3'),
      operation: 'create',
      metadata: { returned: 'JS' },
      key: raw('baz'),
      payload: { before: null, after: raw('foobar') },
    });
    const empty = asRecord(await one('function process() { var r = Record(); return r; }', rec()));
    assert.deepEqual(empty.metadata, {});
  });

  it('filters: null drops the record, a returned record stays', async () => {
    assert.equal(await one('function process(r) { return null; }', rec()), FILTERED);
    const keep = `function process(r) {
      if (r.Metadata["keepme"] != undefined) { return r }
      return null;
    }`;
    assert.deepEqual(asRecord(await one(keep, rec({ metadata: { keepme: 'yes' } }))).metadata, { keepme: 'yes' });
    assert.equal(await one(keep, rec({ metadata: { foo: 'bar' } })), FILTERED);
  });

  it('sets the position from a string, and raw key and payload from strings', async () => {
    const r = asRecord(
      await one(
        'function process(rec) { rec.Position = "foobar"; rec.Key = new RawData("k"); rec.Payload.After = new RawData("p"); return rec; }',
        rec(),
      ),
    );
    assert.deepEqual(r.position, raw('foobar'));
    assert.deepEqual(r.key, raw('k'));
    assert.deepEqual(r.payload.after, raw('p'));
  });

  it('updates and deletes metadata', async () => {
    const r = asRecord(
      await one(
        'function process(rec) { rec.Metadata["new_key"] = "new_value"; delete rec.Metadata.remove_me; return rec; }',
        rec({ metadata: { old_key: 'old_value', remove_me: 'remove_me' } }),
      ),
    );
    assert.deepEqual(r.metadata, { old_key: 'old_value', new_key: 'new_value' });
  });

  it('runs a script with several functions', async () => {
    const r = asRecord(
      await one(
        `function getValue() { return "updated_value"; }
         function process(rec) { rec.Metadata["updated_key"] = getValue(); return rec; }`,
        rec({ metadata: { old_key: 'old_value' } }),
      ),
    );
    assert.deepEqual(r.metadata, { old_key: 'old_value', updated_key: 'updated_value' });
  });

  it('logs through logger.Info().Msg() into the processor logger', async () => {
    const lines: string[] = [];
    const p = plugin.create();
    await p.configure(
      parseConfig(plugin.params, {
        script:
          'function process(r) { logger.Info().Str("table", "users").Msg("Hello"); console.warn("w", 1); return r }',
      }),
      {
        processorId: PROCESSOR_ID,
        pipelineId: 'p',
        logger: createLogger({ format: 'json', write: (l) => lines.push(l) }).with({ processor: PROCESSOR_ID }),
      },
    );
    await p.process([rec()]);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(parsed.length, 2, lines.join(''));
    assert.equal(parsed[0]?.['message'] ?? parsed[0]?.['msg'], 'Hello');
    assert.equal(parsed[0]?.['table'], 'users');
    assert.equal(parsed[0]?.['processor'], PROCESSOR_ID);
    assert.match(JSON.stringify(parsed[1]), /"warn".*"w 1"|"w 1".*"warn"/);
  });

  it('a script that throws fails that record with the message; the others go on', async () => {
    const p = await js(`function process(r) {
      if (r.Metadata.bad) throw new Error('something bad happened');
      return r;
    }`);
    const out = await p.process([rec(), rec({ metadata: { bad: 'y' } }), rec()]);
    asRecord(out[0]);
    assert.match(asError(out[1]).message, /something bad happened/);
    assert.match(asError(out[1]).message, /^processor p:proc \(custom\.javascript\) failed: script\.js:2:\d+: /);
    asRecord(out[2]);
  });

  it('a JavaScript exception (reading a field of undefined) is a record error', async () => {
    const e = asError(await one('function process(record) {\n  var m;\n  m.test\n}', rec({ key: raw('test key') })));
    assert.match(e.message, /script\.js:3:\d+: TypeError: Cannot read properties of undefined \(reading 'test'\)/);
  });

  it('a script without process() fails at configure', async () => {
    const e = await configError({ script: 'function something() { logger.Debug("no entrypoint"); }' });
    assert.equal(e.code, 'param.validation_failed');
    assert.equal(e.configPath, 'script');
    assert.match(e.message, /processor p:proc: script: .*no entry point.*process\(record\)/);
  });

  it('broken JavaScript fails at configure, with line and column', async () => {
    const e = await configError({ script: 'function process(r) {\n  return r +;\n}' });
    assert.equal(e.code, 'param.validation_failed');
    assert.equal(e.line, 2);
    assert.equal(e.column, 13);
    assert.match(e.message, /SyntaxError: Unexpected token ';'/);
    assert.match((await configError({ script: 'function {' })).message, /SyntaxError/);
  });
});

describe('custom.javascript: data types', () => {
  it('keeps what the script does not touch: nested bytes, bigints, dates, arrays, nulls', async () => {
    const after = {
      bytes: Buffer.from([0, 1, 255]),
      big: 12345678901234567890n,
      when: new Date('2024-05-06T07:08:09.123Z'),
      list: [1, 'two', null, { three: true }],
      nested: { deep: { x: 1.5 } },
      nothing: null,
    };
    const r = asRecord(await one('function process(r) { return r; }', rec({ payload: { before: null, after } })));
    assert.deepEqual(r.payload.after, after);
  });

  it('stores bigints, dates, bytes, NaN, undefined and typed arrays the script makes', async () => {
    const r = asRecord(
      await one(
        `function process(r) {
          var a = r.Payload.After;
          a.big = 10n; a.d = new Date(0); a.b = RawData('é'); a.nan = NaN; a.u = undefined; a.i = new Int16Array([-1, 2]);
          return r;
        }`,
        rec({ payload: { before: null, after: {} } }),
      ),
    );
    assert.deepEqual(r.payload.after, {
      big: 10n,
      d: new Date(0),
      b: Buffer.from([0xc3, 0xa9]),
      nan: NaN,
      u: null,
      i: [-1, 2],
    });
  });

  it('RawData encodes UTF-8; TextDecoder reads it back', async () => {
    const r = asRecord(
      await one(
        `function process(r) {
          r.Metadata.text = new TextDecoder().decode(r.Payload.After);
          r.Key = RawData('ü€😀');
          return r;
        }`,
        rec({ payload: { before: null, after: raw('grüße 😀') } }),
      ),
    );
    assert.equal(r.metadata['text'], 'grüße 😀');
    assert.deepEqual(r.key, raw('ü€😀'));
  });

  it('a string stored as record data becomes raw data', async () => {
    const r = asRecord(await one('function process(r) { r.Payload.After = "plain"; return r; }', rec()));
    assert.deepEqual(r.payload.after, raw('plain'));
  });

  it('a value a record cannot hold fails the record, naming the processor and the field', async () => {
    const cases: Array<[string, RegExp]> = [
      ['r.Payload.After = { fn: function () {} }', /field \.Payload\.After\.fn: a function cannot be stored/],
      ['r.Operation = "upsert"', /field \.Operation: unknown operation "upsert"/],
      ['r.Metadata.obj = {}', /field \.Metadata\.obj: expected a string, got an object/],
      ['r.Key = [1, 2]', /field \.Key: expected RawData, StructuredData or null, got an array/],
      ['r.Position = [1, 300]', /field \.Position\[1\]: expected a byte/],
      ['var o = {}; o.self = o; r.Payload.After = o', /field \.Payload\.After(\.self)+: nested more than 200 levels/],
    ];
    for (const [body, want] of cases) {
      const e = asError(await one(`function process(r) { ${body}; return r; }`, rec()));
      assert.match(e.message, /^processor p:proc \(custom\.javascript\) failed: /, body);
      assert.match(e.message, want, body);
      assert.equal((e as ConduitError).code, 'processor.failed');
    }
    assert.match(asError(await one('function process(r) { return 42 }', rec())).message, /expected a record/);
    assert.match(asError(await one('async function process(r) { return r }', rec())).message, /returned a Promise/);
  });

  it('metadata values that are numbers or booleans become strings', async () => {
    const r = asRecord(await one('function process(r) { r.Metadata.n = 5; r.Metadata.b = true; return r }', rec()));
    assert.deepEqual(r.metadata, { n: '5', b: 'true' });
  });
});

describe('custom.javascript: bytes handed back unchanged', () => {
  // The bridge does not copy a position or raw data the script returned as it got it: the result keeps the
  // input's own bytes. Anything changed, replaced or moved is copied as before.
  const input = () =>
    rec({ position: raw('pos-1'), key: raw('key-1'), payload: { before: raw('b-1'), after: raw('a-1') } });

  it('keeps the input position, key and raw payload when the script leaves them alone', async () => {
    const r = input();
    const out = asRecord(await one('function process(rec) { rec.Metadata["x"] = "1"; return rec; }', r));
    assert.equal(out.position, r.position, 'the same bytes object, not a copy');
    assert.equal(out.key, r.key);
    assert.equal(out.payload.before, r.payload.before);
    assert.equal(out.payload.after, r.payload.after);
    assert.equal(out.metadata['x'], '1');
  });

  it('copies bytes the script changed in place, and leaves the input alone', async () => {
    const r = input();
    const [position, key, after] = [r.position, r.key, r.payload.after];
    const out = asRecord(
      await one('function process(rec) { rec.Position[0] = 80; rec.Payload.After[0] = 65; return rec; }', r),
    );
    assert.deepEqual(out.position, raw('Pos-1'));
    assert.deepEqual(out.payload.after, raw('A-1'));
    // The input record may become the output (the processor contract), but the input's bytes are never written.
    assert.deepEqual(position, raw('pos-1'), "the input's bytes are not changed");
    assert.deepEqual(after, raw('a-1'));
    assert.equal(out.key, key, 'what did not change is still kept');
  });

  it('a field given the bytes of another field or record is copied, with those bytes', async () => {
    const batch = `function processBatch(recs) {
      const p0 = recs[0].Position;
      recs[0].Position = recs[1].Position;
      recs[1].Position = p0;
      recs[0].Key = recs[0].Payload.After;
      return recs;
    }`;
    const p = await js(batch);
    const a = rec({ position: raw('p-a'), key: raw('k-a'), payload: { before: null, after: raw('after-a') } });
    const b = rec({ position: raw('p-b'), key: raw('k-b'), payload: { before: null, after: raw('after-b') } });
    const [ra, rb] = (await p.process([a, b])).map(asRecord);
    assert.deepEqual(ra?.position, raw('p-b'));
    assert.deepEqual(rb?.position, raw('p-a'));
    assert.deepEqual(ra?.key, raw('after-a'));
    assert.equal(ra?.payload.after, a.payload.after, 'After itself is unchanged: kept');
  });

  it('metadata: keys a script makes enumerable through a prototype are not taken as metadata', async () => {
    // The bridge lists metadata keys with for-in when nothing enumerable is inherited; these scripts make something so.
    const md = () => ({ keep: 'k', change: 'c' });
    for (const script of [
      'function process(rec) { Object.prototype.injected = "x"; rec.Metadata.change = "7"; return rec; }',
      'function process(rec) { Object.setPrototypeOf(rec.Metadata, { inherited: "y" }); rec.Metadata.change = "7"; return rec; }',
    ]) {
      const out = asRecord(await one(script, rec({ metadata: md() })));
      assert.deepEqual({ ...out.metadata }, { keep: 'k', change: '7' }, script);
    }
  });

  it('metadata: keys added, changed and deleted, and a __proto__ key, come back as the script left them', async () => {
    const md = () => ({ keep: 'k', change: 'c', drop: 'd' });
    const added = asRecord(
      await one(
        'function process(rec) { rec.Metadata.change = 7; Object.defineProperty(rec.Metadata, "__proto__", { value: "p", enumerable: true, writable: true, configurable: true }); rec.Metadata.added = "a"; return rec; }',
        rec({ metadata: md() }),
      ),
    );
    assert.deepEqual(
      Object.keys(added.metadata).map((k) => [k, added.metadata[k]]),
      [
        ['keep', 'k'],
        ['change', '7'],
        ['drop', 'd'],
        ['__proto__', 'p'],
        ['added', 'a'],
      ],
    );
    assert.equal(
      Object.getOwnPropertyDescriptor(added.metadata, '__proto__')?.value,
      'p',
      'an own key, not a prototype',
    );
    assert.equal(Object.getPrototypeOf(added.metadata), Object.prototype);
    const dropped = asRecord(
      await one(
        'function process(rec) { delete rec.Metadata.drop; rec.Metadata.keep = undefined; return rec; }',
        rec({ metadata: md() }),
      ),
    );
    assert.deepEqual(dropped.metadata, { change: 'c' });
    const swapped = await (
      await js(
        'function processBatch(recs) { const m = recs[0].Metadata; recs[0].Metadata = recs[1].Metadata; recs[1].Metadata = m; return recs; }',
      )
    ).process([rec({ metadata: { n: '0' } }), rec({ metadata: { n: '1' } })]);
    assert.deepEqual(
      swapped.map((r) => asRecord(r).metadata),
      [{ n: '1' }, { n: '0' }],
    );
  });

  it('a change to any one byte is seen, whatever the length', async () => {
    // Bytes are compared a word, then four words, at a time, with the last bytes one by one: flip each byte of
    // inputs of every length around those steps.
    const p = await js(
      'function process(r) { const k = Number(r.Metadata.flip); r.Payload.After[k] ^= 1; r.Key[k] ^= 2; return r; }',
    );
    const inputs: OpenCDCRecord[] = [];
    const expected: Array<[Buffer, Buffer]> = [];
    for (let n = 1; n <= 21; n++) {
      for (let k = 0; k < n; k++) {
        const after = Buffer.alloc(n, 0x61 + (n % 26));
        const key = Buffer.alloc(n, 0x41 + (k % 26));
        inputs.push(rec({ metadata: { flip: String(k) }, key, payload: { before: null, after } }));
        const a = Buffer.from(after);
        a[k] = (a[k] as number) ^ 1;
        const b = Buffer.from(key);
        b[k] = (b[k] as number) ^ 2;
        expected.push([b, a]);
      }
    }
    const out = (await p.process(inputs)).map(asRecord);
    out.forEach((r, i) => {
      assert.deepEqual(r.key, expected[i]?.[0], `record ${i}: key`);
      assert.deepEqual(r.payload.after, expected[i]?.[1], `record ${i}: after`);
    });
  });

  it("a write through a field's buffer into another record's bytes is seen, never lost", async () => {
    // Records share one buffer (the arena): a script can reach another record's bytes. What it changes before
    // that record's result is written comes out as changed; a record already written keeps its result.
    const script = `function process(r) {
      const all = new Uint8Array(r.Payload.After.buffer);
      const mark = r.Metadata.mark;
      if (mark !== undefined) {
        for (let i = 0; i < all.length; i++) if (all[i] === mark.charCodeAt(0)) all[i] = 90; // Z
      }
      return r;
    }`;
    const p = await js(script);
    const out = (
      await p.process([
        rec({ payload: { before: null, after: raw('first-b') } }),
        rec({ metadata: { mark: 'b' }, payload: { before: null, after: raw('second') } }),
        rec({ payload: { before: null, after: raw('third-b') } }),
      ])
    ).map(asRecord);
    assert.deepEqual(out[0]?.payload.after, raw('first-b'), 'written before the change: kept as returned');
    assert.deepEqual(out[2]?.payload.after, raw('third-Z'), 'changed before its result: the change comes out');
    assert.deepEqual(out[1]?.payload.after, raw('second'));
  });

  it("the shared buffer holds only the records' bytes and zeros, nothing else of the host", async () => {
    const p = await js(`function process(r) {
      const all = new Uint8Array(r.Key.buffer);
      let bad = 0;
      for (let i = 0; i < all.length; i++) if (all[i] !== 0 && (all[i] < 97 || all[i] > 122)) bad++;
      r.Metadata.bad = String(bad);
      r.Metadata.size = String(all.length);
      return r;
    }`);
    const letters = (n: number) => Buffer.from('abcdefghijklmnopqrstuvwxyz'.slice(0, n));
    const out = (
      await p.process(
        Array.from({ length: 9 }, (_, i) =>
          rec({ position: letters(i + 1), key: letters(9 - i), payload: { before: letters(i), after: letters(2) } }),
        ),
      )
    ).map(asRecord);
    for (const r of out) assert.equal(r.metadata['bad'], '0');
    assert.ok(Number(out[0]?.metadata['size']) >= 9 * 4, "the buffer is the batch's, not one field's");
  });

  it('records split from one input do not share a metadata object', async () => {
    const out = asMulti(
      await one('function process(rec) { rec.Metadata.x = "1"; return [rec, rec]; }', rec({ metadata: { a: 'b' } })),
    );
    assert.deepEqual(out[0]?.metadata, { a: 'b', x: '1' });
    assert.notEqual(out[0]?.metadata, out[1]?.metadata);
  });

  it('a split keeps the input position in every record', async () => {
    const r = input();
    const out = asMulti(await one('function process(rec) { return [rec, Record()]; }', r));
    assert.equal(out[0]?.position, r.position);
    assert.deepEqual(out[1]?.position, Buffer.alloc(0));
  });
});

describe('custom.javascript: modules, TypeScript, batches', () => {
  it('runs an ES module that exports process', async () => {
    const r = asRecord(
      await one(
        `const suffix = '!';
         export function process(record) { record.Metadata.m = 'esm' + suffix; return record; }`,
        rec(),
      ),
    );
    assert.equal(r.metadata['m'], 'esm!');
  });

  it('runs an ES module whose default export is the function', async () => {
    const r = asRecord(await one(`export default (r) => { r.Metadata.d = '1'; return r; }`, rec()));
    assert.equal(r.metadata['d'], '1');
  });

  it('strips TypeScript types (inline with script.language, or from a .ts file)', async () => {
    const ts = `interface Rec { Metadata: Record<string, string> }
      enum Kind { A = 'a' }
      export function process(r: Rec): Rec { r.Metadata.kind = Kind.A as string; return r; }`;
    const r = asRecord(await one(ts, rec(), { 'script.language': 'typescript' }));
    assert.equal(r.metadata['kind'], 'a');
    const dir = await mkdtemp(join(tmpdir(), 'cjs-ts-'));
    try {
      await writeFile(join(dir, 'proc.ts'), ts);
      const fromFile = asRecord(await processOne(plugin, { 'script.path': join(dir, 'proc.ts') }, rec()));
      assert.equal(fromFile.metadata['kind'], 'a');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a TypeScript syntax error fails at configure with its place', async () => {
    const e = await configError({
      script: 'let x: = 1;\nexport function process(r) { return r }',
      'script.language': 'typescript',
    });
    assert.equal(e.line, 1);
    assert.equal(e.column, 8);
    assert.match(e.message, /Unexpected "="/);
  });

  it('processBatch gets the whole batch and returns one result per record: record, null, array or Error', async () => {
    const p = await js(`function processBatch(records) {
      return records.map(function (r, i) {
        r.Metadata.i = String(i);
        r.Metadata.n = String(records.length);
        if (i === 1) return null;
        if (i === 2) return [r, Record()];
        if (i === 3) return new Error('bad record ' + i);
        return r;
      });
    }`);
    const out = await p.process([rec(), rec(), rec(), rec(), rec()]);
    assert.deepEqual(asRecord(out[0]).metadata, { i: '0', n: '5' });
    assert.equal(out[1], FILTERED);
    assert.equal(asMulti(out[2]).length, 2);
    assert.match(asError(out[3]).message, /bad record 3/);
    assert.deepEqual(asRecord(out[4]).metadata, { i: '4', n: '5' });
  });

  it('processBatch that returns the wrong number of results fails the batch', async () => {
    const p = await js('function processBatch(rs) { return rs.slice(1) }');
    const out = await p.process([rec(), rec()]);
    for (const o of out) assert.match(asError(o).message, /one result per record \(2\), got 1 results/);
  });

  it('process returning an array splits the record; an empty array filters it', async () => {
    const out = await one('function process(r) { var c = Record(); c.Metadata.copy = "1"; return [r, c]; }', rec());
    assert.equal(asMulti(out).length, 2);
    assert.equal(await one('function process(r) { return []; }', rec()), FILTERED);
  });

  it('keeps state across records and batches (one context per processor)', async () => {
    const p = await js('var n = 0; function process(r) { r.Metadata.n = String(++n); return r; }');
    await p.process([rec(), rec()]);
    const out = await p.process([rec()]);
    assert.equal(asRecord(out[0]).metadata['n'], '3');
  });
});

describe('custom.javascript: isolation', () => {
  let dir = '';
  let secret = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cjs-iso-'));
    secret = join(dir, 'secret.txt');
    await writeFile(secret, 'top secret');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a script that requires fs to read a file fails that record; with sandbox.allow it works', async () => {
    const script = `function process(r) {
      r.Metadata.content = require('node:fs').readFileSync(${JSON.stringify(secret)}, 'utf8');
      return r;
    }`;
    const e = asError(await one(script, rec()));
    assert.match(e.message, /require\("node:fs"\) is not allowed.*sandbox\.allow/);
    // The control: the same script reads the file once the operator allows fs.
    const r = asRecord(await one(script, rec(), { 'sandbox.allow': 'fs' }));
    assert.equal(r.metadata['content'], 'top secret');
  });

  it('a module that imports fs or net fails at configure', async () => {
    for (const mod of ['node:fs', 'net', 'node:child_process']) {
      const e = await configError({ script: `import * as m from '${mod}';\nexport function process(r) { return r }` });
      assert.match(e.message, /failed while loading: .*require\(".*"\) is not allowed/, mod);
    }
  });

  it('a script that opens a socket or calls fetch fails that record', async () => {
    const net = asError(await one('function process(r) { require("net").connect(80, "127.0.0.1"); return r }', rec()));
    assert.match(net.message, /require\("net"\) is not allowed/);
    const f = asError(await one('function process(r) { fetch("http://127.0.0.1:1/"); return r }', rec()));
    assert.match(f.message, /ReferenceError: fetch is not defined/);
  });

  it('no escape to the host: constructors, errors, stack frames, dynamic import and eval find nothing', async () => {
    // Each probe returns the objects it can reach by one known way out of a node:vm context. Any object whose
    // constructor's constructor is not this context's Function belongs to the host: an escape.
    const probes = {
      global: 'return [this, globalThis, Object.getPrototypeOf(globalThis)]',
      globals: 'return Reflect.ownKeys(globalThis).map(function (k) { return globalThis[k] })',
      record: 'return [r, r.Payload, r.Payload.After, r.Metadata, r.Position, r.Key]',
      buffers:
        'return [r.Position.buffer, r.Key.buffer, Object.getPrototypeOf(r.Key.buffer), new Uint8Array(r.Key.buffer).buffer]',
      error: 'try { null.x } catch (e) { return [e] }',
      helpers:
        'return [logger, logger.Info, logger.Info(), console, console.log, Record, RawData, StructuredData, require, module]',
      loggerThrow:
        'try { logger.Info().Msg({ toString: function () { throw new Error("x") } }) } catch (e) { return [e] } return []',
      requireThrow: 'try { require("fs") } catch (e) { return [e] }',
      stackFrames:
        'Error.prepareStackTrace = function (e, cs) { var out = []; cs.forEach(function (c) { out.push(c.getThis(), c.getFunction()) }); return out }; var s = new Error().stack; Error.prepareStackTrace = undefined; return s',
      caller: 'return [process.caller, arguments.callee.caller]',
      evalCall: 'return [eval("globalThis")]',
    };
    const harness = (ps: Record<string, string>) => `function process(r) {
      var found = {};
      var probes = {${Object.entries(ps)
        .map(([k, body]) => `${k}: function (r) { ${body} }`)
        .join(',\n')}};
      for (var k in probes) {
        try {
          var got = probes[k].call(this, r) || [];
          var verdict = 'contained';
          for (var i = 0; i < got.length; i++) {
            var o = got[i];
            if (o === null || o === undefined || (typeof o !== 'object' && typeof o !== 'function')) continue;
            var c = o.constructor;
            if (c !== undefined && c !== null && c.constructor !== Function) verdict = 'ESCAPED via item ' + i;
          }
          found[k] = verdict;
        } catch (e) {
          found[k] = 'blocked: ' + (e && e.message);
        }
      }
      r.Metadata.found = JSON.stringify(found);
      return r;
    }`;
    const run = async (ps: Record<string, string>, settings: Record<string, string> = {}) => {
      const input = rec({ key: raw('k'), payload: { before: null, after: { a: 1 } } });
      const r = asRecord(await one(harness(ps), input, settings));
      return JSON.parse(r.metadata['found'] ?? '{}') as Record<string, string>;
    };
    // The control: a module the operator allows is a host object, and the harness sees it.
    assert.match(
      (await run({ allowed: 'return [require("fs")]' }, { 'sandbox.allow': 'fs' }))['allowed'] ?? '',
      /ESCAPED/,
    );
    const found = await run(probes);
    assert.deepEqual(Object.keys(found).sort(), Object.keys(probes).sort());
    for (const [k, v] of Object.entries(found)) assert.doesNotMatch(v, /ESCAPED/, `${k}: ${v}`);
    assert.equal(found['record'], 'contained');
    assert.equal(found['globals'], 'contained');
    assert.equal(found['buffers'], 'contained');
    // The control: with the host's fetch allowed as a global, the globals probe finds it.
    assert.match((await run({ globals: probes.globals }, { 'sandbox.allow': 'fetch' }))['globals'] ?? '', /ESCAPED/);
    assert.equal(found['helpers'], 'contained');
    assert.match(found['evalCall'] ?? '', /blocked: Code generation from strings disallowed/);
  });

  it('prototype traps the script sets see no host object while results are written', async () => {
    // Setters on this context's Object.prototype and Array.prototype fire for any write to a missing index of
    // an object of this realm. Results leave through a host array the script's prototypes do not reach.
    const script = `var seen = Object.create(null); // no prototype: noting does not trip the traps
    var n = 0;
    function note(x) { seen[n++] = x; }
    function trap(proto) {
      for (var i = 0; i < 64; i++) (function (k) {
        Object.defineProperty(proto, k, { configurable: true, get: function () { note(this); }, set: function (v) { note(this); note(v); } });
      })(String(i));
    }
    function process(r) {
      if (r.Metadata.step === 'arm') { trap(Object.prototype); trap(Array.prototype); return r; }
      var verdict = 'contained';
      for (var i = 0; i < n; i++) {
        var o = seen[i];
        if (o === null || o === undefined || (typeof o !== 'object' && typeof o !== 'function')) continue;
        var c = o.constructor;
        if (c !== undefined && c !== null && c.constructor !== Function) verdict = 'ESCAPED';
      }
      r.Metadata.verdict = verdict;
      r.Metadata.seen = String(n);
      return r;
    }`;
    const p = await js(script);
    const input = (step: string) =>
      rec({ metadata: { step }, key: raw('k'), payload: { before: null, after: { a: [1, 2] } } });
    const first = await p.process([input('arm'), input('look'), input('look')]);
    const second = await p.process([input('look'), input('look')]);
    for (const r of [...first.slice(1), ...second]) {
      assert.equal(asRecord(r).metadata['verdict'], 'contained');
    }
    // The control: the traps did fire (on the bridge's own arrays of this realm), so the probe can see.
    assert.notEqual(asRecord(second[1]).metadata['seen'], '0');
  });

  it('dynamic import() is rewritten to require and refused', async () => {
    const p = await js(`var seen = 'pending';
      export function process(r) {
        import('node:fs').then(function () { seen = 'loaded' }, function (e) { seen = 'refused: ' + e.message });
        r.Metadata.seen = seen;
        return r;
      }`);
    await p.process([rec()]);
    const out = await p.process([rec()]);
    assert.match(asRecord(out[0]).metadata['seen'] ?? '', /^refused: require\("node:fs"\) is not allowed/);
  });

  it('process and fetch exist only when allowed', async () => {
    const r = asRecord(
      await one(
        'export function process(r) { r.Metadata.pid = String(globalThis.process.pid); r.Metadata.f = typeof fetch; return r }',
        rec(),
        { 'sandbox.allow': 'process,fetch' },
      ),
    );
    assert.equal(r.metadata['pid'], String(process.pid));
    assert.equal(r.metadata['f'], 'function');
    const e = await configError({ script: 'function process(r) { return r }', 'sandbox.allow': 'nosuchmodule' });
    assert.equal(e.configPath, 'sandbox.allow');
  });
});

describe('custom.javascript: time budget', () => {
  it('a script that loops forever on a record is stopped; that record fails, the others pass', async () => {
    const p = await js('function process(r) { if (r.Metadata.loop) { for (;;) {} } return r }', {
      'script.timeout': '100ms',
    });
    const started = Date.now();
    const out = await p.process([rec(), rec({ metadata: { loop: 'y' } }), rec(), rec({ metadata: { loop: 'y' } })]);
    const took = Date.now() - started;
    asRecord(out[0]);
    assert.match(asError(out[1]).message, /ran past its time budget of 100 ms \(script\.timeout\)/);
    asRecord(out[2]);
    asError(out[3]);
    assert.ok(took < 2000, `stopped in time (${took} ms)`);
    // The processor still works after a stop.
    asRecord((await p.process([rec()]))[0]);
  });

  it('a getter that loops forever in the returned data is stopped too', async () => {
    const p = await js('function process(r) { r.Payload.After = { get x() { for (;;) {} } }; return r }', {
      'script.timeout': '50ms',
    });
    assert.match(asError((await p.process([rec()]))[0]).message, /time budget/);
  });

  it('processBatch that loops forever fails the batch', async () => {
    const p = await js('function processBatch(rs) { for (;;) {} }', { 'script.timeout': '50ms' });
    const out = await p.process([rec(), rec()]);
    for (const o of out) assert.match(asError(o).message, /time budget/);
  });

  it('a top level that loops forever fails at configure', async () => {
    const e = await configError({ script: 'for (;;) {}\nfunction process(r) { return r }', 'script.timeout': '50ms' });
    assert.match(e.message, /failed while loading/);
  });

  it('slow records each get their own budget', async () => {
    // Each record takes ~15% of the budget (wide margin for a busy machine), the batch 150%: a call runs out
    // mid-batch, the loop resumes with a fresh budget, nothing fails.
    const p = await js(
      'function process(r) { var end = Date.now() + 30; while (Date.now() < end) {} r.Metadata.ok = "1"; return r }',
      { 'script.timeout': '200ms' },
    );
    const out = await p.process(Array.from({ length: 10 }, () => rec()));
    assert.equal(out.length, 10);
    for (const o of out) assert.equal(asRecord(o).metadata['ok'], '1');
  });
});

describe('custom.javascript: configuration and the chain', () => {
  it('requires exactly one of script and script.path', async () => {
    const neither = await configError({});
    assert.equal(neither.code, 'param.required');
    const both = await configError({ script: 'function process(r) { return r }', 'script.path': 'x.js' });
    assert.match(both.message, /only one of script and script\.path/);
    const missing = await configError({ 'script.path': '/nonexistent/proc.js' });
    assert.equal(missing.configPath, 'script.path');
    assert.match(missing.message, /cannot read \/nonexistent\/proc\.js/);
  });

  it('through the processor chain a failed record is nacked naming processor, plugin and cause', async () => {
    const processor: Processor = await js(
      'function process(r) { if (r.Metadata.x) throw new TypeError("no x"); return r }',
    );
    const nacks: Array<{ error: Error; nodeId: string }> = [];
    const out = await runChain(
      [{ id: PROCESSOR_ID, plugin: 'custom.javascript', processor, condition: undefined, workers: 1 }],
      [rec(), rec({ metadata: { x: '1' } })],
      (_, error, nodeId) => nacks.push({ error, nodeId }),
    );
    assert.equal(out.length, 1);
    assert.equal(nacks.length, 1);
    assert.equal(nacks[0]?.nodeId, PROCESSOR_ID);
    assert.match(
      nacks[0]?.error.message ?? '',
      /^processor p:proc \(custom\.javascript\) failed: script\.js:1:\d+: TypeError: no x$/,
    );
  });

  it('the README parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
