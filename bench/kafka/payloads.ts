/**
 * Sample message values for Kafka's ProducerPerformance (its --payload-file):
 * generator records with the metadata the engine stamps, formatted by the
 * same opencdc/json formatter the kafka destination uses, one per line. The
 * baseline then sends values of the engine's size and compressibility.
 */
import { writeFileSync } from 'node:fs';
import { generatorPlugin } from '../../src/connectors/generator/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { MetadataKey, OPENCDC_VERSION, nowNanos } from '../../src/opencdc/metadata.js';
import { createFormatter } from '../../src/sdk/formats.js';
import { Config, validateSettings } from '../../src/sdk/params.js';
import { sourceSpecs } from '../../src/sdk/sdk-params.js';

export interface PayloadSample {
  /** Mean bytes of a value (the formatted record) and of a key (the generator's word). */
  valueBytes: number;
  keyBytes: number;
}

/** Writes `count` formatted generator records, one per line, to `file`. */
export async function writePayloadFile(
  generatorSettings: Record<string, string>,
  connectorId: string,
  count: number,
  file: string,
): Promise<PayloadSample> {
  const plugin = generatorPlugin.source;
  if (plugin === undefined) throw new Error('no generator source');
  const specs = sourceSpecs(plugin.params);
  const { settings } = validateSettings(specs, generatorSettings);
  const source = plugin.create();
  await source.configure(new Config(specs, settings), {
    connectorId,
    pipelineId: 'bench',
    logger: silentLogger,
  });
  await source.open(null);
  const format = createFormatter('opencdc/json', '');
  const lines: string[] = [];
  let keyBytes = 0;
  let valueBytes = 0;
  try {
    while (lines.length < count) {
      const records = await source.read(count - lines.length, new AbortController().signal);
      const readAt = nowNanos();
      for (const r of records) {
        const md = r.metadata;
        md[MetadataKey.ReadAt] = readAt;
        md[MetadataKey.SourceConnectorId] = connectorId;
        md[MetadataKey.Version] = OPENCDC_VERSION;
        md[MetadataKey.SourcePluginName] = generatorPlugin.name;
        md[MetadataKey.SourcePluginVersion] = generatorPlugin.version;
        const v = format(r);
        const text = typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
        if (text.includes('\n')) throw new Error('a formatted record holds a newline');
        lines.push(text);
        valueBytes += Buffer.byteLength(text);
        keyBytes += r.key instanceof Uint8Array ? r.key.byteLength : 0;
      }
    }
  } finally {
    await source.teardown();
  }
  writeFileSync(file, lines.join('\n'));
  return { valueBytes: Math.round(valueBytes / count), keyBytes: Math.round(keyBytes / count) };
}
