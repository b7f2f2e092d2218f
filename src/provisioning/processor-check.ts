/**
 * The deeper check of `conduit pipelines validate`: each processor of a valid
 * pipeline is created and configured (never opened: no connection, no
 * network), and its condition compiled, so settings that pass their parameter
 * specs but cannot work are reported before a run: a custom.javascript script
 * that does not compile or has no entry point, a field reference that does not
 * parse, a regular expression that does not compile, a condition that is not a
 * valid template. Each problem points at the processor's setting in the file.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { silentLogger } from '../log/logger.js';
import { registerSecret } from '../log/redact.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { parseConfig, secretValues, type Config } from '../sdk/params.js';
import type { Processor } from '../sdk/processor.js';
import { processorSpecs } from '../sdk/sdk-params.js';
import { compileTemplate } from '../template/index.js';
import type { Pos, RawPipeline, RawProcessor } from './raw.js';
import type { PipelineConfig, ProcessorConfig } from './types.js';
import { pointer } from './yaml-reader.js';

/** One processor as written (its places in the file) and as enriched (its full ID and settings). */
interface Pair {
  readonly raw: RawProcessor;
  readonly config: ProcessorConfig;
}

/**
 * Configures every processor of a pipeline that passed validation and
 * compiles its condition. Returns the problems, each with the pipeline file,
 * the line and column of the setting at fault (or of the processor's
 * `settings`), the JSON pointer and a suggestion. Processors are torn down
 * after configure; none is opened.
 */
export async function checkProcessorConfigs(
  raw: RawPipeline,
  config: PipelineConfig,
  file: string,
  registry: PluginRegistry,
): Promise<ConduitError[]> {
  const errors: ConduitError[] = [];
  for (const { raw: rp, config: pc } of pairs(raw, config)) {
    const condition = conditionProblem(rp, pc, file);
    if (condition !== undefined) errors.push(condition);
    const problem = await configureProblem(rp, pc, config.id, file, registry);
    if (problem !== undefined) errors.push(problem);
  }
  return errors;
}

function pairs(raw: RawPipeline, config: PipelineConfig): Pair[] {
  const out: Pair[] = [];
  const zip = (rs: readonly RawProcessor[], cs: readonly ProcessorConfig[]): void => {
    rs.forEach((r, i) => {
      const c = cs[i];
      if (c !== undefined) out.push({ raw: r, config: c });
    });
  };
  zip(raw.processors, config.processors);
  raw.connectors.forEach((rc, i) => zip(rc.processors, config.connectors[i]?.processors ?? []));
  return out;
}

function conditionProblem(rp: RawProcessor, pc: ProcessorConfig, file: string): ConduitError | undefined {
  if (pc.condition.trim() === '' || rp.condition === undefined) return undefined;
  try {
    compileTemplate(pc.condition, { name: `${pc.id}.condition` });
    return undefined;
  } catch (e) {
    const err = e instanceof ConduitError ? e : undefined;
    const why = e instanceof Error ? e.message : String(e);
    return new ConduitError(
      Code.ConfigFieldInvalid,
      `the condition of processor ${pc.id} is not a valid template: ${why}`,
      {
        configPath: rp.condition.path,
        file,
        ...rp.condition.pos,
        suggestion:
          err?.suggestion ?? 'write a Go template that prints true or false, e.g. {{ eq .Metadata.kind "a" }}',
      },
    );
  }
}

async function configureProblem(
  rp: RawProcessor,
  pc: ProcessorConfig,
  pipelineId: string,
  file: string,
  registry: PluginRegistry,
): Promise<ConduitError | undefined> {
  const plugin = registry.processor(pc.pluginRef || pc.plugin);
  if (plugin === undefined) return undefined; // reported by validation
  const specs = processorSpecs(plugin.params);
  for (const s of secretValues(specs, pc.settings)) registerSecret(s);
  let config: Config;
  try {
    config = parseConfig(specs, pc.settings, { plugin: pc.plugin });
  } catch {
    return undefined; // reported by validation, at the setting
  }
  let processor: Processor | undefined;
  try {
    processor = plugin.create();
    await processor.configure(config, { processorId: pc.id, pipelineId, logger: silentLogger });
    return undefined;
  } catch (e) {
    return placed(e, rp, pc, file);
  } finally {
    await processor?.teardown?.().catch(() => undefined);
  }
}

/** The configure error, moved to the place of its setting in the pipeline file. */
function placed(e: unknown, rp: RawProcessor, pc: ProcessorConfig, file: string): ConduitError {
  const err =
    e instanceof ConduitError
      ? e
      : new ConduitError(
          Code.ParamValidation,
          `processor ${pc.id} (${pc.plugin}): ${String((e as Error)?.message ?? e)}`,
        );
  const settings = rp.settings;
  const key = settingKey(err.configPath);
  const keyPos = key === undefined ? undefined : settings?.keys.get(key);
  const path =
    keyPos !== undefined && settings !== undefined && key !== undefined
      ? pointer(settings.path, key)
      : (settings?.path ?? pointer(rp.path, 'settings'));
  const pos: Pos = keyPos ?? settings?.keyPos ?? rp.pos;
  let message = err.message;
  if (err.line !== undefined) {
    // A place inside the script (inline, or the file script.path names).
    const inside = `${err.file ?? (key === undefined ? 'the setting' : `the ${key} setting`)}:${err.line}${err.column === undefined ? '' : `:${err.column}`}`;
    message += ` (at ${inside})`;
  }
  return new ConduitError(err.code, message, {
    configPath: path,
    file,
    ...pos,
    suggestion: err.suggestion ?? `fix the settings of processor ${pc.id}`,
    cause: e,
  });
}

/** The setting an error names: processors give the key (`field`) or a pointer into the settings (`/field`). */
function settingKey(configPath: string | undefined): string | undefined {
  if (configPath === undefined || configPath === '') return undefined;
  if (!configPath.startsWith('/')) return configPath;
  return configPath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
}
