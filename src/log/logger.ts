/**
 * A small structured logger. Two formats: `cli` (human) and `json` (one object
 * per line). Every line passes through the secret redactor, so a secret value
 * that reaches a message (a password inside a URL, say) is printed as `***`.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { redactText } from './redact.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
const RANK: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export type LogFormat = 'cli' | 'json';
export type Fields = Record<string, unknown>;

export interface Logger {
  trace(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  log(level: Level, msg: string, fields?: Fields): void;
  enabled(level: Level): boolean;
  /** A logger that adds these fields to every line. */
  with(fields: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  format?: LogFormat;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const format = opts.format ?? 'cli';
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  return new BaseLogger(min, format, write, {});
}

class BaseLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly format: LogFormat,
    private readonly write: (line: string) => void,
    private readonly base: Fields,
  ) {}

  enabled(level: Level): boolean {
    return RANK[level] >= this.min;
  }
  with(fields: Fields): Logger {
    return new BaseLogger(this.min, this.format, this.write, { ...this.base, ...fields });
  }
  trace(msg: string, fields?: Fields): void {
    this.log('trace', msg, fields);
  }
  debug(msg: string, fields?: Fields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.log('error', msg, fields);
  }
  log(level: Level, msg: string, fields?: Fields): void {
    if (RANK[level] < this.min) return;
    let all = fields === undefined ? this.base : { ...this.base, ...fields };
    // An error with a stable code (a ConduitError) puts the code on the line as its own field.
    if (all['code'] === undefined) {
      const code = errorCode(all);
      if (code !== undefined) all = { ...all, code };
    }
    const line = this.format === 'json' ? jsonLine(level, msg, all) : cliLine(level, msg, all);
    this.write(redactText(line));
  }
}

/** The stable code of the first ConduitError among the fields (not a Node errno code such as ECONNREFUSED). */
function errorCode(fields: Fields): string | undefined {
  for (const v of Object.values(fields)) if (v instanceof ConduitError) return v.code;
  return undefined;
}

function plain(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${v.message}` : v.message;
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function jsonLine(level: Level, msg: string, fields: Fields): string {
  const o: Record<string, unknown> = { level, time: new Date().toISOString(), message: msg };
  for (const [k, v] of Object.entries(fields)) o[k] = plain(v);
  return `${JSON.stringify(o)}\n`;
}

function cliLine(level: Level, msg: string, fields: Fields): string {
  const t = new Date().toISOString().slice(11, 23);
  let s = `${t} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [k, v] of Object.entries(fields)) {
    const p = plain(v);
    s += ` ${k}=${typeof p === 'string' ? (/[\s"=]/.test(p) ? JSON.stringify(p) : p) : JSON.stringify(p)}`;
  }
  return `${s}\n`;
}

/** A logger that drops everything (tests, embedded use). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => undefined });
