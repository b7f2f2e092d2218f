/** Keys of the engine's state in the store. Values are JSON. */
export const StateKey = {
  pipeline: (id: string) => `pipeline:instance:${id}`,
  pipelinePrefix: 'pipeline:instance:',
  /** The last persisted position of a source: `{"position":"<base64>","updatedAt":"…"}`. */
  position: (connectorId: string) => `connector:position:${connectorId}`,
  /** The settings a connector last ran with (drives the lifecycle hooks). */
  connector: (connectorId: string) => `connector:instance:${connectorId}`,
  connectorPrefix: (pipelineId: string) => `connector:instance:${pipelineId}:`,
  positionPrefix: (pipelineId: string) => `connector:position:${pipelineId}:`,
} as const;

export interface StoredPosition {
  readonly position: string;
  readonly updatedAt: string;
}

export interface StoredConnector {
  readonly type: 'source' | 'destination';
  readonly plugin: string;
  readonly lastActiveSettings: Record<string, string>;
}

/** JSON with object keys sorted, so two maps with the same entries compare equal. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([k1], [k2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : 0)),
        )
      : x,
  );
}
