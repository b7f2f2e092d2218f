/**
 * `conduit pipelines schema`: the JSON Schema of pipeline files, generated from
 * the built-in plugins' parameters, for editors, e.g.
 * `conduit pipelines schema > pipeline.schema.json` and, in a YAML file,
 * `# yaml-language-server: $schema=./pipeline.schema.json`.
 */
import { builtinRegistry } from '../../plugins/builtin.js';
import { pipelineFileJsonSchema } from '../../provisioning/index.js';
import type { Output } from '../output.js';

export function schemaCommand(out: Output): number {
  const schema = pipelineFileJsonSchema(builtinRegistry());
  return out.success('pipelines schema', 'the JSON Schema of pipeline files', schema, JSON.stringify(schema, null, 2));
}
