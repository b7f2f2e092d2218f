/**
 * `openai.embeddings`: replaces the text in a field with its embedding from
 * OpenAI's embeddings API, as a JSON array of numbers. The texts of a batch go
 * in one request (up to 2048, the API's limit, per request).
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, Processor, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { DATA_TARGETS, fieldFailure, fieldParam } from '../util.js';
import { ApiError, type ApiClient, Stopper } from '../ai-common/client.js';
import { baseUrl, openAiClient, openAiParams } from '../ai-common/params.js';
import { chunks, fieldText, float32Json, numberList, setText } from '../ai-common/text.js';

const NAME = 'openai.embeddings';
/** OpenAI takes at most 2048 inputs in one embeddings request. */
export const MAX_INPUTS_PER_REQUEST = 2048;

export const openaiEmbeddingsPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Generate embeddings for records using OpenAI models.',
  description:
    "Generates a vector embedding of the text in `field` with OpenAI's embeddings API and stores it in the same " +
    'field as a JSON array of numbers (raw data in `.Key` and the payloads, a string elsewhere). Raw data is sent ' +
    'as its text, structured data as its JSON. The texts of a batch are sent in one request.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      default: '.Payload.After',
      description: 'Field is the reference to the field to process. Defaults to ".Payload.After".',
    },
    model: {
      type: 'string',
      required: true,
      description: 'Model is the OpenAI embeddings model to use (e.g., text-embedding-3-small).',
    },
    dimensions: {
      type: 'int',
      greaterThan: -1,
      description: 'Dimensions is the number of dimensions the resulting output embeddings should have.',
    },
    encoding_format: {
      type: 'string',
      inclusion: ['float', 'base64'],
      description:
        'EncodingFormat is the format to return the embeddings in. Can be "float" or "base64". Either way the ' +
        'record gets a JSON array of numbers.',
    },
    user: { type: 'string', description: 'User is the user identifier for OpenAI API.' },
    ...openAiParams('1m'),
  },
  create: () => new EmbeddingsProcessor(),
};

class EmbeddingsProcessor implements Processor {
  private ctx: ProcessorContext | undefined;
  private ref: FieldRef | undefined;
  private client: ApiClient | undefined;
  private url = '';
  private request: Record<string, unknown> = {};
  private readonly stopper = new Stopper();

  configure(config: Config, ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.stopper.follow(ctx);
    this.ref = fieldParam(ctx, 'field', config.string('field'), {
      targets: [...DATA_TARGETS, 'dataField', 'metadataField'],
      why: 'the embedding replaces the text, so the field must be .Key, a payload, a field inside them or a metadata field',
    });
    this.url = `${baseUrl(ctx, 'base_url', config.string('base_url'))}/embeddings`;
    // Unset knobs are left out of the request, as Conduit's client leaves out zero values.
    this.request = {
      model: config.string('model'),
      ...(config.int('dimensions') > 0 ? { dimensions: config.int('dimensions') } : {}),
      ...(config.has('encoding_format') ? { encoding_format: config.string('encoding_format') } : {}),
      ...(config.has('user') ? { user: config.string('user') } : {}),
    };
    this.client = openAiClient(config, ctx, this.stopper);
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const { ctx, ref } = this;
    if (ctx === undefined || ref === undefined) throw new Error(`${NAME}: process called before configure`);
    const out: ProcessedRecord[] = new Array<ProcessedRecord>(records.length);
    const todo: Array<{ index: number; text: string }> = [];
    records.forEach((r, index) => {
      try {
        const text = fieldText(ref.get(r));
        if (text === '') throw new Error('the field is empty, and OpenAI cannot embed an empty text');
        todo.push({ index, text });
      } catch (e) {
        out[index] = fieldFailure(ctx, NAME, ref.text, e);
      }
    });
    for (const part of chunks(todo, MAX_INPUTS_PER_REQUEST)) {
      let vectors: Array<ArrayLike<number>>;
      try {
        vectors = await this.embed(part.map((t) => t.text));
      } catch (e) {
        for (const t of part) out[t.index] = fieldFailure(ctx, NAME, ref.text, e);
        continue;
      }
      part.forEach((t, i) => {
        const r = records[t.index] as OpenCDCRecord;
        try {
          setText(ref, r, float32Json(vectors[i] ?? []));
          out[t.index] = r;
        } catch (e) {
          out[t.index] = fieldFailure(ctx, NAME, ref.text, e);
        }
      });
    }
    return out;
  }

  async teardown(): Promise<void> {
    this.stopper.stop();
  }

  /** One request for the texts; the vectors in the same order. */
  private async embed(texts: string[]): Promise<Array<ArrayLike<number>>> {
    const client = this.client as ApiClient;
    const body = await client.postJson(this.url, { ...this.request, input: texts });
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== texts.length) {
      throw new ApiError(
        `POST ${this.url}: the response holds ${Array.isArray(data) ? data.length : 'no'} embeddings for ${texts.length} inputs`,
        false,
      );
    }
    const vectors = new Array<ArrayLike<number>>(texts.length);
    data.forEach((d: { index?: unknown; embedding?: unknown }, i) => {
      const index = typeof d?.index === 'number' ? d.index : i;
      const v = typeof d?.embedding === 'string' ? decodeBase64Floats(d.embedding) : numberList(d?.embedding);
      if (v === undefined || index < 0 || index >= texts.length) {
        throw new ApiError(`POST ${this.url}: embedding ${i} of the response is malformed`, false);
      }
      vectors[index] = v;
    });
    return vectors;
  }
}

/** `encoding_format: base64`: little-endian float32 values. */
function decodeBase64Floats(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(Math.floor(bytes.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
