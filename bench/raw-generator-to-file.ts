/**
 * The raw baseline for bench/engine.bench.ts: the same generator records, with
 * the same metadata the engine stamps, serialized by the same opencdc/json
 * formatter and appended to a file with a plain loop (records encoded into one
 * buffer, write + fdatasync every 8192 records). No engine. Run with the same
 * V8 flags as bin/conduit.js. Usage: raw-generator-to-file.ts <settings.json> <out> <count>
 */
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { generatorPlugin } from '../src/connectors/generator/index.js';
import { silentLogger } from '../src/log/logger.js';
import { MetadataKey, OPENCDC_VERSION, nowNanos } from '../src/opencdc/metadata.js';
import { createFormatter } from '../src/sdk/formats.js';
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
const fd = openSync(out, 'a');
const signal = new AbortController().signal;
const BATCH = 2048;
const WRITE_EVERY = 8192;
let written = 0;
let buf = Buffer.allocUnsafe(1 << 20);
let off = 0;
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
    const s = format(r) as string;
    if (off + s.length * 3 + 1 > buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2 + s.length * 3);
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    off += buf.write(s, off, 'utf8');
    buf[off++] = 0x0a;
  }
  written += records.length;
  pending += records.length;
  if (pending >= WRITE_EVERY || written >= count) {
    let done = 0;
    while (done < off) done += writeSync(fd, buf, done, off - done);
    fdatasyncSync(fd);
    off = 0;
    pending = 0;
  }
}
closeSync(fd);
await source.teardown();
const usage = process.resourceUsage();
process.stdout.write(`${JSON.stringify({ maxRssKb: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime })}\n`);
