/** The built-in processor plugins, for the plugin registry. */
import type { ProcessorPlugin } from '../sdk/processor.js';
import { avroDecodePlugin } from './avro-decode/index.js';
import { avroEncodePlugin } from './avro-encode/index.js';
import { base64DecodePlugin } from './base64-decode/index.js';
import { base64EncodePlugin } from './base64-encode/index.js';
import { clonePlugin } from './clone/index.js';
import { cohereCommandPlugin } from './cohere-command/index.js';
import { cohereEmbedPlugin } from './cohere-embed/index.js';
import { cohereRerankPlugin } from './cohere-rerank/index.js';
import { customJavascriptPlugin } from './custom-javascript/index.js';
import { errorPlugin } from './error/index.js';
import { fieldConvertPlugin } from './field-convert/index.js';
import { fieldExcludePlugin } from './field-exclude/index.js';
import { fieldRenamePlugin } from './field-rename/index.js';
import { fieldSetPlugin } from './field-set/index.js';
import { filterPlugin } from './filter/index.js';
import { jsonDecodePlugin } from './json-decode/index.js';
import { jsonEncodePlugin } from './json-encode/index.js';
import { ollamaPlugin } from './ollama/index.js';
import { openaiEmbeddingsPlugin } from './openai-embeddings/index.js';
import { openaiTextgenPlugin } from './openai-textgen/index.js';
import { splitPlugin } from './split/index.js';
import { unwrapDebeziumPlugin } from './unwrap-debezium/index.js';
import { unwrapKafkaconnectPlugin } from './unwrap-kafkaconnect/index.js';
import { unwrapOpencdcPlugin } from './unwrap-opencdc/index.js';
import { webhookHttpPlugin } from './webhook-http/index.js';

/** Every built-in processor, sorted by name. */
export const BUILTIN_PROCESSORS: readonly ProcessorPlugin[] = [
  avroDecodePlugin,
  avroEncodePlugin,
  base64DecodePlugin,
  base64EncodePlugin,
  clonePlugin,
  cohereCommandPlugin,
  cohereEmbedPlugin,
  cohereRerankPlugin,
  customJavascriptPlugin,
  errorPlugin,
  fieldConvertPlugin,
  fieldExcludePlugin,
  fieldRenamePlugin,
  fieldSetPlugin,
  filterPlugin,
  jsonDecodePlugin,
  jsonEncodePlugin,
  ollamaPlugin,
  openaiEmbeddingsPlugin,
  openaiTextgenPlugin,
  splitPlugin,
  unwrapDebeziumPlugin,
  unwrapKafkaconnectPlugin,
  unwrapOpencdcPlugin,
  webhookHttpPlugin,
];
