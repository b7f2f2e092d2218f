/**
 * `cohere.command`: asks a Cohere command model (API v2 chat) to answer the
 * prompt, filled with the text of a field, and stores the answer in a field.
 * One request per record (the chat API takes one conversation per request).
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, Processor, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { DATA_TARGETS, fieldFailure, fieldParam } from '../util.js';
import { ApiError, type ApiClient, Stopper } from '../ai-common/client.js';
import { baseUrl, cohereClient, cohereParams } from '../ai-common/params.js';
import { fieldTextLoose, goSprintf, setText } from '../ai-common/text.js';

const NAME = 'cohere.command';

export const cohereCommandPlugin: ProcessorPlugin = {
  name: NAME,
  summary: "Conduit processor for Cohere's command model.",
  description:
    "Sends the prompt, with the text of `request.body` in place of its `%s`, to Cohere's chat API (v2) and " +
    "stores the model's answer in `response.body` (raw data in `.Key` and the payloads, a string elsewhere).",
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    model: {
      type: 'string',
      default: 'command',
      description: 'Model is one of the name of a compatible command model version.',
    },
    prompt: {
      type: 'string',
      required: true,
      description:
        'Prompt is the preset prompt: a Go format string whose `%s` is replaced by the text of `request.body` ' +
        '(e.g. `Summarize this review: %s`).',
    },
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
    ...cohereParams('5m'),
  },
  create: () => new CommandProcessor(),
};

class CommandProcessor implements Processor {
  private ctx: ProcessorContext | undefined;
  private requestRef: FieldRef | undefined;
  private responseRef: FieldRef | undefined;
  private client: ApiClient | undefined;
  private url = '';
  private model = '';
  private prompt = '';
  private readonly stopper = new Stopper();

  configure(config: Config, ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.stopper.follow(ctx);
    this.requestRef = fieldParam(ctx, 'request.body', config.string('request.body'));
    this.responseRef = fieldParam(ctx, 'response.body', config.string('response.body'), {
      targets: [...DATA_TARGETS, 'dataField', 'metadataField'],
      why: 'the answer is text, so it goes into .Key, a payload, a field inside them or a metadata field',
    });
    this.url = `${baseUrl(ctx, 'baseURL', config.string('baseURL'))}/v2/chat`;
    this.model = config.string('model');
    this.prompt = config.string('prompt');
    this.client = cohereClient(config, ctx, this.stopper);
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const { ctx, requestRef, responseRef } = this;
    if (ctx === undefined || requestRef === undefined || responseRef === undefined) {
      throw new Error(`${NAME}: process called before configure`);
    }
    const out: ProcessedRecord[] = [];
    for (const r of records) {
      let field = requestRef.text;
      try {
        const answer = await this.chat(goSprintf(this.prompt, fieldTextLoose(requestRef.get(r))));
        field = responseRef.text;
        setText(responseRef, r, answer);
        out.push(r);
      } catch (e) {
        out.push(fieldFailure(ctx, NAME, field, e));
      }
    }
    return out;
  }

  async teardown(): Promise<void> {
    this.stopper.stop();
  }

  private async chat(content: string): Promise<string> {
    const body = await (this.client as ApiClient).postJson(this.url, {
      model: this.model,
      messages: [{ role: 'user', content }],
    });
    const parts = (body as { message?: { content?: Array<{ text?: unknown }> } } | null)?.message?.content;
    if (!Array.isArray(parts) || parts.length !== 1 || typeof parts[0]?.text !== 'string') {
      throw new ApiError(`POST ${this.url}: invalid chat content: the answer must hold exactly one text`, false);
    }
    return parts[0].text;
  }
}
