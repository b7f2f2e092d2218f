/**
 * Go's `encoding/json` Marshal, as sprig's `toJson` and `toPrettyJson` use it:
 * map keys sorted, bytes as base64, `<`, `>` and `&` escaped, floats formatted
 * like Go (which for float64 matches JavaScript's shortest form).
 */
import { formatTime } from './time.js';
import {
  ChangeView,
  GoTime,
  MetadataView,
  NIL_DATA,
  OperationView,
  PositionView,
  RecordView,
  sortedKeys,
  typeName,
} from './values.js';

export class JsonError extends Error {}

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const ESCAPE_RE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal with Go's HTML-safe escaping. */
export function jsonString(s: string): string {
  if (!ESCAPE_RE.test(s)) return '"' + s + '"';
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\\ufffd';
    } else if (c >= 0xd800 && c < 0xe000) out += '\\ufffd';
    else out += s[i]!;
  }
  return out + '"';
}

function jsonFloat(x: number): string {
  if (!Number.isFinite(x))
    throw new JsonError(`json: unsupported value: ${x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : 'NaN'}`);
  if (Object.is(x, -0)) return '-0';
  return String(x); // ES shortest form uses exponents outside [1e-7, 1e21), like Go's encoder
}

/** json.Marshal (indent "" for compact, e.g. "  " for MarshalIndent(v, "", "  ")). */
export function marshalJson(v: unknown, indent = ''): string {
  return enc(v, indent, '\n', 0);
}

function enc(v: unknown, ind: string, nl: string, depth: number): string {
  if (depth > 1000) throw new JsonError('json: unsupported value: encountered a cycle');
  switch (typeof v) {
    case 'string':
      return jsonString(v);
    case 'number':
      return jsonFloat(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'symbol':
      return 'null';
    case 'function':
      throw new JsonError('json: unsupported type: func()');
  }
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return '"' + b64(v) + '"';
  if (v instanceof PositionView) return '"' + b64(v.bytes) + '"';
  if (v instanceof OperationView) return jsonString(v.name);
  if (v instanceof GoTime) return jsonString(formatTime(v, '2006-01-02T15:04:05.999999999Z07:00'));
  if (v instanceof Date) return jsonString(formatTime(GoTime.fromDate(v), '2006-01-02T15:04:05.999999999Z07:00'));
  const nextNl = ind === '' ? '' : nl + ind;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const parts = v.map((e) => enc(e, ind, nextNl, depth + 1));
    return ind === '' ? '[' + parts.join(',') + ']' : '[' + nextNl + parts.join(',' + nextNl) + nl + ']';
  }
  let entries: [string, unknown][];
  if (v instanceof RecordView) {
    const r = v.record;
    entries = [
      ['position', r.position],
      ['operation', r.operation],
      ['metadata', r.metadata],
      ['key', r.key],
      ['payload', new ChangeView(r.payload)],
    ];
  } else if (v instanceof ChangeView) {
    entries = [
      ['before', v.change.before],
      ['after', v.change.after],
    ];
  } else {
    const m = v instanceof MetadataView ? v.map : (v as Record<string, unknown>);
    if (typeof m !== 'object') throw new JsonError(`json: unsupported type: ${typeName(v)}`);
    entries = sortedKeys(m).map((k) => [k, m[k]]);
  }
  if (entries.length === 0) return '{}';
  const sep = ind === '' ? ':' : ': ';
  const parts = entries.map(([k, e]) => jsonString(k) + sep + enc(e === NIL_DATA ? null : e, ind, nextNl, depth + 1));
  return ind === '' ? '{' + parts.join(',') + '}' : '{' + nextNl + parts.join(',' + nextNl) + nl + '}';
}
