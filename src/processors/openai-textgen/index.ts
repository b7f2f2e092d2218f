/**
 * `openai.textgen`: sends the text in a field to OpenAI's chat completions API
 * with a developer message, and replaces the field with the model's answer.
 * One request per record (the API takes one conversation per request).
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, Processor, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { configError, DATA_TARGETS, fieldFailure, fieldParam } from '../util.js';
import { ApiError, type ApiClient, Stopper } from '../ai-common/client.js';
import { baseUrl, openAiClient, openAiParams } from '../ai-common/params.js';
import { fieldText, setText } from '../ai-common/text.js';

const NAME = 'openai.textgen';

export const openaiTextgenPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Modify records using OpenAI models.',
  description:
    "Sends the text in `field` to OpenAI's chat completions API, after `developer_message`, and replaces the " +
    "field with the model's answer (raw data in `.Key` and the payloads, a string elsewhere). Raw data is sent as " +
    'its text, structured data as its JSON.',
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
      description: 'Model is the OpenAI model to use (e.g., gpt-4o-mini). Required.',
    },
    developer_message: {
      type: 'string',
      required: true,
      description: "DeveloperMessage is the system message that guides the model's behavior. Required.",
    },
    strict_output: {
      type: 'bool',
      default: 'false',
      description:
        'StrictOutput enforces strict output format. Defaults to false. Accepted for compatibility; like Conduit, ' +
        'it changes nothing.',
    },
    max_tokens: { type: 'int', description: 'MaxTokens is the maximum number of tokens to generate.' },
    max_completion_tokens: {
      type: 'int',
      description: 'MaxCompletionTokens is the maximum number of tokens for completion.',
    },
    temperature: { type: 'float', description: 'Temperature controls randomness (0-2, lower is more deterministic).' },
    top_p: { type: 'float', description: 'TopP controls diversity via nucleus sampling.' },
    n: {
      type: 'int',
      description: 'N is the number of completions to generate. The record gets the first one.',
    },
    stream: {
      type: 'bool',
      description: 'Stream is whether to stream the results or not. Not supported: only false is accepted.',
    },
    stop: {
      type: 'string',
      list: true,
      description: 'Stop are sequences where the API will stop generating (a comma-separated list).',
    },
    presence_penalty: { type: 'float', description: 'PresencePenalty penalizes new tokens based on presence in text.' },
    seed: { type: 'int', description: 'Seed is the seed for deterministic results.' },
    frequency_penalty: {
      type: 'float',
      description: 'FrequencyPenalty penalizes new tokens based on frequency in text.',
    },
    'logit_bias.*': {
      type: 'int',
      description: 'LogitBias modifies the likelihood of specified tokens appearing (`logit_bias.<token id>: <bias>`).',
    },
    log_probs: { type: 'bool', description: 'LogProbs is whether to return log probabilities of output tokens.' },
    top_log_probs: {
      type: 'int',
      description: 'TopLogProbs is the number of most likely tokens to return probabilities for.',
    },
    user: { type: 'string', description: 'User is the user identifier for OpenAI API.' },
    store: { type: 'bool', description: 'Store is whether to store the conversation in OpenAI.' },
    reasoning_effort: {
      type: 'string',
      description: 'ReasoningEffort controls the amount of reasoning in the response.',
    },
    'metadata.*': {
      type: 'string',
      description: 'Metadata is additional metadata to include with the request (`metadata.<key>: <value>`).',
    },
    ...openAiParams('5m'),
  },
  create: () => new TextgenProcessor(),
};

class TextgenProcessor implements Processor {
  private ctx: ProcessorContext | undefined;
  private ref: FieldRef | undefined;
  private client: ApiClient | undefined;
  private url = '';
  private model = '';
  private developerMessage = '';
  private options: Record<string, unknown> = {};
  private readonly stopper = new Stopper();

  configure(config: Config, ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.stopper.follow(ctx);
    this.ref = fieldParam(ctx, 'field', config.string('field'), {
      targets: [...DATA_TARGETS, 'dataField', 'metadataField'],
      why: 'the answer replaces the text, so the field must be .Key, a payload, a field inside them or a metadata field',
    });
    if (config.bool('stream')) {
      throw configError(ctx, 'stream', 'streaming is not supported', 'remove stream or set it to false');
    }
    this.url = `${baseUrl(ctx, 'base_url', config.string('base_url'))}/chat/completions`;
    this.model = config.string('model');
    this.developerMessage = config.string('developer_message');
    this.options = requestOptions(config);
    this.client = openAiClient(config, ctx, this.stopper);
  }

  async process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> {
    const { ctx, ref } = this;
    if (ctx === undefined || ref === undefined) throw new Error(`${NAME}: process called before configure`);
    const out: ProcessedRecord[] = [];
    for (const r of records) {
      try {
        const answer = await this.complete(fieldText(ref.get(r)));
        setText(ref, r, answer);
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

  private async complete(text: string): Promise<string> {
    const body = await (this.client as ApiClient).postJson(this.url, {
      model: this.model,
      messages: [
        { role: 'developer', content: this.developerMessage },
        { role: 'user', content: text },
      ],
      ...this.options,
    });
    const content = (body as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]?.message
      ?.content;
    if (typeof content !== 'string') {
      throw new ApiError(`POST ${this.url}: the response holds no choice with a message`, false);
    }
    return content;
  }
}

/** The request's knobs: only those set (Conduit's client leaves zero values out), with OpenAI's names. */
function requestOptions(config: Config): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const ints: Array<[string, string]> = [
    ['max_tokens', 'max_tokens'],
    ['max_completion_tokens', 'max_completion_tokens'],
    ['n', 'n'],
    ['seed', 'seed'],
    ['top_log_probs', 'top_logprobs'],
  ];
  for (const [key, api] of ints) if (config.has(key)) o[api] = config.int(key);
  for (const key of ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty']) {
    if (config.has(key)) o[key] = config.float(key);
  }
  if (config.has('log_probs')) o['logprobs'] = config.bool('log_probs');
  if (config.has('store')) o['store'] = config.bool('store');
  if (config.has('stop')) o['stop'] = config.list('stop');
  for (const key of ['user', 'reasoning_effort']) if (config.has(key)) o[key] = config.string(key);
  const bias: Record<string, number> = {};
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.settings)) {
    if (key.startsWith('logit_bias.')) bias[key.slice('logit_bias.'.length)] = Number.parseInt(value, 10);
    if (key.startsWith('metadata.')) metadata[key.slice('metadata.'.length)] = value;
  }
  if (Object.keys(bias).length > 0) o['logit_bias'] = bias;
  if (Object.keys(metadata).length > 0) o['metadata'] = metadata;
  return o;
}
