/** `conduit pipelines validate <path>`: offline validation of pipeline files. */
import { Code } from '../../errors/codes.js';
import { ConduitError, ValidationErrors } from '../../errors/conduit-error.js';
import { builtinRegistry } from '../../plugins/builtin.js';
import { loadPipelines } from '../../provisioning/load.js';
import type { Output } from '../output.js';

export async function validateCommand(path: string | undefined, out: Output): Promise<number> {
  if (path === undefined) {
    throw new ConduitError(Code.EngineConfigInvalid, 'pipelines validate needs a path', {
      suggestion: 'conduit pipelines validate ./pipelines',
    });
  }
  const loaded = await loadPipelines(path, {
    registry: builtinRegistry(),
    env: process.env,
    defaultPath: '',
    configureProcessors: true,
  });
  const warnings = loaded.warnings.map((w) => w.toJSON());
  if (loaded.errors.length > 0) {
    return out.failure('pipelines validate', new ValidationErrors(loaded.errors), { warnings });
  }
  const ids = loaded.pipelines.map((p) => p.id);
  const human = [
    ...loaded.warnings.map((w) => `warning: ${w.format()}`),
    `${ids.length} pipeline${ids.length === 1 ? '' : 's'} valid${ids.length > 0 ? `: ${ids.join(', ')}` : ''}`,
  ].join('\n');
  return out.success(
    'pipelines validate',
    `${ids.length} pipeline${ids.length === 1 ? '' : 's'} valid`,
    { pipelines: ids, warnings },
    human,
  );
}
