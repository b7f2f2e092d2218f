import { Code, codeInfo, exitCodeFor, type ExitCode } from './codes.js';

const TAG = Symbol.for('conduit-ts.ConduitError');

/** Where in a user's input the problem is. */
export interface ErrorPlace {
  /** JSON pointer into the document, e.g. `/pipelines/0/connectors/1/plugin`. */
  configPath?: string;
  /** The file the problem is in. */
  file?: string;
  line?: number;
  column?: number;
}

export interface ConduitErrorOptions extends ErrorPlace {
  suggestion?: string;
  cause?: unknown;
  /** Overrides the retryability the code registers (a connector may know better). */
  retryable?: boolean;
}

/**
 * An error a user sees: a stable code, the place in their input, and what to do.
 * `instanceof` works across duplicate copies of this module (the class is tagged
 * with a registered symbol).
 */
export class ConduitError extends Error {
  readonly code: string;
  readonly configPath: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly suggestion: string | undefined;
  readonly retryable: boolean;

  constructor(code: string, message: string, opts: ConduitErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ConduitError';
    this.code = code;
    this.configPath = opts.configPath;
    this.file = opts.file;
    this.line = opts.line;
    this.column = opts.column;
    this.suggestion = opts.suggestion;
    this.retryable = opts.retryable ?? codeInfo(code).retryable;
    Object.defineProperty(this, TAG, { value: true });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    // Subclasses inherit this method: for them, fall back to the prototype chain.
    if (this !== ConduitError) return Function.prototype[Symbol.hasInstance].call(this, v);
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TAG] === true;
  }

  get exitCode(): ExitCode {
    return exitCodeFor(this.code);
  }

  /** The stable JSON form used by `--json` and the HTTP API. */
  toJSON(): ErrorJSON {
    const out: ErrorJSON = { code: this.code, message: this.message };
    if (this.configPath !== undefined) out.configPath = this.configPath;
    if (this.file !== undefined) out.file = this.file;
    if (this.line !== undefined) out.line = this.line;
    if (this.column !== undefined) out.column = this.column;
    if (this.suggestion !== undefined) out.suggestion = this.suggestion;
    return out;
  }

  /** One line for a human: `file:line:col: code: message (at path). suggestion` */
  format(): string {
    let where = '';
    if (this.file !== undefined) {
      where = this.file;
      if (this.line !== undefined) where += `:${this.line}`;
      if (this.column !== undefined) where += `:${this.column}`;
      where += ': ';
    }
    let s = `${where}${this.code}: ${this.message}`;
    if (this.configPath !== undefined && this.configPath !== '') s += ` (at ${this.configPath})`;
    if (this.suggestion !== undefined) s += `\n  suggestion: ${this.suggestion}`;
    return s;
  }
}

export interface ErrorJSON {
  code: string;
  message: string;
  configPath?: string;
  file?: string;
  line?: number;
  column?: number;
  suggestion?: string;
}

/** Several problems found together (validation collects every one). */
export class ValidationErrors extends ConduitError {
  readonly errors: readonly ConduitError[];
  constructor(errors: readonly ConduitError[]) {
    const first = errors[0];
    super(
      first?.code ?? Code.ConfigFieldInvalid,
      errors.length === 1 && first ? first.message : `${errors.length} problems found`,
      first ?? {},
    );
    this.name = 'ValidationErrors';
    this.errors = errors;
  }
}

/** Wraps anything thrown into a ConduitError, keeping one that already is. */
export function toConduitError(err: unknown, code: string = Code.Internal): ConduitError {
  if (err instanceof ConduitError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ConduitError(code, message, { cause: err });
}

/** True when the recovery loop may restart a pipeline that failed with this error. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ConduitError) return err.retryable;
  return true; // an unknown failure (a socket reset, say) is worth another try
}

/** Marks an error as one recovery must not retry. */
export function fatal(code: string, message: string, opts: ConduitErrorOptions = {}): ConduitError {
  return new ConduitError(code, message, { ...opts, retryable: false });
}
