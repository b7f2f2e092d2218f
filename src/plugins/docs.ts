/**
 * Every built-in plugin's README carries a parameter table generated from its
 * spec, between `<!-- params:start -->` and `<!-- params:end -->`.
 * `scripts/gen-docs.ts` rewrites it; `docs.test.ts` fails when a README is stale.
 */
import { join } from 'node:path';
import type { ConnectorPlugin } from '../sdk/connector.js';
import { specsToMarkdown } from '../sdk/params.js';
import type { ProcessorPlugin } from '../sdk/processor.js';

export const PARAMS_START = '<!-- params:start -->';
export const PARAMS_END = '<!-- params:end -->';

/** A built-in plugin's README: where it is (from the repository root) and its generated section. */
export interface PluginDoc {
  readonly name: string;
  readonly readme: string;
  readonly section: string;
}

/** The generated part of a connector README: a table per side the plugin has. */
export function connectorDoc(plugin: ConnectorPlugin): PluginDoc {
  const parts: string[] = [];
  if (plugin.source !== undefined) parts.push(`### Source parameters\n\n${specsToMarkdown(plugin.source.params)}`);
  if (plugin.destination !== undefined) {
    parts.push(`### Destination parameters\n\n${specsToMarkdown(plugin.destination.params)}`);
  }
  parts.push(
    'Every connector also takes the `sdk.*` parameters (batching, schema extraction, and for destinations ' +
      "the record format and rate limit); `conduit pipelines schema` lists them with every plugin's parameters.",
  );
  return {
    name: plugin.name,
    readme: join('src', 'connectors', plugin.name, 'README.md'),
    section: parts.join('\n\n'),
  };
}

/** The generated part of a processor README (folder: the name with dots as dashes). */
export function processorDoc(plugin: ProcessorPlugin): PluginDoc {
  const table =
    Object.keys(plugin.params).length === 0
      ? `\`${plugin.name}\` takes no parameters.`
      : specsToMarkdown(plugin.params);
  const section =
    `${table}\n\n` +
    'Every processor also takes `condition` (a Go template; only records for which it prints true are processed) and\n' +
    '`workers` in the pipeline file, next to `settings`.';
  return {
    name: plugin.name,
    readme: join('src', 'processors', plugin.name.replace(/\./g, '-'), 'README.md'),
    section,
  };
}

/** The README with its generated section replaced; throws when the markers are missing. */
export function updateReadme(readme: string, doc: PluginDoc): string {
  const start = readme.indexOf(PARAMS_START);
  const end = readme.indexOf(PARAMS_END);
  if (start < 0 || end < start) {
    throw new Error(`${doc.readme} lacks the ${PARAMS_START} … ${PARAMS_END} markers`);
  }
  // Prettier would re-pad the tables; the generated part is kept exactly as generated.
  return (
    `${readme.slice(0, start + PARAMS_START.length)}\n<!-- prettier-ignore-start -->\n\n${doc.section}` +
    `\n\n<!-- prettier-ignore-end -->\n${readme.slice(end)}`
  );
}
