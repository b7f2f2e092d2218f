/**
 * Go's reference-time layouts (`2006-01-02 15:04:05.999999999 -0700 MST`) for
 * sprig's `date` and `toDate`. Local time is the process's time zone.
 */
import { GoTime } from './values.js';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// Longest tokens first so that "January" wins over "Jan" and "2006" over "2".
const TOKENS = [
  'January',
  'Monday',
  '-07:00:00',
  'Z07:00:00',
  '-07:00',
  'Z07:00',
  '-0700',
  'Z0700',
  '2006',
  '.000000000',
  '.999999999',
  '.000000',
  '.999999',
  '.000',
  '.999',
  'Jan',
  'Mon',
  'MST',
  '-07',
  'Z07',
  '002',
  '_2',
  '01',
  '02',
  '03',
  '04',
  '05',
  '06',
  '15',
  'PM',
  'pm',
  '1',
  '2',
  '3',
  '4',
  '5',
];

function tokenize(layout: string): string[] {
  const out: string[] = [];
  let lit = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const t of TOKENS) {
      if (layout.startsWith(t, i)) {
        // ".000" style fractions only count after a digit token, like Go (approximately)
        if (lit !== '') out.push('\u0000' + lit);
        lit = '';
        out.push(t);
        i += t.length;
        continue outer;
      }
    }
    lit += layout[i];
    i++;
  }
  if (lit !== '') out.push('\u0000' + lit);
  return out;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nanos: number;
  weekday: number;
  yday: number;
  offsetMin: number;
  zone: string;
}

function partsOf(t: GoTime): Parts {
  const d = new Date(t.ms);
  const utc = t.utc;
  const offsetMin = utc ? 0 : -d.getTimezoneOffset();
  const shifted = new Date(t.ms + offsetMin * 60000);
  const y = shifted.getUTCFullYear();
  const start = Date.UTC(y, 0, 1);
  const yday = Math.floor((shifted.getTime() - start) / 86400000) + 1;
  let zone = 'UTC';
  if (!utc && offsetMin !== 0) {
    try {
      const p = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d);
      zone = p.find((x) => x.type === 'timeZoneName')?.value ?? '';
      if (/^GMT[+-]/.test(zone)) zone = fmtOffset(offsetMin, '-07');
    } catch {
      zone = fmtOffset(offsetMin, '-07');
    }
  } else if (!utc) {
    zone = process.env.TZ && process.env.TZ !== 'UTC' ? 'GMT' : 'UTC';
  }
  return {
    year: y,
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    min: shifted.getUTCMinutes(),
    sec: shifted.getUTCSeconds(),
    nanos: t.nanos,
    weekday: shifted.getUTCDay(),
    yday,
    offsetMin,
    zone,
  };
}

function p2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function fmtOffset(offMin: number, tok: string): string {
  if (tok.startsWith('Z') && offMin === 0) return 'Z';
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  const h = p2(Math.floor(a / 60));
  const m = p2(a % 60);
  const core = tok.replace(/^Z/, '-');
  switch (core) {
    case '-07':
      return sign + h;
    case '-0700':
      return sign + h + m;
    case '-07:00':
      return sign + h + ':' + m;
    case '-07:00:00':
      return sign + h + ':' + m + ':00';
  }
  return sign + h + m;
}

/** time.Time.Format. */
export function formatTime(t: GoTime, layout: string): string {
  const p = partsOf(t);
  let out = '';
  for (const tok of tokenize(layout)) {
    if (tok.startsWith('\u0000')) {
      out += tok.slice(1);
      continue;
    }
    switch (tok) {
      case '2006':
        out += String(p.year).padStart(4, '0');
        break;
      case '06':
        out += p2(p.year % 100);
        break;
      case 'January':
        out += MONTHS[p.month - 1];
        break;
      case 'Jan':
        out += MONTHS[p.month - 1]!.slice(0, 3);
        break;
      case '01':
        out += p2(p.month);
        break;
      case '1':
        out += String(p.month);
        break;
      case 'Monday':
        out += DAYS[p.weekday];
        break;
      case 'Mon':
        out += DAYS[p.weekday]!.slice(0, 3);
        break;
      case '02':
        out += p2(p.day);
        break;
      case '_2':
        out += p.day < 10 ? ' ' + p.day : String(p.day);
        break;
      case '2':
        out += String(p.day);
        break;
      case '002':
        out += String(p.yday).padStart(3, '0');
        break;
      case '15':
        out += p2(p.hour);
        break;
      case '03':
        out += p2(p.hour % 12 === 0 ? 12 : p.hour % 12);
        break;
      case '3':
        out += String(p.hour % 12 === 0 ? 12 : p.hour % 12);
        break;
      case '04':
        out += p2(p.min);
        break;
      case '4':
        out += String(p.min);
        break;
      case '05':
        out += p2(p.sec);
        break;
      case '5':
        out += String(p.sec);
        break;
      case 'PM':
        out += p.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += p.hour >= 12 ? 'pm' : 'am';
        break;
      case 'MST':
        out += p.zone;
        break;
      default:
        if (tok.startsWith('.0')) {
          out +=
            '.' +
            String(p.nanos)
              .padStart(9, '0')
              .slice(0, tok.length - 1);
        } else if (tok.startsWith('.9')) {
          const frac = String(p.nanos)
            .padStart(9, '0')
            .slice(0, tok.length - 1)
            .replace(/0+$/, '');
          if (frac !== '') out += '.' + frac;
        } else {
          out += fmtOffset(p.offsetMin, tok);
        }
    }
  }
  return out;
}

/** time.ParseInLocation(layout, value, time.Local); returns the zero time on failure like sprig's toDate. */
export function parseTime(layout: string, value: string): GoTime | null {
  let i = 0;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nanos = 0;
  let pm: boolean | null = null;
  let offset: number | null = null;
  const num = (minLen: number, maxLen: number): number | null => {
    const m = new RegExp(`^\\d{${minLen},${maxLen}}`).exec(value.slice(i));
    if (!m) return null;
    i += m[0].length;
    return Number(m[0]);
  };
  for (const tok of tokenize(layout)) {
    if (tok.startsWith('\u0000')) {
      const lit = tok.slice(1);
      if (!value.startsWith(lit, i)) return null;
      i += lit.length;
      continue;
    }
    let v: number | null = 0;
    switch (tok) {
      case '2006':
        v = num(4, 4);
        year = v ?? 0;
        break;
      case '06':
        v = num(2, 2);
        year = v === null ? 0 : v >= 69 ? 1900 + v : 2000 + v;
        break;
      case '01':
      case '1':
        v = num(tok.length, 2);
        month = v ?? 0;
        break;
      case 'January':
      case 'Jan': {
        const idx = MONTHS.findIndex((m) => value.startsWith(tok === 'Jan' ? m.slice(0, 3) : m, i));
        if (idx < 0) return null;
        i += tok === 'Jan' ? 3 : MONTHS[idx]!.length;
        month = idx + 1;
        break;
      }
      case 'Monday':
      case 'Mon': {
        const idx = DAYS.findIndex((d) => value.startsWith(tok === 'Mon' ? d.slice(0, 3) : d, i));
        if (idx < 0) return null;
        i += tok === 'Mon' ? 3 : DAYS[idx]!.length;
        break;
      }
      case '02':
      case '2':
      case '_2':
        if (tok === '_2' && value[i] === ' ') i++;
        v = num(tok === '02' ? 2 : 1, 2);
        day = v ?? 0;
        break;
      case '15':
        v = num(2, 2);
        hour = v ?? 0;
        break;
      case '03':
      case '3':
        v = num(tok.length, 2);
        hour = v ?? 0;
        break;
      case '04':
      case '4':
        v = num(tok.length, 2);
        min = v ?? 0;
        break;
      case '05':
      case '5': {
        v = num(tok.length, 2);
        sec = v ?? 0;
        // Go accepts a fraction after seconds even when the layout has none
        const m = /^\.(\d+)/.exec(value.slice(i));
        if (m && !layout.includes('.0') && !layout.includes('.9')) {
          nanos = Number(m[1]!.padEnd(9, '0').slice(0, 9));
          i += m[0].length;
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const s = value.slice(i, i + 2).toUpperCase();
        if (s !== 'AM' && s !== 'PM') return null;
        pm = s === 'PM';
        i += 2;
        break;
      }
      case 'MST': {
        const m = /^[A-Z]{3,5}/.exec(value.slice(i));
        if (!m) return null;
        i += m[0].length;
        if (m[0] === 'UTC' || m[0] === 'GMT') offset = 0;
        break;
      }
      default:
        if (tok.startsWith('.')) {
          const m = /^\.(\d+)/.exec(value.slice(i));
          if (!m) {
            if (tok.startsWith('.9')) break;
            return null;
          }
          nanos = Number(m[1]!.padEnd(9, '0').slice(0, 9));
          i += m[0].length;
        } else {
          if (tok.startsWith('Z') && value[i] === 'Z') {
            offset = 0;
            i++;
            break;
          }
          const m = /^([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?/.exec(value.slice(i));
          if (!m) return null;
          offset = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
          i += m[0].length;
        }
    }
    if (v === null) return null;
  }
  if (i !== value.length) return null;
  if (pm !== null) {
    if (hour > 12) return null;
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) return null;
  let ms: number;
  if (offset === null) {
    const d = new Date(0);
    d.setFullYear(year, month - 1, day);
    d.setHours(hour, min, sec, 0);
    ms = d.getTime();
  } else {
    ms = Date.UTC(year, month - 1, day, hour, min, sec) - offset * 60000;
    if (year < 100) {
      const d = new Date(ms);
      d.setUTCFullYear(year);
      ms = d.getTime();
    }
  }
  return new GoTime(ms + Math.floor(nanos / 1e6), nanos % 1e6, offset === 0);
}

/** Go's zero time.Time (what sprig's toDate returns on a parse error). */
export const ZERO_TIME = new GoTime(-62135596800000, 0, true);
