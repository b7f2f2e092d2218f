/**
 * `cohere.rerank`: scores the text of each record of a batch against a query
 * with a Cohere rerank model (API v2); each record gets its result (document,
 * index in the batch, relevance score) as JSON. One request per batch (up to
 * 1000 documents, the API's limit, per request).
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import { encodeValue, GoStruct } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, Processor, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { DATA_TARGETS, fieldFailure, fieldParam } from '../util.js';
import { ApiError, type ApiClient, Stopper } from '../ai-common/client.js';
import { baseUrl, cohereClient, cohereParams } from '../ai-common/params.js';
import { chunks, fieldTextLoose, setText } from '../ai-common/text.js';

const NAME = 'cohere.rerank';
/** Cohere takes at most 1000 documents in one rerank request. */
export const MAX_DOCUMENTS_PER_REQUEST = 1000;

export const cohereRerankPlugin: ProcessorPlugin = {
  name: NAME,
  summary: "Conduit processor for Cohere's rerank model.",
  description:
    "Sends the text of `request.body` of every record of a batch, with `query`, to Cohere's rerank API (v2), and " +
    'stores each record\'s result, `{"document":{"text":…},"index":…,"relevance_score":…}`, in `response.body`.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    model: {
      type: 'string',
      default: 'rerank-v3.5',
      description: 'Model is one of the name of a compatible rerank model version.',
    },
    query: { type: 'string', required: true, description: 'Query is the search query.' },
    'request.body': {
      type: 'string',
      default: '.Payload.After',
      description: 'RequestBodyRef specifies the api request field.',
    },
    'response.body': {
      type: 'string',
      default: '.Payload.After',
      description: 'ResponseBodyRef specifies in which field should the response body be saved.',
    },
    ...cohereParams('1m'),
  },
  create: () => new RerankProcessor(),
};

interface Result {
  readonly index: number;
  readonly score: number;
  readonly text: string | undefined;
}

class RerankProcessor implements Processor {
  private ctx: ProcessorContext | undefined;
  private requestRef: FieldRef | undefined;
  private responseRef: FieldRef | undefined;
  private client: ApiClient | undefined;
  private url = '';
  private model = '';
  private query = '';
  private readonly stopper = new Stopper();

  configure(config: Config, ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.stopper.follow(ctx);
    this.requestRef = fieldParam(ctx, 'request.body', config.string('request.body'));
    this.responseRef = fieldParam(ctx, 'response.body', config.string('response.body'), {
      targets: [...DATA_TARGETS, 'dataField', 'metadataField'],
      why: 'the result is JSON text, so it goes into .Key, a payload, a field inside them or a metadata field',
    });
    this.url = `${baseUrl(ctx, 'baseURL', config.string('baseURL'))}/v2/rerank`;
    this.model = config.string('model');
    this.query = config.string('query');
    this.client = cohereClient(config, ctx, this.stopper);
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const { ctx, requestRef, responseRef } = this;
    if (ctx === undefined || requestRef === undefined || responseRef === undefined) {
      throw new Error(`${NAME}: process called before configure`);
    }
    const out: ProcessedRecord[] = new Array<ProcessedRecord>(records.length);
    const todo: Array<{ index: number; text: string }> = [];
    records.forEach((r, index) => {
      try {
        todo.push({ index, text: fieldTextLoose(requestRef.get(r)) });
      } catch (e) {
        out[index] = fieldFailure(ctx, NAME, requestRef.text, e);
      }
    });
    for (const part of chunks(todo, MAX_DOCUMENTS_PER_REQUEST)) {
      let results: Result[];
      try {
        results = await this.rerank(part.map((t) => t.text));
      } catch (e) {
        for (const t of part) out[t.index] = fieldFailure(ctx, NAME, requestRef.text, e);
        continue;
      }
      part.forEach((t, i) => {
        const r = records[t.index] as OpenCDCRecord;
        const res = results[i] as Result;
        // The JSON of Conduit's result struct: fields in this order, the index the record's place in the batch.
        const json = encodeValue(
          new GoStruct([
            ['document', new GoStruct([['text', res.text ?? t.text]])],
            ['index', t.index],
            ['relevance_score', res.score],
          ]),
        );
        try {
          setText(responseRef, r, json);
          out[t.index] = r;
        } catch (e) {
          out[t.index] = fieldFailure(ctx, NAME, responseRef.text, e);
        }
      });
    }
    return out;
  }

  async teardown(): Promise<void> {
    this.stopper.stop();
  }

  /** The results in the documents' order. */
  private async rerank(documents: string[]): Promise<Result[]> {
    const body = await (this.client as ApiClient).postJson(this.url, {
      model: this.model,
      query: this.query,
      documents,
      return_documents: true,
    });
    const results = (body as { results?: unknown } | null)?.results;
    if (!Array.isArray(results) || results.length !== documents.length) {
      throw new ApiError(
        `POST ${this.url}: invalid rerank response: ${Array.isArray(results) ? results.length : 'no'} results for ` +
          `${documents.length} documents`,
        false,
      );
    }
    const byIndex = new Array<Result>(documents.length);
    for (const x of results as Array<{ index?: unknown; relevance_score?: unknown; document?: { text?: unknown } }>) {
      const index = x?.index;
      if (
        typeof index !== 'number' ||
        index < 0 ||
        index >= documents.length ||
        typeof x.relevance_score !== 'number'
      ) {
        throw new ApiError(`POST ${this.url}: invalid rerank response: a result lacks its index or score`, false);
      }
      const text = x.document?.text;
      byIndex[index] = { index, score: x.relevance_score, text: typeof text === 'string' ? text : undefined };
    }
    for (let i = 0; i < byIndex.length; i++) {
      if (byIndex[i] === undefined) {
        throw new ApiError(`POST ${this.url}: invalid rerank response: document ${i} has no result`, false);
      }
    }
    return byIndex;
  }
}
