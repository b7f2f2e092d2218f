/**
 * `conduit quickstart`: a generator → log demo on the in-memory store, with no
 * files left behind. Records appear within a second. `--records N` stops after
 * N records have been logged.
 */
import { Engine } from '../../engine/engine.js';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { createLogger } from '../../log/logger.js';
import { builtinRegistry } from '../../plugins/builtin.js';
import { DEFAULT_DLQ, type PipelineConfig } from '../../provisioning/types.js';
import { MemoryStore } from '../../store/memory.js';
import type { Output } from '../output.js';
import { exitAtOnce, keepProcessAlive } from '../signals.js';

const MESSAGE = 'quickstart record';

export function quickstartPipeline(records: number): PipelineConfig {
  return {
    id: 'quickstart',
    status: 'running',
    name: 'quickstart',
    description: 'A generator producing structured records, logged as they arrive.',
    processors: [],
    dlq: DEFAULT_DLQ,
    connectors: [
      {
        id: 'quickstart:generator',
        type: 'source',
        plugin: 'generator',
        pluginRef: 'builtin:generator',
        name: 'generator',
        processors: [],
        settings: {
          'format.type': 'structured',
          'format.options.id': 'int',
          'format.options.name': 'string',
          'format.options.active': 'bool',
          rate: '4',
          recordCount: String(records),
        },
      },
      {
        id: 'quickstart:log',
        type: 'destination',
        plugin: 'log',
        pluginRef: 'builtin:log',
        name: 'log',
        processors: [],
        settings: { level: 'info', message: MESSAGE },
      },
    ],
  };
}

export async function quickstartCommand(flags: Record<string, string>, out: Output): Promise<number> {
  const records = flags['records'] === undefined ? 0 : Number(flags['records']);
  if (!Number.isInteger(records) || records < 0) {
    throw new ConduitError(Code.EngineConfigInvalid, `--records ${flags['records']} is not a whole number`, {
      suggestion: 'use --records 10, or leave it out to run until Ctrl-C',
    });
  }
  let seen = 0;
  let done: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const logger = createLogger({
    level: 'info',
    format: out.json ? 'json' : 'cli',
    write: (line) => {
      process.stdout.write(line);
      if (line.includes(MESSAGE) && ++seen === records) done?.();
    },
  });
  const store = new MemoryStore();
  await store.init();
  const engine = new Engine({ store, registry: builtinRegistry(), logger });
  await engine.provision([quickstartPipeline(records)]);
  await engine.startDesired();
  out.info('quickstart: a generator pipeline is writing records to the log. Press Ctrl-C to stop.');
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++signals > 1) exitAtOnce(sig);
    done?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const release = keepProcessAlive();
  await finished;
  release();
  await engine.shutdown(5_000);
  await store.close();
  return out.success('quickstart', `logged ${seen} records`, { records: seen });
}
