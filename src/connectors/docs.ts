/**
 * Connector READMEs carry a parameter table generated from the spec, between
 * `<!-- params:start -->` and `<!-- params:end -->`. `scripts/gen-docs.ts`
 * rewrites it; `docs.test.ts` fails when a README is stale.
 */
import type { ConnectorPlugin } from '../sdk/connector.js';
import { specsToMarkdown } from '../sdk/params.js';

export const PARAMS_START = '<!-- params:start -->';
export const PARAMS_END = '<!-- params:end -->';

/** The generated part: a table per side the plugin has. */
export function paramsSection(plugin: ConnectorPlugin): string {
  const parts: string[] = [];
  if (plugin.source !== undefined) parts.push(`### Source parameters\n\n${specsToMarkdown(plugin.source.params)}`);
  if (plugin.destination !== undefined) {
    parts.push(`### Destination parameters\n\n${specsToMarkdown(plugin.destination.params)}`);
  }
  parts.push(
    'Every connector also takes the `sdk.*` parameters (batching, schema extraction, and for destinations ' +
      "the record format and rate limit); `conduit pipelines schema` lists them with every plugin's parameters.",
  );
  return parts.join('\n\n');
}

/** The README with its generated section replaced; throws when the markers are missing. */
export function updateReadme(readme: string, plugin: ConnectorPlugin): string {
  const start = readme.indexOf(PARAMS_START);
  const end = readme.indexOf(PARAMS_END);
  if (start < 0 || end < start) {
    throw new Error(`the README of ${plugin.name} lacks the ${PARAMS_START} … ${PARAMS_END} markers`);
  }
  // Prettier would re-pad the tables; the generated part is kept exactly as generated.
  return (
    `${readme.slice(0, start + PARAMS_START.length)}\n<!-- prettier-ignore-start -->\n\n${paramsSection(plugin)}` +
    `\n\n<!-- prettier-ignore-end -->\n${readme.slice(end)}`
  );
}
