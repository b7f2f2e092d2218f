/** Metrics: a small Prometheus registry and the engine's metrics on it. */
export { Counter, Family, Gauge, Histogram, PROMETHEUS_CONTENT_TYPE, Registry, type MetricType } from './registry.js';
export {
  BYTES_BUCKETS,
  DURATION_BUCKETS,
  EngineMetrics,
  type ConnectorSeries,
  type PipelineView,
  type RunMetrics,
} from './conduit.js';
