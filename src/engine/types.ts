/** Engine-wide settings and the runtime status of a pipeline. */

export interface RecoveryConfig {
  /** Milliseconds. Conduit: pipelines.error-recovery.min-delay, default 1s. */
  readonly minDelay: number;
  /** Milliseconds. Default 10m. */
  readonly maxDelay: number;
  /** Default 2. */
  readonly backoffFactor: number;
  /** -1 = infinite, 0 = recovery disabled. */
  readonly maxRetries: number;
  /** Milliseconds. Default 5m. */
  readonly maxRetriesWindow: number;
}

export const DEFAULT_RECOVERY: RecoveryConfig = {
  minDelay: 1_000,
  maxDelay: 600_000,
  backoffFactor: 2,
  maxRetries: -1,
  maxRetriesWindow: 300_000,
};

/** Conduit's status enum: Running=1, SystemStopped=2, UserStopped=3, Degraded=4, Recovering=5. */
export const PipelineStatus = {
  Running: 'running',
  SystemStopped: 'system_stopped',
  UserStopped: 'user_stopped',
  Degraded: 'degraded',
  Recovering: 'recovering',
} as const;
export type PipelineStatus = (typeof PipelineStatus)[keyof typeof PipelineStatus];

export const STATUS_NUMBER: Record<PipelineStatus, number> = {
  running: 1,
  system_stopped: 2,
  user_stopped: 3,
  degraded: 4,
  recovering: 5,
};

export interface PipelineState {
  readonly status: PipelineStatus;
  /** The error of a degraded (or recovering) pipeline. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly updatedAt: string;
}
