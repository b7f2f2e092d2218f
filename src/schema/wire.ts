/**
 * The Confluent wire format: magic byte 0, the schema ID as a 4-byte
 * big-endian integer, then the Avro binary encoding of the value.
 */
import { AvroValueError } from './avro.js';

export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

/** Prepends the header to an encoded value, in one new buffer. */
export function frame(schemaId: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  out.set(payload, HEADER_SIZE);
  return out;
}

/**
 * Splits framed data into its schema ID and payload (a view, not a copy).
 *
 * @throws AvroValueError when the data is shorter than the header or starts with another byte than 0.
 */
export function unframe(data: Uint8Array): { schemaId: number; payload: Uint8Array } {
  if (data.length < HEADER_SIZE) {
    throw new AvroValueError(`the data is ${data.length} bytes long, shorter than the 5-byte schema header`);
  }
  if (data[0] !== MAGIC_BYTE) {
    throw new AvroValueError(
      `the data starts with byte ${data[0]}, not the magic byte 0 of the schema registry wire format`,
    );
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { schemaId: view.getUint32(1, false), payload: data.subarray(HEADER_SIZE) };
}
