/**
 * Go duration strings ("300ms", "1.5s", "1h2m", "0"), as Conduit's parameters use them.
 * Parsed to milliseconds (fractional for sub-millisecond units).
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Returns milliseconds, or undefined when the text is not a Go duration. */
export function parseDuration(text: string): number | undefined {
  let s = text.trim();
  if (s === '') return undefined;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (m === null) return undefined;
    const [, num, unit] = m;
    const perUnit = UNIT_MS[unit ?? ''];
    if (num === undefined || perUnit === undefined) return undefined;
    total += Number(num) * perUnit;
    pos = PART.lastIndex;
  }
  return sign * total;
}

/** Formats milliseconds as a Go duration string ("1m30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  let out = '';
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  out += `${Number((rest / 1000).toFixed(9))}s`;
  return (neg ? '-' : '') + out;
}
