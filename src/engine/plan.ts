/**
 * The one diff between a stored pipeline and a desired one, used by every
 * reconcile: pipeline files at start-up (`Engine.provision`) and the API's
 * plan, apply and import. Each change names its resource, action, the config
 * paths it touches (JSON pointers into the pipeline document: `/connectors/0/settings/url`)
 * and its effect on a running pipeline: `in_place` (applies without stopping
 * it) or `restart` (drain, apply, start again). A plan's hash binds the stored
 * state and the desired config, so a plan taken before another change is stale.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Code } from '../errors/codes.js';
import type { ConnectorConfig, PipelineConfig, ProcessorConfig } from '../provisioning/types.js';
import { canonicalJson } from './state-keys.js';

export type ChangeResource = 'pipeline' | 'connector' | 'processor';
export type ChangeAction = 'create' | 'update' | 'delete';
/**
 * `in_place`: safe on a running pipeline. Only what no run reads is in place here: the
 * description. Conduit also swaps processors live; this engine builds a run's processors when
 * the run starts, so a processor change is a restart here (and the name, the metrics label).
 */
export type ChangeEffect = 'in_place' | 'restart';

export interface PlanChange {
  readonly resource: ChangeResource;
  /** The full ID (`<pipelineID>:<connectorID>`, `<parentID>:<processorID>`). */
  readonly id: string;
  readonly action: ChangeAction;
  readonly effect: ChangeEffect;
  readonly configPaths: readonly string[];
  /** `provisioning.<resource>.<action>`. */
  readonly code: string;
}

export interface PipelinePlan {
  readonly pipelineId: string;
  readonly changes: readonly PlanChange[];
  /**
   * Hex HMAC-SHA-256 of the canonical JSON of the stored config (or null) and the desired one,
   * keyed by this process (see {@link planHash}).
   */
  readonly hash: string;
}

/** Codes of refused plans and applies. */
export const PlanCode = {
  /** The hash is not the current plan's (FAILED_PRECONDITION, HTTP 412). */
  PlanStale: Code.ProvisioningPlanStale,
  /** A restart-class change on a running pipeline without api.allow-live-restart-apply. */
  RestartNotAllowed: Code.ProvisioningRestartNotAllowed,
} as const;

/** Pipeline fields a run never reads: changing them needs no restart. */
const IN_PLACE_PIPELINE_PATHS = new Set(['/description', '/status']);

/** The plan from `before` (undefined: the pipeline does not exist) to `after`, with its hash. */
export function planPipeline(before: PipelineConfig | undefined, after: PipelineConfig): PipelinePlan {
  return { pipelineId: after.id, changes: diffPipelines(before, after), hash: planHash(before, after) };
}

/**
 * The configs hold secret settings: a plain digest of them, handed to any API client, would let it
 * test guesses of a secret offline. Keyed by a random key of this process, the hash only says
 * "this plan" to this server (a plan taken before a restart of the engine is stale).
 */
const PLAN_KEY = randomBytes(32);

export function planHash(before: PipelineConfig | undefined, after: PipelineConfig): string {
  const text = canonicalJson({ stored: before === undefined ? null : bare(before), desired: bare(after) });
  return createHmac('sha256', PLAN_KEY).update(text).digest('hex');
}

/** Every change from `before` to `after`; empty when they are the same config (where they came from aside). */
export function diffPipelines(before: PipelineConfig | undefined, after: PipelineConfig): PlanChange[] {
  if (before === undefined) return creation(after);
  const changes: PlanChange[] = [];
  const paths: string[] = [];
  for (const key of ['name', 'description', 'status'] as const) {
    if (before[key] !== after[key]) paths.push(`/${key}`);
  }
  const d0 = before.dlq;
  const d1 = after.dlq;
  if (d0.pluginRef !== d1.pluginRef || d0.plugin !== d1.plugin) paths.push('/dlq/plugin');
  paths.push(...settingPaths(d0.settings, d1.settings, '/dlq/settings'));
  if (d0.windowSize !== d1.windowSize) paths.push('/dlq/windowSize');
  if (d0.windowNackThreshold !== d1.windowNackThreshold) paths.push('/dlq/windowNackThreshold');
  const kept = (list: readonly { id: string }[], other: readonly { id: string }[]): string[] => {
    const ids = new Set(other.map((x) => x.id));
    return list.filter((x) => ids.has(x.id)).map((x) => x.id);
  };
  // Order matters only among the connectors and processors both sides have.
  if (kept(before.connectors, after.connectors).join('\n') !== kept(after.connectors, before.connectors).join('\n')) {
    paths.push('/connectors');
  }
  if (kept(before.processors, after.processors).join('\n') !== kept(after.processors, before.processors).join('\n')) {
    paths.push('/processors');
  }
  const pipelineChange = paths.length > 0 ? change('pipeline', after.id, 'update', paths) : undefined;

  const old = new Map(before.connectors.map((c, i) => [c.id, { c, i }]));
  const now = new Map(after.connectors.map((c, i) => [c.id, { c, i }]));
  for (const [id, { c, i }] of old) {
    const n = now.get(id);
    // A connector whose type changed is a new connector (its position goes), as in Conduit.
    if (n === undefined || n.c.type !== c.type) {
      changes.push(change('connector', id, 'delete', [`/connectors/${i}`]));
      changes.push(
        ...c.processors.map((p, j) => change('processor', p.id, 'delete', [`/connectors/${i}/processors/${j}`])),
      );
    }
  }
  for (const [id, { c, i }] of now) {
    const o = old.get(id);
    const at = `/connectors/${i}`;
    if (o === undefined || o.c.type !== c.type) {
      changes.push(...creationOfConnector(c, at));
      continue;
    }
    const p: string[] = [];
    if (o.c.name !== c.name) p.push(`${at}/name`);
    if (o.c.pluginRef !== c.pluginRef || o.c.plugin !== c.plugin) p.push(`${at}/plugin`);
    p.push(...settingPaths(o.c.settings, c.settings, `${at}/settings`));
    if (kept(o.c.processors, c.processors).join('\n') !== kept(c.processors, o.c.processors).join('\n')) {
      p.push(`${at}/processors`);
    }
    if (p.length > 0) changes.push(change('connector', id, 'update', p));
    changes.push(...diffProcessors(o.c.processors, c.processors, `${at}/processors`));
  }
  changes.push(...diffProcessors(before.processors, after.processors, '/processors'));
  if (pipelineChange !== undefined) changes.unshift(pipelineChange);
  // A safety net: a field this diff does not know yet still shows as a change of the whole pipeline.
  if (changes.length === 0 && canonicalJson(bare(before)) !== canonicalJson(bare(after))) {
    changes.push(change('pipeline', after.id, 'update', ['']));
  }
  return changes;
}

/** The connectors of `before` that the diff deletes (gone, or with another type): their state goes. */
export function deletedConnectors(before: PipelineConfig, changes: readonly PlanChange[]): ConnectorConfig[] {
  const gone = new Set(changes.filter((c) => c.resource === 'connector' && c.action === 'delete').map((c) => c.id));
  return before.connectors.filter((c) => gone.has(c.id));
}

export function needsRestart(changes: readonly PlanChange[]): boolean {
  return changes.some((c) => c.effect === 'restart');
}

function creation(p: PipelineConfig): PlanChange[] {
  // Nothing runs yet: creating is safe.
  return [
    change('pipeline', p.id, 'create', [''], 'in_place'),
    ...p.processors.map((x, i) => change('processor', x.id, 'create', [`/processors/${i}`], 'in_place')),
    ...p.connectors.flatMap((c, i) => creationOfConnector(c, `/connectors/${i}`, 'in_place')),
  ];
}

function creationOfConnector(c: ConnectorConfig, at: string, effect?: ChangeEffect): PlanChange[] {
  return [
    change('connector', c.id, 'create', [at], effect),
    ...c.processors.map((x, j) => change('processor', x.id, 'create', [`${at}/processors/${j}`], effect)),
  ];
}

function diffProcessors(
  before: readonly ProcessorConfig[],
  after: readonly ProcessorConfig[],
  at: string,
): PlanChange[] {
  const out: PlanChange[] = [];
  const now = new Map(after.map((p, i) => [p.id, { p, i }]));
  const old = new Map(before.map((p, i) => [p.id, { p, i }]));
  before.forEach((p, i) => {
    if (!now.has(p.id)) out.push(change('processor', p.id, 'delete', [`${at}/${i}`]));
  });
  after.forEach((p, i) => {
    const o = old.get(p.id)?.p;
    const here = `${at}/${i}`;
    if (o === undefined) {
      out.push(change('processor', p.id, 'create', [here]));
      return;
    }
    const paths: string[] = [];
    if (o.pluginRef !== p.pluginRef || o.plugin !== p.plugin) paths.push(`${here}/plugin`);
    paths.push(...settingPaths(o.settings, p.settings, `${here}/settings`));
    if (o.workers !== p.workers) paths.push(`${here}/workers`);
    if (o.condition !== p.condition) paths.push(`${here}/condition`);
    if (paths.length > 0) out.push(change('processor', p.id, 'update', paths));
  });
  return out;
}

/** The settings keys added, changed or removed, as pointers under `at`. */
function settingPaths(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>, at: string): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}

function change(
  resource: ChangeResource,
  id: string,
  action: ChangeAction,
  configPaths: string[],
  effect?: ChangeEffect,
): PlanChange {
  const e =
    effect ??
    (resource === 'pipeline' && action === 'update' && configPaths.every((p) => IN_PLACE_PIPELINE_PATHS.has(p))
      ? 'in_place'
      : 'restart');
  return { resource, id, action, effect: e, configPaths, code: `provisioning.${resource}.${action}` };
}

/** The config without where it came from (a file and line are not part of what runs). */
function bare(p: PipelineConfig): PipelineConfig {
  return { ...p, origin: undefined };
}
