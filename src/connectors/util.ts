/**
 * Small helpers the built-in connectors share: abortable waits (from the SDK),
 * cheap decimal positions, and lazily loaded implementations.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import type { Destination, Source } from '../sdk/connector.js';

export { delay, untilAborted } from '../sdk/abort.js';

/**
 * Writes the decimal form of each number into one shared buffer and returns a
 * view per number: one allocation per batch instead of one per position.
 */
export function decimals(values: ArrayLike<number>): Buffer[] {
  const n = values.length;
  const out: Buffer[] = new Array<Buffer>(n);
  if (n === 0) return out;
  const texts: string[] = new Array<string>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = String(values[i]);
    texts[i] = t;
    total += t.length;
  }
  const slab = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const t = texts[i] as string;
    const len = t.length;
    for (let j = 0; j < len; j++) slab[off + j] = t.charCodeAt(j);
    out[i] = slab.subarray(off, off + len);
    off += len;
  }
  return out;
}

/** Parses a position written as a decimal string; throws a ConduitError naming the connector otherwise. */
export function parseDecimalPosition(position: Uint8Array, what: string): number {
  const text = Buffer.from(position.buffer, position.byteOffset, position.byteLength).toString('latin1');
  if (!/^\d{1,16}$/.test(text)) {
    throw new ConduitError(
      Code.ConnectorOpenFailed,
      `${what}: position ${JSON.stringify(text)} is not a decimal number`,
      {
        retryable: false,
        suggestion: 'reset the connector state, or give a position this connector wrote',
      },
    );
  }
  return Number(text);
}

/** A configuration problem found while configuring, named by its parameter. */
export function paramError(key: string, message: string, suggestion?: string): ConduitError {
  return new ConduitError(Code.ParamValidation, `parameter "${key}": ${message}`, {
    configPath: `/${key}`,
    ...(suggestion === undefined ? {} : { suggestion }),
  });
}

/** Like `decimals`, for the consecutive numbers `first, first+1, …` (count of them). */
export function decimalRange(first: number, count: number): Buffer[] {
  const out: Buffer[] = new Array<Buffer>(count);
  if (count <= 0) return out;
  const maxLen = String(first + count - 1).length;
  const slab = Buffer.allocUnsafe(maxLen * count);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const t = String(first + i);
    const len = t.length;
    for (let j = 0; j < len; j++) slab[off + j] = t.charCodeAt(j);
    out[i] = slab.subarray(off, off + len);
    off += len;
  }
  return out;
}

/**
 * A source whose implementation, and the client library it imports, is loaded
 * when a pipeline configures it rather than when the plugin registry is built:
 * every command of the CLI would otherwise pay for every vendor SDK at start.
 * (Lifecycle hooks are not forwarded: connectors built this way have none.)
 */
export function lazySource(load: () => Promise<Source>): Source {
  let inner: Source | undefined;
  const get = (): Source => {
    if (inner === undefined) throw new Error('the source was used before configure');
    return inner;
  };
  return {
    async configure(config, ctx) {
      inner ??= await load();
      await inner.configure(config, ctx);
    },
    open: (position) => get().open(position),
    read: (max, signal) => get().read(max, signal),
    ack: (positions) => get().ack(positions),
    teardown: async () => inner?.teardown(),
    progress: () => inner?.progress?.() ?? {},
  };
}

/** {@link lazySource} for destinations. */
export function lazyDestination(load: () => Promise<Destination>): Destination {
  let inner: Destination | undefined;
  const get = (): Destination => {
    if (inner === undefined) throw new Error('the destination was used before configure');
    return inner;
  };
  return {
    async configure(config, ctx) {
      inner ??= await load();
      await inner.configure(config, ctx);
    },
    open: () => get().open(),
    write: (records) => get().write(records),
    get writesInFlight() {
      return inner?.writesInFlight;
    },
    teardown: async () => inner?.teardown(),
  };
}
