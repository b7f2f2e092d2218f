/**
 * The engine's metrics: Conduit's names and labels where Conduit has the
 * metric (`conduit_pipelines`, `conduit_pipeline_status`, `conduit_connector_bytes`,
 * the execution-duration histograms…), and ours beside them (records per
 * connector, in-flight records and bytes, source progress).
 *
 * Counters and histograms are updated by a pipeline run once per batch through
 * the series of {@link RunMetrics}; status, in-flight and progress gauges are
 * read from the engine at scrape time ({@link EngineMetrics.collectFrom}).
 */
import type { SourceProgress } from '../sdk/connector.js';
import { VERSION } from '../version.js';
import { Registry, type Counter, type Histogram } from './registry.js';

/** Conduit's buckets for conduit_connector_bytes: 1 KiB to 2 MiB, doubling. */
export const BYTES_BUCKETS: readonly number[] = Array.from({ length: 12 }, (_, i) => 1024 * 2 ** i);
/** Buckets of the duration histograms, in seconds: 1 ms to 5 s. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The series one connector of a run updates. */
export interface ConnectorSeries {
  /** Source: records read. Destination: records written (not those it refused). */
  readonly records: Counter;
  /** Size of the records (estimated), one observation per record. */
  readonly bytes: Histogram;
  /** Duration of each read or write call. */
  readonly duration: Histogram;
}

/** The series a pipeline run updates (resolved once per run, so an update is an addition). */
export interface RunMetrics {
  source(connectorId: string, plugin: string): ConnectorSeries;
  destination(connectorId: string, plugin: string): ConnectorSeries;
  /** From opencdc.readAt to the destination's write returning, one observation per record. */
  readonly latency: Histogram;
}

/** What the collectors read from a pipeline at scrape time. */
export interface PipelineView {
  readonly name: string;
  readonly status: string;
  readonly statusNumber: number;
  readonly connectors: ReadonlyArray<{ readonly type: string; readonly plugin: string }>;
  readonly processors: ReadonlyArray<{ readonly plugin: string }>;
  /** Absent when the pipeline is not running. */
  readonly run?: {
    readonly inFlightRecords: number;
    readonly inFlightBytes: number;
    /** Seconds since the oldest record read and not yet acknowledged was read (0 when none). */
    readonly oldestInFlightSeconds: number;
    readonly sources: ReadonlyArray<{
      readonly id: string;
      readonly plugin: string;
      readonly progress?: SourceProgress;
    }>;
  };
}

export class EngineMetrics {
  readonly registry = new Registry();
  private readonly connectorRecords;
  private readonly connectorBytes;
  private readonly connectorDuration;
  private readonly pipelineDuration;
  private readonly inspectorSessions;
  private readonly inspectorDropped;

  constructor(view: () => Iterable<PipelineView>) {
    const r = this.registry;
    const info = r.gauge('conduit_info', 'Information about Conduit.', ['version']);
    info.labels(VERSION).set(1);
    const pipelines = r.gauge('conduit_pipelines', 'Number of pipelines by status.', ['status']);
    const pipelineStatus = r.gauge(
      'conduit_pipeline_status',
      'Status of a pipeline: 1 running, 2 system stopped, 3 user stopped, 4 degraded, 5 recovering.',
      ['pipeline_name'],
    );
    const connectors = r.gauge('conduit_connectors', 'Number of connectors by type.', ['type']);
    const processors = r.gauge('conduit_processors', 'Number of processors by type (plugin).', ['type']);
    const connectorLabels = ['pipeline_name', 'plugin', 'type', 'component_id'];
    this.connectorBytes = r.histogram(
      'conduit_connector_bytes',
      'Estimated size of the records a connector read or wrote, in bytes.',
      connectorLabels,
      BYTES_BUCKETS,
    );
    this.pipelineDuration = r.histogram(
      'conduit_pipeline_execution_duration_seconds',
      'End-to-end latency of a record: from opencdc.readAt to the destination having written it.',
      ['pipeline_name'],
      DURATION_BUCKETS,
    );
    this.connectorDuration = r.histogram(
      'conduit_connector_execution_duration_seconds',
      'Duration of a connector read or write call (one batch).',
      connectorLabels,
      DURATION_BUCKETS,
    );
    this.connectorRecords = r.counter(
      'conduit_connector_records_total',
      'Records a source read (type="source") or a destination wrote (type="destination").',
      connectorLabels,
    );
    this.inspectorSessions = r.gauge('conduit_inspector_sessions', 'Number of open inspector sessions.', [
      'component_id',
    ]);
    this.inspectorDropped = r.counter(
      'conduit_inspector_dropped_records_total',
      'Records an inspector session did not take (its buffer was full or its reader too slow); they were not shown.',
      ['component_id'],
    );
    const inflightRecords = r.gauge('conduit_pipeline_inflight_records', 'Records read and not yet acknowledged.', [
      'pipeline_name',
    ]);
    const inflightBytes = r.gauge(
      'conduit_pipeline_inflight_bytes',
      'Estimated bytes of the records read and not yet acknowledged.',
      ['pipeline_name'],
    );
    const oldestUnacked = r.gauge(
      'conduit_pipeline_oldest_unacked_seconds',
      'Age of the oldest record read and not yet acknowledged, in seconds (0 when none).',
      ['pipeline_name'],
    );
    const sourceLabels = ['pipeline_name', 'plugin', 'component_id'];
    const lagBytes = r.gauge(
      'conduit_source_lag_bytes',
      'Bytes upstream keeps for a source and it has not confirmed (a replication slot retained WAL).',
      sourceLabels,
    );
    const lagRecords = r.gauge(
      'conduit_source_lag_records',
      'Records upstream holds that a source has not read yet.',
      sourceLabels,
    );
    const snapRows = r.gauge('conduit_source_snapshot_rows', 'Rows a source snapshot has read, per collection.', [
      ...sourceLabels,
      'collection',
    ]);
    const snapEstimated = r.gauge(
      'conduit_source_snapshot_estimated_rows',
      "Upstream's estimate of a snapshotted collection's rows (0 when unknown).",
      [...sourceLabels, 'collection'],
    );
    const snapDone = r.gauge('conduit_source_snapshot_done', '1 when the snapshot of the collection is done.', [
      ...sourceLabels,
      'collection',
    ]);
    const scraped = [
      pipelines,
      pipelineStatus,
      connectors,
      processors,
      inflightRecords,
      inflightBytes,
      oldestUnacked,
      lagBytes,
      lagRecords,
      snapRows,
      snapEstimated,
      snapDone,
    ];
    r.onCollect(() => {
      for (const f of scraped) f.clear();
      for (const p of view()) {
        pipelines.labels(p.status).add(1);
        pipelineStatus.labels(p.name).set(p.statusNumber);
        for (const c of p.connectors) connectors.labels(c.type).add(1);
        for (const pr of p.processors) processors.labels(pr.plugin).add(1);
        if (p.run === undefined) continue;
        inflightRecords.labels(p.name).set(p.run.inFlightRecords);
        inflightBytes.labels(p.name).set(p.run.inFlightBytes);
        oldestUnacked.labels(p.name).set(p.run.oldestInFlightSeconds);
        for (const s of p.run.sources) {
          const pg = s.progress;
          if (pg === undefined) continue;
          if (pg.lagBytes !== undefined) lagBytes.labels(p.name, s.plugin, s.id).set(pg.lagBytes);
          if (pg.lagRecords !== undefined) lagRecords.labels(p.name, s.plugin, s.id).set(pg.lagRecords);
          for (const c of pg.snapshot ?? []) {
            snapRows.labels(p.name, s.plugin, s.id, c.collection).set(c.rows);
            snapEstimated.labels(p.name, s.plugin, s.id, c.collection).set(c.estimatedRows);
            snapDone.labels(p.name, s.plugin, s.id, c.collection).set(c.done ? 1 : 0);
          }
        }
      }
    });
  }

  /** The series of one run of a pipeline; counters carry on across runs (restarts). */
  forRun(pipelineName: string): RunMetrics {
    const series = (type: string, id: string, plugin: string): ConnectorSeries => ({
      records: this.connectorRecords.labels(pipelineName, plugin, type, id),
      bytes: this.connectorBytes.labels(pipelineName, plugin, type, id),
      duration: this.connectorDuration.labels(pipelineName, plugin, type, id),
    });
    return {
      source: (id, plugin) => series('source', id, plugin),
      destination: (id, plugin) => series('destination', id, plugin),
      latency: this.pipelineDuration.labels(pipelineName),
    };
  }

  /** The stream inspector's series, per component (src/inspector/). */
  inspector(): {
    sessions(componentId: string): { add(n: number): void };
    dropped(componentId: string): { inc(n: number): void };
  } {
    return {
      sessions: (id) => this.inspectorSessions.labels(id),
      dropped: (id) => this.inspectorDropped.labels(id),
    };
  }

  /** Forgets a deleted (or renamed) pipeline's series. */
  forgetPipeline(pipelineName: string): void {
    this.registry.removeWhere('pipeline_name', pipelineName);
  }

  render(): string {
    return this.registry.render();
  }
}
