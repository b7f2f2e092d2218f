/** DlqHandler: Conduit's window / threshold table (reference §4), the DLQ record, and failing DLQ writes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConduitError } from '../errors/conduit-error.js';
import type { OpenCDCRecord, StructuredData } from '../opencdc/record.js';
import { DEFAULT_DLQ, type DLQConfig } from '../provisioning/types.js';
import type { Destination, WriteOutcome } from '../sdk/connector.js';
import { DlqHandler } from './dlq.js';

/** A DLQ destination that keeps what it is given; it can throw, reject records, or be slow. */
class FakeDlq implements Destination {
  readonly written: OpenCDCRecord[] = [];
  throwOnWrite: Error | undefined;
  rejectWith: Error | undefined;
  delayMs = 0;
  concurrent = 0;
  maxConcurrent = 0;
  configure(): void {}
  async open(): Promise<void> {}
  async teardown(): Promise<void> {}
  async write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined> {
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.throwOnWrite !== undefined) throw this.throwOnWrite;
      if (this.rejectWith !== undefined) return records.map(() => this.rejectWith);
      this.written.push(...records);
      return undefined;
    } finally {
      this.concurrent--;
    }
  }
}

function handler(window: Partial<DLQConfig>): { dlq: DlqHandler; dest: FakeDlq } {
  const dest = new FakeDlq();
  return { dlq: new DlqHandler({ ...DEFAULT_DLQ, ...window }, dest), dest };
}

function rec(i: number | string, over: Partial<OpenCDCRecord> = {}): OpenCDCRecord {
  return {
    position: Buffer.from(String(i)),
    operation: 'create',
    metadata: { 'conduit.source.connector.id': 'p:src' },
    key: Buffer.from(`k${i}`),
    payload: { before: null, after: Buffer.from(`v${i}`) },
    ...over,
  };
}

const boom = new Error('boom');

/** The failed record's position, from the DLQ record written for it. */
function failedPositions(dest: FakeDlq): string[] {
  return dest.written.map((r) => Buffer.from((r.payload.after as StructuredData)['position'] as Uint8Array).toString());
}

describe('DlqHandler window and threshold', () => {
  for (const windowSize of [1, 5]) {
    it(`window-size ${windowSize}, threshold 0: the first nack stops the pipeline and nothing is written`, async () => {
      const { dlq, dest } = handler({ windowSize, windowNackThreshold: 0 });
      assert.equal(dlq.tracksAcks, false);
      await assert.rejects(dlq.nack(rec(7), boom, 'p:proc'), (e: unknown) => {
        assert.ok(e instanceof ConduitError);
        assert.equal(e.code, 'record.nacked');
        assert.equal(e.retryable, false);
        assert.match(e.message, /position 7 failed in p:proc: boom/);
        return true;
      });
      assert.deepEqual(dest.written, []);
    });
  }

  for (const threshold of [0, 3]) {
    it(`window-size 0, threshold ${threshold}: every nack goes to the DLQ, in order`, async () => {
      const { dlq, dest } = handler({ windowSize: 0, windowNackThreshold: threshold });
      assert.equal(dlq.tracksAcks, false);
      await Promise.all(Array.from({ length: 20 }, (_, i) => dlq.nack(rec(i), boom, 'p:dst')));
      assert.deepEqual(
        failedPositions(dest),
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
    });
  }

  it('window-size >0, threshold >0: writes until the nacks in the window exceed the threshold', async () => {
    const { dlq, dest } = handler({ windowSize: 10, windowNackThreshold: 2 });
    assert.equal(dlq.tracksAcks, true);
    await dlq.nack(rec(1), boom, 'p:dst');
    await dlq.nack(rec(2), boom, 'p:dst');
    await assert.rejects(dlq.nack(rec(3), boom, 'p:dst'), (e: unknown) => {
      assert.ok(e instanceof ConduitError);
      assert.equal(e.code, 'dlq.threshold_exceeded');
      assert.equal(e.retryable, false);
      assert.match(e.message, /DLQ nack threshold exceeded \(2\/10\).*p:dst: boom/);
      return true;
    });
    assert.deepEqual(failedPositions(dest), ['1', '2'], 'the nack over the threshold is not written');
  });

  it('acks slide old nacks out of the window', async () => {
    const { dlq, dest } = handler({ windowSize: 3, windowNackThreshold: 1 });
    await dlq.nack(rec(1), boom, 'n'); // [N]
    dlq.recordAcks(2); // [N A A]
    await dlq.nack(rec(2), boom, 'n'); // [A A N]: the first nack slid out
    dlq.recordAcks(3); // [A A A]
    await dlq.nack(rec(3), boom, 'n'); // [A A N]
    dlq.recordAcks(1); // [A N A]: the nack is still within the last 3 outcomes
    await assert.rejects(dlq.nack(rec(4), boom, 'n'), { code: 'dlq.threshold_exceeded' });
    assert.deepEqual(failedPositions(dest), ['1', '2', '3']);
  });

  it('many acks at once clear the window', async () => {
    const { dlq, dest } = handler({ windowSize: 4, windowNackThreshold: 1 });
    await dlq.nack(rec(1), boom, 'n');
    dlq.recordAcks(1_000);
    await dlq.nack(rec(2), boom, 'n');
    assert.deepEqual(failedPositions(dest), ['1', '2']);
  });

  it('once the threshold is exceeded the window stays frozen: later nacks fail too, acks or not', async () => {
    const { dlq, dest } = handler({ windowSize: 3, windowNackThreshold: 1 });
    await dlq.nack(rec(1), boom, 'n');
    await assert.rejects(dlq.nack(rec(2), boom, 'n'), { code: 'dlq.threshold_exceeded' });
    dlq.recordAcks(3);
    await assert.rejects(dlq.nack(rec(3), boom, 'n'), { code: 'dlq.threshold_exceeded' });
    assert.deepEqual(failedPositions(dest), ['1']);
  });

  it('counts like a ring of the last window-size outcomes, for any sequence of acks and nacks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })), { maxLength: 60 }),
        async (windowSize, threshold, steps) => {
          const { dlq } = handler({ windowSize, windowNackThreshold: threshold });
          const ring: boolean[] = []; // the model: every outcome, newest last
          let i = 0;
          for (const acks of steps) {
            if (acks > 0) {
              dlq.recordAcks(acks);
              for (let k = 0; k < acks; k++) ring.push(false);
              continue;
            }
            ring.push(true);
            const nacks = ring.slice(-windowSize).filter(Boolean).length;
            const outcome = await dlq.nack(rec(i++), boom, 'n').then(
              () => 'written',
              () => 'stopped',
            );
            assert.equal(outcome, nacks > threshold ? 'stopped' : 'written');
            if (outcome === 'stopped') return;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a window of 2^53 - 1 records costs memory per nack, not per record', async () => {
    const { dlq, dest } = handler({ windowSize: Number.MAX_SAFE_INTEGER, windowNackThreshold: 2 });
    await dlq.nack(rec(1), boom, 'n');
    dlq.recordAcks(1_000_000);
    await dlq.nack(rec(2), boom, 'n');
    await assert.rejects(dlq.nack(rec(3), boom, 'n'), { code: 'dlq.threshold_exceeded' });
    assert.deepEqual(failedPositions(dest), ['1', '2']);
  });

  it('acks do nothing when the window is not tracked', async () => {
    const { dlq, dest } = handler({ windowSize: 0, windowNackThreshold: 0 });
    dlq.recordAcks(5);
    await dlq.nack(rec(1), boom, 'n');
    assert.equal(dest.written.length, 1);
  });
});

describe('DLQ record', () => {
  it('is a create at <source connector>/<position> holding the failed record, with why and where in metadata', async () => {
    const { dlq, dest } = handler({ windowSize: 0 });
    const failed = rec('pos-7', {
      operation: 'update',
      metadata: { 'conduit.source.connector.id': 'p:src', 'opencdc.readAt': '1700000000000000000', custom: 'x' },
      key: { id: 7 },
      payload: { before: { name: 'old' }, after: { name: 'new' } },
    });
    const before = Date.now();
    await dlq.nack(failed, new ConduitError('processor.failed', 'processor p:proc (field.set) failed: bad'), 'p:proc');
    const after = Date.now();
    assert.equal(dest.written.length, 1);
    const r = dest.written[0] as OpenCDCRecord;
    assert.equal(r.operation, 'create');
    assert.equal(Buffer.from(r.position).toString(), 'p:src/pos-7');
    assert.equal(r.key, null);
    assert.equal(r.payload.before, null);
    assert.deepEqual(r.payload.after, {
      position: Buffer.from('pos-7'),
      operation: 'update',
      metadata: { 'conduit.source.connector.id': 'p:src', 'opencdc.readAt': '1700000000000000000', custom: 'x' },
      key: { id: 7 },
      payload: { before: { name: 'old' }, after: { name: 'new' } },
    });
    assert.equal(r.metadata['conduit.dlq.nack.error'], 'processor.failed: processor p:proc (field.set) failed: bad');
    assert.equal(r.metadata['conduit.dlq.nack.node.id'], 'p:proc');
    assert.equal(r.metadata['conduit.source.connector.id'], 'p:src');
    const createdMs = Number(BigInt(r.metadata['opencdc.createdAt'] ?? '0') / 1_000_000n);
    assert.ok(createdMs >= before && createdMs <= after, `opencdc.createdAt ${r.metadata['opencdc.createdAt']}`);
    assert.deepEqual(Object.keys(r.metadata).sort(), [
      'conduit.dlq.nack.error',
      'conduit.dlq.nack.node.id',
      'conduit.source.connector.id',
      'opencdc.createdAt',
    ]);
  });

  it('a plain error is recorded by its message; the failed metadata is a snapshot', async () => {
    const { dlq, dest } = handler({ windowSize: 0 });
    const failed = rec(3);
    await dlq.nack(failed, new Error('poison record v3'), 'p:dst');
    failed.metadata['later'] = 'changed';
    const r = dest.written[0] as OpenCDCRecord;
    assert.equal(r.metadata['conduit.dlq.nack.error'], 'poison record v3');
    assert.deepEqual((r.payload.after as StructuredData)['metadata'], { 'conduit.source.connector.id': 'p:src' });
  });
});

describe('a DLQ that fails', () => {
  it('a destination that throws: fatal dlq.write_failed', async () => {
    const { dlq, dest } = handler({ windowSize: 0 });
    dest.throwOnWrite = new Error('disk full');
    await assert.rejects(dlq.nack(rec(1), boom, 'n'), (e: unknown) => {
      assert.ok(e instanceof ConduitError);
      assert.equal(e.code, 'dlq.write_failed');
      assert.equal(e.retryable, false);
      assert.match(e.message, /could not take a failed record: disk full/);
      return true;
    });
  });

  it('a destination that rejects the record: fatal dlq.write_failed', async () => {
    const { dlq, dest } = handler({ windowSize: 5, windowNackThreshold: 3 });
    dest.rejectWith = new Error('record too large');
    await assert.rejects(dlq.nack(rec(1), boom, 'n'), (e: unknown) => {
      assert.ok(e instanceof ConduitError);
      assert.equal(e.code, 'dlq.write_failed');
      assert.equal(e.retryable, false);
      assert.match(e.message, /rejected a failed record: record too large/);
      return true;
    });
  });

  it('after a failed write the handler is broken: later nacks fail without writing', async () => {
    const { dlq, dest } = handler({ windowSize: 0 });
    dest.throwOnWrite = new Error('disk full');
    await assert.rejects(dlq.nack(rec(1), boom, 'n'), { code: 'dlq.write_failed' });
    dest.throwOnWrite = undefined;
    await assert.rejects(dlq.nack(rec(2), boom, 'n'), { code: 'dlq.write_failed' });
    assert.deepEqual(dest.written, []);
  });

  it('writes one record at a time, in nack order, also when the destination is slow', async () => {
    const { dlq, dest } = handler({ windowSize: 0 });
    dest.delayMs = 2;
    await Promise.all([1, 2, 3, 4, 5].map((i) => dlq.nack(rec(i), boom, 'n')));
    assert.equal(dest.maxConcurrent, 1);
    assert.deepEqual(failedPositions(dest), ['1', '2', '3', '4', '5']);
  });

  it('queued writes behind a failed one fail too', async () => {
    const { dlq, dest } = handler({ windowSize: 0 });
    dest.delayMs = 2;
    dest.throwOnWrite = new Error('disk full');
    const first = dlq.nack(rec(1), boom, 'n');
    const second = dlq.nack(rec(2), boom, 'n');
    await assert.rejects(first, { code: 'dlq.write_failed' });
    dest.throwOnWrite = undefined;
    await assert.rejects(second, { code: 'dlq.write_failed' });
    assert.deepEqual(dest.written, []);
  });
});

describe('nacks accepted before the threshold', () => {
  it('are written even when the threshold is exceeded while they wait for the DLQ', async () => {
    const { dlq, dest } = handler({ windowSize: 10, windowNackThreshold: 2 });
    dest.delayMs = 2;
    const first = dlq.nack(rec(1), boom, 'n');
    const second = dlq.nack(rec(2), boom, 'n');
    const third = dlq.nack(rec(3), boom, 'n');
    await assert.rejects(third, { code: 'dlq.threshold_exceeded' });
    await first;
    await second;
    assert.deepEqual(failedPositions(dest), ['1', '2']);
  });
});
