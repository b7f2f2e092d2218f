import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, type Level } from '../../log/logger.js';
import { configuredDestination, destinationConformance, sampleRecords } from '../../sdk/conformance.js';
import { logPlugin } from './index.js';

/** A JSON logger whose lines are kept. */
function capture(level: Level = 'trace') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    format: 'json',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  return { logger, lines };
}

destinationConformance({
  plugin: logPlugin,
  fixture: () => {
    const { logger, lines } = capture();
    return { settings: {}, logger, readBack: async () => lines.map((l) => JSON.stringify(l['record'])) };
  },
  matches: (stored, _r, formatted) => stored === JSON.stringify(JSON.parse(formatted)),
  invalid: [{ settings: { level: 'loud' }, param: 'level' }],
});

describe('log destination', () => {
  it('logs at the configured level with the configured message', async () => {
    const { logger, lines } = capture();
    const d = await configuredDestination(logPlugin, { level: 'warn', message: 'got one' }, logger);
    await d.open();
    assert.equal(await d.write(sampleRecords(0, 2)), undefined);
    await d.teardown();
    assert.deepEqual(
      lines.map((l) => [l['level'], l['message']]),
      [
        ['warn', 'got one'],
        ['warn', 'got one'],
      ],
    );
    assert.equal((lines[0]?.['record'] as { operation: string }).operation, 'create');
  });

  it('logs nothing below the logger level', async () => {
    const { logger, lines } = capture('info');
    const d = await configuredDestination(logPlugin, { level: 'debug' }, logger);
    await d.open();
    await d.write(sampleRecords(0, 3));
    await d.teardown();
    assert.equal(lines.length, 0);
  });
});
