/** The stream inspector: taps on the data path and the sessions watching them (README in src/api/README.md). */
export {
  DEFAULT_INSPECTOR_OPTIONS,
  Inspector,
  Session,
  Tap,
  type InspectorMetrics,
  type InspectorOptions,
  type SessionSink,
  type TapKind,
} from './inspector.js';
export { recordProtoJson, streamMessage } from './protojson.js';
