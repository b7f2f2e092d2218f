/**
 * `ollama`: asks a model on an Ollama server (`POST /api/generate`, JSON
 * output) to transform the structured data in a field, and replaces the field
 * with the JSON object the model answers. One request per record.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import { encodeValue } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, Processor, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { asBuffer, fieldFailure, fieldParam, kindOf } from '../util.js';
import { ApiClient, ApiError, Stopper } from '../ai-common/client.js';
import { baseUrl } from '../ai-common/params.js';
import { isStructured } from '../ai-common/text.js';

const NAME = 'ollama';

/** What Conduit appends to every prompt. */
export const OLLAMA_SUFFIX =
  'For the prompt, return a valid json following the instructions provided. Only send back records in the json ' +
  'format with no explanation.';

/** Conduit's checks on the prompt it builds: its length in bytes, and patterns it refuses. */
const PROMPT_MIN_BYTES = 3;
const PROMPT_MAX_BYTES = 4096;
const BLOCKED_PATTERNS = ['rm -rf', 'DROP TABLE', '<script>', 'javascript:', 'data:text/html'];

export const ollamaPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Processes data through an ollama instance',
  description:
    'This processor transforms data by asking the provided model on the provided ollama instance. The structured ' +
    'data in `field` is sent with the prompt, and the JSON object the model answers replaces it.',
  version: 'v0.0.1',
  author: 'Conduit for TypeScript',
  params: {
    url: { type: 'string', required: true, description: 'OllamaURL is the url to the ollama instance' },
    model: {
      type: 'string',
      default: 'llama3.2',
      inclusion: ['llama3.2'],
      description: 'Model is the name of the model used with ollama',
    },
    prompt: {
      type: 'string',
      default: '',
      description: 'Prompt is the prompt to pass into ollama to tranform the data',
    },
    field: {
      type: 'string',
      default: '.Payload.After',
      regex: '^.Payload',
      description:
        'Field is the reference to the field to process. Defaults to ".Payload.After". For more information about ' +
        'the format, see Referencing fields.',
    },
    'request.timeout': {
      type: 'duration',
      default: '5m',
      greaterThan: -1,
      description:
        'How long one request (sending it and reading the answer) may take before the record fails; 0 waits ' +
        'forever. Not a Conduit parameter: Conduit waits forever.',
    },
  },
  create: () => new OllamaProcessor(),
};

class OllamaProcessor implements Processor {
  private ctx: ProcessorContext | undefined;
  private ref: FieldRef | undefined;
  private client: ApiClient | undefined;
  private url = '';
  private model = '';
  private prompt = '';
  private readonly stopper = new Stopper();

  configure(config: Config, ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.stopper.follow(ctx);
    this.ref = fieldParam(ctx, 'field', config.string('field'), {
      targets: ['payloadBefore', 'payloadAfter', 'dataField'],
      why: 'the answer is structured data, so the field must be .Payload.Before, .Payload.After or a field inside them',
    });
    this.url = `${baseUrl(ctx, 'url', config.string('url'))}/api/generate`;
    this.model = config.string('model');
    this.prompt = config.string('prompt');
    this.client = new ApiClient(
      {
        headers: {},
        timeoutMs: config.duration('request.timeout'),
        timeoutParam: 'request.timeout',
        // Conduit does not retry Ollama requests.
        retry: { retries: 0, delayMs: () => 0 },
        secrets: [],
        logger: ctx.logger,
        errorText: (body) => {
          const e = (body as { error?: unknown } | null)?.error;
          return typeof e === 'string' ? e : undefined;
        },
      },
      this.stopper.signal,
    );
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const { ctx, ref } = this;
    if (ctx === undefined || ref === undefined) throw new Error(`${NAME}: process called before configure`);
    const out: ProcessedRecord[] = [];
    for (const r of records) {
      try {
        const prompt = buildPrompt(this.prompt, structuredInput(ref.get(r)));
        ref.set(r, await this.generate(prompt));
        out.push(r);
      } catch (e) {
        out.push(fieldFailure(ctx, NAME, ref.text, e));
      }
    }
    return out;
  }

  async teardown(): Promise<void> {
    this.stopper.stop();
  }

  private async generate(prompt: string): Promise<Record<string, unknown>> {
    const body = await (this.client as ApiClient).postJson(this.url, {
      model: this.model,
      prompt,
      format: 'json',
      stream: false,
    });
    const { response, done } = (body ?? {}) as { response?: unknown; done?: unknown };
    if (done !== true)
      throw new ApiError(`POST ${this.url}: error response from ollama: the answer is not done`, false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof response === 'string' ? response : '');
    } catch (e) {
      throw new ApiError(`invalid JSON in response: ${(e as Error).message}`, false);
    }
    if (!isStructured(parsed)) {
      throw new ApiError(`invalid JSON in response: the model answered ${kindOf(parsed)}, not a JSON object`, false);
    }
    return parsed;
  }
}

/** The field as structured data: raw data and strings are parsed as JSON (empty raw data is an empty object). */
function structuredInput(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) throw new Error('field to unmarshal is nil');
  if (isStructured(v)) return v;
  let text: string;
  let what: string;
  if (v instanceof Uint8Array) {
    if (v.length === 0) return {};
    text = asBuffer(v).toString('utf8');
    what = 'raw data';
  } else if (typeof v === 'string') {
    text = v;
    what = 'string';
  } else {
    throw new Error(`unexpected data type: the field holds ${kindOf(v)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`failed unmarshalling JSON from ${what}: ${(e as Error).message}`);
  }
  if (!isStructured(parsed)) throw new Error(`failed unmarshalling JSON from ${what}: it is not a JSON object`);
  return parsed;
}

/** Conduit's prompt around the record, checked as Conduit checks it. */
export function buildPrompt(userPrompt: string, record: Record<string, unknown>): string {
  const prompt = `Instructions: {${userPrompt}}\n Record: {${encodeValue(record)}} \n Suffix {${OLLAMA_SUFFIX}}`;
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes < PROMPT_MIN_BYTES) {
    throw new Error(`prompt validation failed: prompt is too short, must be ${PROMPT_MIN_BYTES} characters`);
  }
  if (bytes > PROMPT_MAX_BYTES) {
    throw new Error(
      `prompt validation failed: prompt exceeds context window allowance, must be ${PROMPT_MAX_BYTES} characters`,
    );
  }
  const lower = prompt.toLowerCase();
  for (const p of BLOCKED_PATTERNS) {
    if (lower.includes(p.toLowerCase()))
      throw new Error(`prompt validation failed: potentially malicious pattern: ${p}`);
  }
  return prompt;
}
