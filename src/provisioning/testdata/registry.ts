/**
 * A small plugin registry for the provisioning tests: real plugin
 * declarations whose create() is never called by parsing.
 */
import { PluginRegistry } from '../../plugins/registry.js';
import type { ConnectorPlugin } from '../../sdk/connector.js';
import type { ProcessorPlugin } from '../../sdk/processor.js';

function notRun(): never {
  throw new Error('test plugins are declarations only');
}

const info = {
  summary: 'test plugin',
  description: 'A plugin declared for tests.',
  version: 'v0.1.0',
  author: 'tests',
};

/** A source with a required `path` and a secret `token`, and a destination. */
export const filePlugin: ConnectorPlugin = {
  name: 'file',
  ...info,
  source: {
    params: {
      path: { type: 'string', required: true, description: 'Path of the file to read.' },
      token: { type: 'string', secret: true, regex: '^[A-Za-z0-9]+$', description: 'Access token.' },
      mode: { type: 'string', default: 'tail', inclusion: ['tail', 'full'], description: 'How to read.' },
      'poll.interval': { type: 'duration', default: '1s', description: 'How often to look for new lines.' },
    },
    create: notRun,
  },
  destination: {
    params: { path: { type: 'string', required: true, description: 'Path of the file to write.' } },
    create: notRun,
  },
};

/** A source only. */
export const generatorPlugin: ConnectorPlugin = {
  name: 'generator',
  ...info,
  source: {
    params: { count: { type: 'int', default: '0', greaterThan: -1, description: 'Records to generate.' } },
    create: notRun,
  },
};

/** A destination only, the default DLQ plugin. */
export const logPlugin: ConnectorPlugin = {
  name: 'log',
  ...info,
  destination: {
    params: {
      level: {
        type: 'string',
        default: 'info',
        inclusion: ['debug', 'info', 'warn', 'error'],
        description: 'Log level.',
      },
      message: { type: 'string', default: '', description: 'Message logged with each record.' },
    },
    create: notRun,
  },
};

export const fieldSetPlugin: ProcessorPlugin = {
  name: 'field.set',
  ...info,
  params: {
    field: { type: 'string', required: true, description: 'Field to set.' },
    value: { type: 'string', required: true, description: 'Value to set.' },
  },
  create: notRun,
};

export const base64DecodePlugin: ProcessorPlugin = {
  name: 'base64.decode',
  ...info,
  params: { field: { type: 'string', required: true, description: 'Field to decode.' } },
  create: notRun,
};

export function testRegistry(): PluginRegistry {
  return new PluginRegistry()
    .addConnector(filePlugin)
    .addConnector(generatorPlugin)
    .addConnector(logPlugin)
    .addProcessor(fieldSetPlugin)
    .addProcessor(base64DecodePlugin);
}
