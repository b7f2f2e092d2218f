/**
 * Positions of the kafka source, JSON as Conduit's connector writes them:
 *
 * - in a consumer group: `{"groupID":"g","topic":"t","partition":0,"offset":41}`;
 * - without a group, also the frontier, the next offset of every partition the
 *   source reads once this record is delivered:
 *   `{"topic":"t","partition":0,"offset":41,"offsets":{"t:0":42,"t:1":17}}`.
 */
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';

export interface Position {
  readonly groupID?: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** `topic:partition` → the next offset, as a decimal string. */
  readonly offsets?: Readonly<Record<string, string>>;
}

export function encodeGroupPosition(groupID: string, topic: string, partition: number, offset: bigint): Uint8Array {
  return Buffer.from(
    `{"groupID":${JSON.stringify(groupID)},"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${offset}}`,
  );
}

/**
 * The positions of one partition's records without a group: for the record at
 * `offset`, `next` is the partition's next offset once it is delivered. The
 * other partitions' offsets are taken from `frontier` now (they do not move
 * while one partition's records are turned into records), so each position is
 * two fixed strings around two numbers.
 */
export function frontierPositions(
  topic: string,
  partition: number,
  frontier: Iterable<{ readonly topic: string; readonly partition: number; readonly next: bigint }>,
): (offset: bigint, next: bigint) => Uint8Array {
  let before = '';
  let after = '';
  let seen = false;
  let sep = '';
  for (const p of frontier) {
    if (p.topic === topic && p.partition === partition) {
      before += sep;
      seen = true;
    } else if (seen) {
      after += `,${JSON.stringify(`${p.topic}:${p.partition}`)}:${p.next}`;
    } else {
      before += `${sep}${JSON.stringify(`${p.topic}:${p.partition}`)}:${p.next}`;
    }
    sep = ',';
  }
  if (!seen) before += sep;
  const head = `{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":`;
  const middle = `,"offsets":{${before}${JSON.stringify(`${topic}:${partition}`)}:`;
  const tail = `${after}}}`;
  // Topic names are ASCII (Kafka allows [a-zA-Z0-9._-]): then latin1 gives the same bytes as UTF-8, cheaper.
  const encoding = /^[\x20-\x7e]*$/.test(head + middle + tail) ? 'latin1' : 'utf8';
  return (offset, next) => Buffer.from(`${head}${offset}${middle}${next}${tail}`, encoding);
}

export function decodePosition(position: Uint8Array): Position {
  const text = Buffer.from(position.buffer, position.byteOffset, position.byteLength).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badPosition(text);
  }
  if (typeof v !== 'object' || v === null) throw badPosition(text);
  // Conduit's Go structs may be written with capitalised names.
  const o = v as Record<string, unknown>;
  const topic = o.topic ?? o.Topic;
  const partition = o.partition ?? o.Partition;
  const offset = o.offset ?? o.Offset;
  const groupID = o.groupID ?? o.GroupID;
  if (typeof topic !== 'string' || !Number.isInteger(partition) || !Number.isInteger(offset)) throw badPosition(text);
  const offsets: Record<string, string> = {};
  if (typeof o.offsets === 'object' && o.offsets !== null) {
    for (const [k, n] of Object.entries(o.offsets as Record<string, unknown>)) {
      if (!Number.isInteger(n)) throw badPosition(text);
      offsets[k] = String(n);
    }
  }
  return {
    topic,
    partition: partition as number,
    offset: offset as number,
    ...(typeof groupID === 'string' && groupID !== '' ? { groupID } : {}),
    ...(typeof o.offsets === 'object' ? { offsets } : {}),
  };
}

function badPosition(text: string): ConduitError {
  return new ConduitError(
    Code.ConnectorOpenFailed,
    `kafka: position ${JSON.stringify(text.slice(0, 200))} is not a kafka position`,
    {
      retryable: false,
      suggestion: 'reset the connector state, or give a position this connector wrote',
    },
  );
}
