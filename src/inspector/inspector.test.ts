import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRecord, rawData, type OpenCDCRecord } from '../opencdc/record.js';
import { waitFor } from '../sdk/testing.js';
import { Inspector, type InspectorMetrics, type SessionSink } from './inspector.js';
import { recordProtoJson } from './protojson.js';

function records(n: number, from = 0): OpenCDCRecord[] {
  return Array.from({ length: n }, (_, i) =>
    makeRecord({
      position: rawData(String(from + i)),
      metadata: { 'opencdc.readAt': '1' },
      key: rawData(`k${from + i}`),
      payload: { before: null, after: { id: from + i, name: 'x' } },
    }),
  );
}

/** A sink that takes messages at once (backlog 0), or holds them (a reader that never reads). */
class FakeSink implements SessionSink {
  readonly messages: string[] = [];
  backlog = 0;
  constructor(private readonly stalled = false) {}
  send(message: string, done: () => void): void {
    this.messages.push(message);
    if (this.stalled) this.backlog += message.length;
    else setImmediate(done);
  }
}

function countingMetrics(): InspectorMetrics & { sessions_: Map<string, number>; dropped_: Map<string, number> } {
  const sessions_ = new Map<string, number>();
  const dropped_ = new Map<string, number>();
  return {
    sessions_,
    dropped_,
    sessions: (id) => ({ add: (n) => sessions_.set(id, (sessions_.get(id) ?? 0) + n) }),
    dropped: (id) => ({ inc: (n) => dropped_.set(id, (dropped_.get(id) ?? 0) + n) }),
  };
}

describe('protojson records', () => {
  it('writes the v1Record shape: enum operation, rawData / structuredData, empty raw data for null', () => {
    const r = makeRecord({
      position: rawData('p1'),
      operation: 'update',
      metadata: { b: '2', a: '1' },
      key: { id: 7 },
      payload: { before: null, after: rawData('hello') },
    });
    assert.deepEqual(JSON.parse(recordProtoJson(r)), {
      position: Buffer.from('p1').toString('base64'),
      operation: 'OPERATION_UPDATE',
      metadata: { a: '1', b: '2' },
      key: { structuredData: { id: 7 } },
      payload: { before: { rawData: '' }, after: { rawData: Buffer.from('hello').toString('base64') } },
    });
  });
});

describe('the inspector', () => {
  it('costs a boolean when nobody watches, and a tap outlives runs (same object per component)', () => {
    const insp = new Inspector();
    const tap = insp.tap('connector', 'c1');
    assert.equal(tap.active, false);
    assert.equal(insp.tap('connector', 'c1'), tap);
    assert.notEqual(insp.tap('processor-in', 'c1'), tap);
    tap.send(records(10)); // no session: nothing happens
  });

  it('delivers what a reader keeps up with, in order, and counts sessions up and down', async () => {
    const m = countingMetrics();
    const insp = new Inspector({ recordsPerSecond: 0 }, m);
    const sink = new FakeSink();
    const s = insp.open('connector', 'c1', sink);
    assert.equal(insp.tap('connector', 'c1').active, true);
    assert.equal(m.sessions_.get('c1'), 1);
    insp.tap('connector', 'c1').send(records(5));
    insp.tap('connector', 'c1').send(records(5, 5));
    await waitFor(() => sink.messages.length === 10, { message: 'ten messages' });
    const positions = sink.messages.map((t) => (JSON.parse(t) as { result: { position: string } }).result.position);
    assert.deepEqual(
      positions,
      Array.from({ length: 10 }, (_, i) => Buffer.from(String(i)).toString('base64')),
    );
    assert.equal(s.dropped, 0);
    s.close();
    s.close();
    assert.equal(m.sessions_.get('c1'), 0);
    assert.equal(insp.tap('connector', 'c1').active, false);
  });

  it('bounds a stalled session by records and drops and counts the rest, without waiting', async () => {
    const m = countingMetrics();
    const insp = new Inspector({ recordsPerSecond: 0, bufferRecords: 100, sinkBacklogBytes: 1000 }, m);
    const sink = new FakeSink(true);
    const s = insp.open('connector', 'c1', sink);
    const tap = insp.tap('connector', 'c1');
    for (let i = 0; i < 50; i++) tap.send(records(100, i * 100));
    await waitFor(() => sink.backlog >= 1000, { message: 'the sink backlog reaches its bound' });
    for (let i = 0; i < 50; i++) tap.send(records(100, i * 100));
    // The sink took messages until its backlog passed 1000 bytes; the buffer holds at most 100 records.
    assert.ok(s.buffered <= 100, `buffered ${s.buffered}`);
    assert.ok(sink.messages.length < 20, `sent ${sink.messages.length}`);
    assert.equal(s.dropped + s.buffered + s.sent, 10_000);
    assert.equal(m.dropped_.get('c1'), s.dropped);
    assert.ok(s.dropped > 9000);
    s.close();
  });

  it('bounds a session by bytes', () => {
    const insp = new Inspector({ recordsPerSecond: 0, bufferBytes: 1000 });
    const s = insp.open('connector', 'c1', new FakeSink(true));
    insp.tap('connector', 'c1').send(records(100));
    const one = recordProtoJson(records(1)[0] as OpenCDCRecord).length;
    assert.equal(s.buffered, Math.floor(1000 / one));
    assert.equal(s.dropped, 100 - s.buffered);
    s.close();
  });

  it('samples at most recordsPerSecond (burst: the buffer)', () => {
    const insp = new Inspector({ recordsPerSecond: 10, bufferRecords: 20 });
    const s = insp.open('connector', 'c1', new FakeSink(true));
    insp.tap('connector', 'c1').send(records(1000));
    assert.equal(s.buffered, 20);
    assert.equal(s.dropped, 980);
    s.close();
  });

  it('snapshots records when sampled: a later change does not show', async () => {
    const insp = new Inspector({ recordsPerSecond: 0 });
    const sink = new FakeSink();
    const s = insp.open('processor-in', 'p1', sink);
    const batch = records(1);
    insp.tap('processor-in', 'p1').send(batch);
    ((batch[0] as OpenCDCRecord).payload.after as Record<string, unknown>)['name'] = 'changed';
    await waitFor(() => sink.messages.length === 1);
    assert.match(sink.messages[0] as string, /"name":"x"/);
    s.close();
  });

  it('serializes a record once for several sessions, and drops what JSON cannot carry', async () => {
    const insp = new Inspector({ recordsPerSecond: 0 });
    const a = new FakeSink();
    const b = new FakeSink();
    const sa = insp.open('connector', 'c', a);
    const sb = insp.open('connector', 'c', b);
    const bad = makeRecord({ position: rawData('x'), payload: { before: null, after: { n: Number.NaN } } });
    insp.tap('connector', 'c').send([bad, ...records(2)]);
    await waitFor(() => a.messages.length === 2 && b.messages.length === 2);
    assert.deepEqual(a.messages, b.messages);
    assert.equal(sa.dropped, 1);
    assert.equal(sb.dropped, 1);
    sa.close();
    sb.close();
    assert.equal(insp.sessionCount, 0);
  });
});
