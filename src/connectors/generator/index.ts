/** The `generator` connector plugin: a source of fake records for demos, tests and benchmarks. */
import type { ConnectorPlugin } from '../../sdk/connector.js';
import { GeneratorSource } from './source.js';
import { sourceParams } from './spec.js';

export const generatorPlugin: ConnectorPlugin = {
  name: 'generator',
  summary: 'Generates fake records.',
  description:
    'A source that generates records with structured, raw (JSON) or file payloads at a chosen rate, optionally ' +
    'in bursts and over several collections. The position is the record number, so a restart resumes the ' +
    'numbering and recordCount counts across restarts.',
  version: 'v0.10.4',
  author: 'Conduit for TypeScript',
  source: {
    params: sourceParams,
    create: () => new GeneratorSource(),
  },
};

export default generatorPlugin;
