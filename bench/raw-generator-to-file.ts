/**
 * The raw baseline for bench/engine.bench.ts: the same generator records, with
 * the same metadata the engine stamps, serialized by the same opencdc/json
 * formatter (its byte writer, as the file destination uses) and appended to a
 * file with a plain loop (write + fdatasync every 8192 records). No engine. Run with the same
 * V8 flags as bin/conduit.js. Usage: raw-generator-to-file.ts <settings.json> <out> <count>
 */
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { generatorPlugin } from '../src/connectors/generator/index.js';
import { silentLogger } from '../src/log/logger.js';
import { MetadataKey, OPENCDC_VERSION, nowNanos } from '../src/opencdc/metadata.js';
import { byteWriterOf, createFormatter } from '../src/sdk/formats.js';
import { Config, validateSettings } from '../src/sdk/params.js';
import { sourceSpecs } from '../src/sdk/sdk-params.js';

const [settingsFile, out, countText] = process.argv.slice(2);
if (settingsFile === undefined || out === undefined || countText === undefined) throw new Error('usage');
const count = Number(countText);
const plugin = generatorPlugin.source;
if (plugin === undefined) throw new Error('no generator source');
const specs = sourceSpecs(plugin.params);
const { settings } = validateSettings(specs, JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, string>);
const source = plugin.create();
await source.configure(new Config(specs, settings), {
  connectorId: 'bench:src',
  pipelineId: 'bench',
  logger: silentLogger,
});
await source.open(null);
const format = createFormatter('opencdc/json', '');
// The same byte writer the file destination uses: records are encoded straight into the buffer.
const writeInto = byteWriterOf(format);
if (writeInto === undefined) throw new Error('opencdc/json has no byte writer');
const fd = openSync(out, 'a');
const signal = new AbortController().signal;
const BATCH = 2048;
const WRITE_EVERY = 8192;
let written = 0;
const sink = { buf: Buffer.allocUnsafe(1 << 20), off: 0 };
let pending = 0;
while (written < count) {
  const records = await source.read(Math.min(BATCH, count - written), signal);
  const readAt = nowNanos();
  for (const r of records) {
    const md = r.metadata;
    md[MetadataKey.ReadAt] = readAt;
    md[MetadataKey.SourceConnectorId] = 'bench:src';
    md[MetadataKey.Version] = OPENCDC_VERSION;
    md[MetadataKey.SourcePluginName] = generatorPlugin.name;
    md[MetadataKey.SourcePluginVersion] = generatorPlugin.version;
    writeInto(r, sink);
    if (sink.off >= sink.buf.length) {
      const bigger = Buffer.allocUnsafe(sink.buf.length * 2);
      sink.buf.copy(bigger, 0, 0, sink.off);
      sink.buf = bigger;
    }
    sink.buf[sink.off++] = 0x0a;
  }
  written += records.length;
  pending += records.length;
  if (pending >= WRITE_EVERY || written >= count) {
    let done = 0;
    while (done < sink.off) done += writeSync(fd, sink.buf, done, sink.off - done);
    fdatasyncSync(fd);
    sink.off = 0;
    pending = 0;
  }
}
closeSync(fd);
await source.teardown();
const usage = process.resourceUsage();
process.stdout.write(`${JSON.stringify({ maxRssKb: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime })}\n`);
