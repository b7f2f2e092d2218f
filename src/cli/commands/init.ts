/** `conduit init [--path DIR]`: a workspace with conduit.yaml, pipelines/, connectors/, processors/. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Output } from '../output.js';

const CONDUIT_YAML = `# Conduit engine settings. Flags and CONDUIT_* environment variables override these.
db:
  type: sqlite            # sqlite (embedded), postgres or inmemory
  sqlite:
    path: ./conduit.db
log:
  level: info             # trace, debug, info, warn, error
  format: cli             # cli or json
pipelines:
  path: ./pipelines
  error-recovery:
    min-delay: 1s
    max-delay: 10m
    backoff-factor: 2
    max-retries: -1
    max-retries-window: 5m
`;

const EXAMPLE = `version: "2.2"
pipelines:
  - id: example
    status: running
    description: Generates records and appends them to a file as OpenCDC JSON.
    connectors:
      - id: source
        type: source
        plugin: builtin:generator
        settings:
          format.type: structured
          format.options.id: int
          format.options.name: string
          rate: "10"
      - id: destination
        type: destination
        plugin: builtin:file
        settings:
          path: ./example.out.jsonl
`;

export async function initCommand(flags: Record<string, string>, out: Output): Promise<number> {
  const root = flags['path'] ?? '.';
  const created: string[] = [];
  for (const dir of ['pipelines', 'connectors', 'processors']) {
    const p = join(root, dir);
    if (!existsSync(p)) {
      await mkdir(p, { recursive: true });
      created.push(`${p}/`);
    }
  }
  for (const [file, text] of [
    [join(root, 'conduit.yaml'), CONDUIT_YAML],
    [join(root, 'pipelines', 'example.yaml'), EXAMPLE],
  ] as const) {
    if (!existsSync(file)) {
      await writeFile(file, text);
      created.push(file);
    }
  }
  const human =
    created.length === 0
      ? `nothing to do: the workspace in ${root} exists already`
      : `created ${created.join(', ')}\nnext: ${root === '.' ? '' : `cd ${root} && `}npx conduit run`;
  return out.success('init', `created ${created.length} entries`, { created }, human);
}
