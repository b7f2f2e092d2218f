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

export function encodeFrontierPosition(
  topic: string,
  partition: number,
  offset: bigint,
  frontier: Iterable<{ readonly topic: string; readonly partition: number; readonly next: bigint }>,
): Uint8Array {
  let offsets = '';
  for (const p of frontier) {
    offsets += `${offsets === '' ? '' : ','}${JSON.stringify(`${p.topic}:${p.partition}`)}:${p.next}`;
  }
  return Buffer.from(
    `{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${offset},"offsets":{${offsets}}}`,
  );
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
