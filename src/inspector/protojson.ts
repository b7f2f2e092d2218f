/**
 * A record in the shape Conduit's stream inspector sends it: the protojson of
 * `opencdc.v1.Record` (`v1Record` in the API's swagger), wrapped in the
 * gateway's stream envelope `{"result": …}`.
 *
 * - `operation` is the enum name: `OPERATION_CREATE`, `OPERATION_UPDATE`, …
 * - `key`, `payload.before` and `payload.after` are `v1Data`: `{"rawData":"<base64>"}`
 *   or `{"structuredData":{…}}`. Conduit's engine turns a missing key or payload
 *   into empty raw data on read, so `null` is sent as `{"rawData":""}`.
 * - `position` is base64; `metadata` a string map.
 *
 * Structured values are written by the `opencdc/json` encoder (Go's rules:
 * sorted keys, bytes as base64, dates as RFC 3339): the output is a string, so a
 * sampled record is a copy that later processors cannot change.
 */
import { encodeData, encodeValue } from '../opencdc/json.js';
import type { Data, OpenCDCRecord } from '../opencdc/record.js';

const OPERATION: Readonly<Record<string, string>> = {
  create: '"OPERATION_CREATE"',
  update: '"OPERATION_UPDATE"',
  delete: '"OPERATION_DELETE"',
  snapshot: '"OPERATION_SNAPSHOT"',
};

function data(d: Data): string {
  if (d === null || d === undefined) return '{"rawData":""}';
  if (d instanceof Uint8Array) return `{"rawData":${encodeData(d)}}`;
  return `{"structuredData":${encodeData(d)}}`;
}

/** The protojson of one record (`v1Record`), as a JSON text. Throws on values JSON cannot carry (NaN). */
export function recordProtoJson(r: OpenCDCRecord): string {
  const op = Object.hasOwn(OPERATION, r.operation) ? OPERATION[r.operation] : '"OPERATION_UNSPECIFIED"';
  return (
    `{"position":${encodeData(r.position)},"operation":${op as string},"metadata":${encodeValue(r.metadata)}` +
    `,"key":${data(r.key)},"payload":{"before":${data(r.payload.before)},"after":${data(r.payload.after)}}}`
  );
}

/** One message of an inspector stream: `{"result":<v1Record>}`. */
export function streamMessage(recordJson: string): string {
  return `{"result":${recordJson}}`;
}
