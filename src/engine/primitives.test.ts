import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget } from './byte-budget.js';
import { Channel } from './channel.js';

describe('Channel', () => {
  it('is FIFO and makes a producer wait while full', async () => {
    const ch = new Channel<number>(2);
    await ch.push(1);
    await ch.push(2);
    let third = false;
    const p = ch.push(3).then(() => (third = true));
    await Promise.resolve();
    assert.equal(third, false, 'a push into a full channel went through');
    assert.equal(await ch.pop(), 1);
    await p;
    assert.equal(third, true);
    assert.deepEqual([await ch.pop(), await ch.pop()], [2, 3]);
  });

  it('drains after close, then pops undefined', async () => {
    const ch = new Channel<string>(4);
    await ch.push('a');
    ch.close();
    assert.equal(await ch.pop(), 'a');
    assert.equal(await ch.pop(), undefined);
    await assert.rejects(ch.push('b'));
  });

  it('popWithin gives up without taking a later item', async () => {
    const ch = new Channel<number>(4);
    assert.equal(await ch.popWithin(5), undefined);
    await ch.push(7);
    assert.equal(await ch.pop(), 7, 'an abandoned popWithin swallowed the item');
  });

  it('abort fails a waiting producer and ends the consumer', async () => {
    const ch = new Channel<number>(1);
    await ch.push(1);
    const blocked = ch.push(2);
    ch.abort(new Error('stop'));
    await assert.rejects(blocked, /stop/);
    assert.equal(await ch.pop(), undefined);
  });
});

describe('ByteBudget', () => {
  it('admits while there is room and serves waiters in order as bytes return', async () => {
    const b = new ByteBudget(100);
    assert.equal(b.acquire(60), undefined, 'the fast path should not allocate a promise');
    const order: string[] = [];
    const w1 = b.acquire(50)?.then(() => order.push('w1'));
    const w2 = b.acquire(10)?.then(() => order.push('w2'));
    assert.ok(w1 !== undefined && w2 !== undefined, 'over-budget requests must wait');
    b.release(60);
    await Promise.all([w1, w2]);
    assert.deepEqual(order, ['w1', 'w2']);
    assert.equal(b.inUse, 60);
  });

  it('admits one request larger than the whole budget when nothing else is held', async () => {
    const b = new ByteBudget(100);
    assert.equal(b.acquire(500), undefined);
    const next = b.acquire(1);
    assert.ok(next !== undefined);
    b.release(500);
    await next;
    assert.equal(b.inUse, 1);
  });

  it('with minHeld 2, admits a second request whatever its size, and a third only when it fits', async () => {
    const b = new ByteBudget(100, 2);
    assert.equal(b.acquire(500), undefined);
    assert.equal(b.acquire(400), undefined, 'the second batch waited for the first');
    const third = b.acquire(1);
    assert.ok(third !== undefined, 'a third batch went over the budget');
    b.release(500);
    let admitted = false;
    void third.then(() => (admitted = true));
    await Promise.resolve();
    assert.equal(admitted, true, 'the third waited although only one batch was held');
    b.release(400);
    assert.equal(b.inUse, 1);
    assert.equal(b.acquire(50), undefined, 'one held');
    assert.equal(b.acquire(49), undefined, 'two held, and the bytes fit');
    assert.ok(b.acquire(1) !== undefined, 'two held, and the bytes do not fit');
  });

  it('close rejects waiters and later requests', async () => {
    const b = new ByteBudget(10);
    assert.equal(b.acquire(10), undefined);
    const w = b.acquire(5);
    b.close(new Error('pipeline stopped'));
    await assert.rejects(w ?? Promise.resolve(), /pipeline stopped/);
    await assert.rejects(b.acquire(1) ?? Promise.resolve(), /pipeline stopped/);
  });
});
