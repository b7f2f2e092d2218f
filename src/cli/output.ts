/**
 * What a command prints. Human output by default; with --json one stable
 * envelope `{command, ok, summary, result, error}` on stdout.
 */
import { ConduitError, toConduitError, type ErrorJSON, type ValidationErrors } from '../errors/conduit-error.js';
import { ExitCode, exitCodeFor } from '../errors/codes.js';
import { redactText } from '../log/redact.js';

export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

export interface Envelope {
  readonly command: string;
  readonly ok: boolean;
  readonly summary: string;
  readonly result?: unknown;
  readonly error?: ErrorJSON & { errors?: ErrorJSON[] };
}

export class Output {
  constructor(readonly opts: OutputOptions) {}

  get json(): boolean {
    return this.opts.json;
  }

  /** A line for a human (nothing with --json or --quiet). */
  info(line: string): void {
    if (!this.opts.json && !this.opts.quiet) this.opts.stdout(`${redactText(line)}\n`);
  }

  /** The command's result. */
  success(command: string, summary: string, result?: unknown, human?: string): number {
    if (this.opts.json) this.envelope({ command, ok: true, summary, result });
    else if (!this.opts.quiet) this.opts.stdout(`${redactText(human ?? summary)}\n`);
    return ExitCode.Ok;
  }

  /** A failure: every problem listed, the exit code of the worst. */
  failure(command: string, err: unknown, result?: unknown): number {
    const e = toConduitError(err);
    const many = isValidationErrors(e);
    const list = many ? e.errors : [e];
    if (this.opts.json) {
      const error: Envelope['error'] = { ...e.toJSON() };
      if (list.length > 1 || many) error.errors = list.map((x) => x.toJSON());
      this.envelope({ command, ok: false, summary: summaryOf(list), result, error });
    } else {
      for (const x of list) this.opts.stderr(`${redactText(x.format())}\n`);
      if (list.length > 1) this.opts.stderr(`${summaryOf(list)}\n`);
    }
    return worstExit(list);
  }

  private envelope(env: Envelope): void {
    this.opts.stdout(`${redactText(JSON.stringify(env))}\n`);
  }
}

/**
 * Is this a list of problems? Not \`instanceof ValidationErrors\`: ConduitError's
 * static Symbol.hasInstance is inherited, so that test is true for every ConduitError.
 */
function isValidationErrors(e: ConduitError): e is ValidationErrors {
  return Array.isArray((e as Partial<ValidationErrors>).errors);
}

function summaryOf(list: readonly ConduitError[]): string {
  return list.length === 1 ? (list[0]?.message ?? 'failed') : `${list.length} problems found`;
}

/** Input problems win over environment problems, which win over internal ones (2 > 3 > 1 in precedence). */
export function worstExit(list: readonly ConduitError[]): number {
  const codes = list.map((e) => exitCodeFor(e.code));
  if (codes.includes(ExitCode.InvalidInput)) return ExitCode.InvalidInput;
  if (codes.includes(ExitCode.Environment)) return ExitCode.Environment;
  return codes.length === 0 ? ExitCode.Ok : ExitCode.Internal;
}
