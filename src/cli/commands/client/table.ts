/**
 * Human output of the client commands: aligned columns under upper-case
 * headers, and `Key: value` blocks for one entity.
 */

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [headers, ...rows].map((r) => r.map((c) => oneLine(c)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `Key: value` lines with the values aligned. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${oneLine(v)}`.trimEnd()).join('\n');
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/** Conduit's enum names for people: STATUS_RUNNING → running. */
export function enumName(value: unknown, prefix: string): string {
  if (typeof value !== 'string') return '';
  return value.startsWith(prefix) ? value.slice(prefix.length).toLowerCase() : value;
}

/** A timestamp as the API sends it, shortened to the second. */
export function time(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString().replace(/\.\d+Z$/, 'Z');
}
