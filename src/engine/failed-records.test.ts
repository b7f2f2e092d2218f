/** FailedRecordLog: newest first, bounded by count and bytes, large records truncated, secrets redacted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../errors/conduit-error.js';
import { registerSecret } from '../log/redact.js';
import { makeRecord, type OpenCDCRecord } from '../opencdc/record.js';
import { FailedRecordLog, FailedRecords } from './failed-records.js';

function rec(i: number, payload = `v${i}`): OpenCDCRecord {
  return makeRecord({
    position: Buffer.from(String(i)),
    metadata: { 'conduit.source.connector.id': 'p:src' },
    key: Buffer.from(`k${i}`),
    payload: { before: null, after: { n: i, text: payload } },
  });
}

describe('FailedRecordLog', () => {
  it('keeps the record in its OpenCDC JSON shape with the error, node, outcome and time, newest first', () => {
    const log = new FailedRecordLog();
    const before = Date.now();
    log.add(rec(1), new ConduitError('processor.failed', 'processor p:e (error) failed: bad'), 'p:e', 'dlq', 'x.y');
    log.add(rec(2), new Error('refused'), 'p:dst', 'stopped', 'connector.write_failed');
    const [second, first] = log.list();
    assert.deepEqual(first?.record, {
      position: Buffer.from('1').toString('base64'),
      operation: 'create',
      metadata: { 'conduit.source.connector.id': 'p:src' },
      key: Buffer.from('k1').toString('base64'),
      payload: { before: null, after: { n: 1, text: 'v1' } },
    });
    assert.deepEqual(first?.error, { code: 'processor.failed', message: 'processor p:e (error) failed: bad' });
    assert.equal(first?.nodeId, 'p:e');
    assert.equal(first?.outcome, 'dlq');
    assert.equal(first?.sequence, 1);
    assert.equal(first?.recordTruncated, false);
    assert.ok(Date.parse(first?.failedAt ?? '') >= before - 1000);
    // A plain Error takes the code given for its node.
    assert.deepEqual(second?.error, { code: 'connector.write_failed', message: 'refused' });
    assert.equal(second?.outcome, 'stopped');
    assert.equal(second?.sequence, 2);
    assert.deepEqual(
      log.list(1).map((f) => f.sequence),
      [2],
    );
  });

  it('drops the oldest beyond the count limit, and counts every failure', () => {
    const log = new FailedRecordLog({ maxRecords: 5, maxBytes: 1 << 20 });
    for (let i = 1; i <= 500; i++) log.add(rec(i), new Error('e'), 'n', 'dlq', 'c');
    assert.equal(log.total, 500);
    assert.equal(log.kept, 5);
    assert.deepEqual(
      log.list().map((f) => f.sequence),
      [500, 499, 498, 497, 496],
    );
  });

  it('stays within the byte limit, and keeps an oversized record without its data', () => {
    const max = 64 * 1024;
    const log = new FailedRecordLog({ maxRecords: 1000, maxBytes: max });
    for (let i = 1; i <= 200; i++) log.add(rec(i, 'x'.repeat(2000)), new Error('e'), 'n', 'dlq', 'c');
    assert.ok(log.bytes <= max, `${log.bytes} bytes kept`);
    assert.ok(log.kept > 10 && log.kept < 40, `${log.kept} kept`);
    assert.equal(log.list()[0]?.sequence, 200);

    log.add(rec(201, 'y'.repeat(max)), new Error('e'), 'n', 'dlq', 'c');
    const big = log.list(1)[0];
    assert.equal(big?.recordTruncated, true);
    assert.deepEqual((big?.record as { payload: unknown }).payload, { before: null, after: null });
    assert.equal((big?.record as { position: string }).position, Buffer.from('201').toString('base64'));
    assert.ok(log.bytes <= max);
  });

  it('keeps a record that cannot be encoded, without its data', () => {
    const log = new FailedRecordLog();
    log.add(rec(1, NaN as unknown as string), new Error('not a number'), 'n', 'dlq', 'c');
    const f = log.list()[0];
    assert.equal(f?.recordTruncated, true);
    assert.equal((f?.record as { operation: string }).operation, 'create');
  });

  it('redacts registered secrets and URL passwords in error messages, and cuts long ones', () => {
    registerSecret('s3cr3t-value-for-failed-records');
    const log = new FailedRecordLog();
    log.add(
      rec(1),
      new Error('auth failed for s3cr3t-value-for-failed-records at postgres://u:pw@db/x'),
      'n',
      'stopped',
      'c',
    );
    log.add(rec(2), new Error('m'.repeat(10_000)), 'n', 'stopped', 'c');
    const [long, secret] = log.list();
    assert.equal(secret?.error.message, 'auth failed for *** at postgres://u:***@db/x');
    assert.ok((long?.error.message.length ?? 0) < 4200);
  });

  it('is kept per pipeline and forgotten with it', () => {
    const all = new FailedRecords();
    all.for('a').add(rec(1), new Error('e'), 'n', 'dlq', 'c');
    assert.equal(all.for('a').total, 1);
    assert.equal(all.for('b').total, 0);
    all.forget('a');
    assert.equal(all.for('a').total, 0);
  });
});
