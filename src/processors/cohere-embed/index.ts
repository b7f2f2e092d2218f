/**
 * `cohere.embed`: embeds the text of a field with a Cohere embed model (API
 * v2), and stores the embedding, as zstd-compressed JSON, in another field.
 * The texts of a batch go `maxTextsPerRequest` per request.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, Processor, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { configError, DATA_TARGETS, fieldFailure, fieldParam } from '../util.js';
import { ApiError, type ApiClient, Stopper } from '../ai-common/client.js';
import { baseUrl, cohereClient, cohereParams } from '../ai-common/params.js';
import { chunks, fieldText, float64Json, numberList } from '../ai-common/text.js';
import { zstdStored } from '../ai-common/zstd.js';

const NAME = 'cohere.embed';
/** The metadata key that names the model, as Conduit sets it. */
export const EMBED_MODEL_METADATA = 'cohere.embed.model';

export const cohereEmbedPlugin: ProcessorPlugin = {
  name: NAME,
  summary: "Conduit processor for Cohere's embed model.",
  description:
    'The Cohere embed processor extracts text from the configured inputField, generates embeddings using ' +
    "Cohere's embedding model, and stores the result in the configured outputField. The embeddings are " +
    'compressed using the zstd algorithm for efficient storage and transmission.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    model: { type: 'string', default: 'embed-english-v2.0', description: 'Model is one of the Cohere embed models.' },
    inputType: {
      type: 'string',
      description:
        'Specifies the type of input passed to the model. Required for embed models v3 and higher. ' +
        'Allowed values: search_document, search_query, classification, clustering, image.',
    },
    inputField: {
      type: 'string',
      default: '.Payload.After',
      description: 'Specifies the field from which the request body should be created.',
    },
    outputField: {
      type: 'string',
      default: '.Payload.After',
      description: 'OutputField specifies which field will the response body be saved at.',
    },
    maxTextsPerRequest: {
      type: 'int',
      default: '96',
      greaterThan: 0,
      description: 'MaxTextsPerRequest controls the number of texts sent in each Cohere embedding API call (max 96)',
    },
    ...cohereParams('1m'),
  },
  create: () => new EmbedProcessor(),
};

class EmbedProcessor implements Processor {
  private ctx: ProcessorContext | undefined;
  private inputRef: FieldRef | undefined;
  private outputRef: FieldRef | undefined;
  private client: ApiClient | undefined;
  private url = '';
  private model = '';
  private inputType = '';
  private perRequest = 96;
  private readonly stopper = new Stopper();

  configure(config: Config, ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.stopper.follow(ctx);
    this.model = config.string('model');
    this.inputType = config.string('inputType');
    // Conduit's rule: models other than v2 need an input type.
    if (!this.model.includes('v2') && this.inputType === '') {
      throw configError(
        ctx,
        'inputType',
        `inputType is required for model ${JSON.stringify(this.model)} (v3 or higher)`,
        'set inputType to search_document, search_query, classification, clustering or image',
      );
    }
    this.inputRef = fieldParam(ctx, 'inputField', config.string('inputField'));
    this.outputRef = fieldParam(ctx, 'outputField', config.string('outputField'), {
      targets: [...DATA_TARGETS, 'dataField'],
      why: 'the embedding is bytes, so it goes into .Key, a payload or a field inside them',
    });
    this.perRequest = config.int('maxTextsPerRequest');
    this.url = `${baseUrl(ctx, 'baseURL', config.string('baseURL'))}/v2/embed`;
    this.client = cohereClient(config, ctx, this.stopper);
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const { ctx, inputRef, outputRef } = this;
    if (ctx === undefined || inputRef === undefined || outputRef === undefined) {
      throw new Error(`${NAME}: process called before configure`);
    }
    const out: ProcessedRecord[] = new Array<ProcessedRecord>(records.length);
    const todo: Array<{ index: number; text: string }> = [];
    records.forEach((r, index) => {
      try {
        todo.push({ index, text: fieldText(inputRef.get(r)) });
      } catch (e) {
        out[index] = fieldFailure(ctx, NAME, inputRef.text, e);
      }
    });
    for (const part of chunks(todo, this.perRequest)) {
      let vectors: number[][];
      try {
        vectors = await this.embed(part.map((t) => t.text));
      } catch (e) {
        for (const t of part) out[t.index] = fieldFailure(ctx, NAME, inputRef.text, e);
        continue;
      }
      part.forEach((t, i) => {
        const r = records[t.index] as OpenCDCRecord;
        try {
          r.metadata[EMBED_MODEL_METADATA] = this.model;
          outputRef.set(r, zstdStored(Buffer.from(float64Json(vectors[i] ?? []), 'utf8')));
          out[t.index] = r;
        } catch (e) {
          out[t.index] = fieldFailure(ctx, NAME, outputRef.text, e);
        }
      });
    }
    return out;
  }

  async teardown(): Promise<void> {
    this.stopper.stop();
  }

  private async embed(texts: string[]): Promise<number[][]> {
    const body = await (this.client as ApiClient).postJson(this.url, {
      model: this.model,
      texts,
      embedding_types: ['float'],
      ...(this.inputType === '' ? {} : { input_type: this.inputType }),
    });
    const floats = (body as { embeddings?: { float?: unknown } } | null)?.embeddings?.float;
    const vectors = Array.isArray(floats) ? floats.map(numberList) : [];
    if (vectors.length !== texts.length || vectors.some((v) => v === undefined)) {
      throw new ApiError(
        `POST ${this.url}: the response holds ${vectors.length} float embeddings for ${texts.length} texts`,
        false,
      );
    }
    return vectors as number[][];
  }
}
