/**
 * `base64.decode`: decodes the standard base64 (with padding) in a field. The
 * result is raw data for `.Key` and the payload, a string elsewhere.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { configError, eachRecord, fieldFailure, fieldParam, isDataRef, kindOf } from '../util.js';

const NAME = 'base64.decode';

export const base64DecodePlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Decode a field from base64.',
  description:
    'Decodes the value of the target field from base64 and stores the result in the target field. ' +
    'It is not allowed to decode the `.Position` field.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      required: true,
      exclusion: ['.Position'],
      description:
        'Field is the reference to the target field. Note that it is not allowed to base64 decode the ' +
        '`.Position` field. For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let raw = false;
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        const field = config.string('field');
        ref = fieldParam(ctx, 'field', field);
        if (!ref.settable) {
          throw configError(
            ctx,
            'field',
            `${field} cannot be set`,
            'decode a field such as .Payload.After.data or .Key',
          );
        }
        raw = isDataRef(ref);
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        return eachRecord(
          records,
          (r) => {
            decodeField(field, r, raw);
            return r;
          },
          (e) => fieldFailure(ctx, NAME, field.text, e),
        );
      },
    };
  },
};

function decodeField(ref: FieldRef, r: OpenCDCRecord, raw: boolean): void {
  const v = ref.get(r);
  let input: Uint8Array;
  if (v instanceof Uint8Array) input = v;
  else if (typeof v === 'string') input = Buffer.from(v, 'utf8');
  else if (v === null || v === undefined) return;
  else throw new Error(`unexpected data type: ${kindOf(v)}`);
  let decoded: Buffer;
  try {
    decoded = decodeStdBase64(input);
  } catch (e) {
    throw new Error(`failed to decode the value: ${(e as Error).message}`);
  }
  ref.set(r, raw ? decoded : decoded.toString('utf8'));
}

const PAD = 0x3d; // =
const INVALID = 0xff;
const DECODE = new Uint8Array(256).fill(INVALID);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => {
  DECODE[c.charCodeAt(0)] = i;
});

function isNewline(c: number | undefined): boolean {
  return c === 0x0a || c === 0x0d;
}

function corrupt(at: number): Error {
  return new Error(`illegal base64 data at input byte ${at}`);
}

/**
 * Go's `base64.StdEncoding.Decode`: the standard alphabet, padding required,
 * line breaks ignored. Errors name the input byte where decoding failed, as
 * Go's do (`illegal base64 data at input byte 0`).
 */
export function decodeStdBase64(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(src.length / 4) * 3);
  let n = 0;
  let si = 0;
  const q = [0, 0, 0, 0];
  for (;;) {
    let j = 0;
    let len = 4;
    while (j < 4) {
      if (si === src.length) {
        if (j === 0) return out.subarray(0, n);
        throw corrupt(si - j); // an unfinished group without padding
      }
      const c = src[si++] as number;
      const d = DECODE[c] as number;
      if (d !== INVALID) {
        q[j++] = d;
        continue;
      }
      if (isNewline(c)) continue;
      if (c !== PAD || j < 2) throw corrupt(si - 1);
      if (j === 2) {
        // "xx==": the second "=" must follow, maybe after line breaks
        while (isNewline(src[si])) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== PAD) throw corrupt(si - 1);
        si++;
      }
      while (isNewline(src[si])) si++;
      if (si < src.length) throw corrupt(si); // something after the padding
      len = j;
      break;
    }
    const v = ((q[0] as number) << 18) | ((q[1] as number) << 12) | ((q[2] as number) << 6) | (q[3] as number);
    out[n++] = (v >> 16) & 0xff;
    if (len > 2) out[n++] = (v >> 8) & 0xff;
    if (len > 3) out[n++] = v & 0xff;
    if (len < 4) return out.subarray(0, n);
  }
}
