/**
 * Errors on the wire: a google.rpc.Status (`{code, message, details}`) with a
 * google.rpc.ErrorInfo detail whose reason is the stable error code, as
 * Conduit sends them (domain `conduit`, metadata `configPath` and
 * `suggestion`). The HTTP status follows grpc-gateway's mapping of the gRPC
 * code, so a client written for Conduit reads the same answers: a state that
 * forbids an action (starting a running pipeline, editing one) is
 * FAILED_PRECONDITION, HTTP 400; a name taken is ALREADY_EXISTS, HTTP 409.
 */
import { Code, codeInfo } from '../errors/codes.js';
import { ConduitError, ValidationErrors } from '../errors/conduit-error.js';
import { redactText } from '../log/redact.js';
import { EditCode } from '../engine/engine.js';
import { PlanCode } from '../engine/plan.js';

/**
 * Codes of the API itself. To be registered in src/errors/codes.ts (all 'input'
 * except where noted); the lead moves them.
 */
/** The API's own error codes (registered in errors/codes.ts). */
export const ApiCode = {
  Unauthenticated: Code.ApiUnauthenticated,
  BodyMalformed: Code.ApiBodyMalformed,
  BodyTooLarge: Code.ApiBodyTooLarge,
  RouteNotFound: Code.ApiRouteNotFound,
  MethodNotAllowed: Code.ApiMethodNotAllowed,
  NotImplemented: Code.ApiNotImplemented,
  RedactedSetting: Code.ApiRedactedSetting,
  OriginNotAllowed: Code.ApiOriginNotAllowed,
  WebSocketRequired: Code.ApiWebSocketRequired,
} as const;

/** gRPC status codes (google.rpc.Code). */
export const Grpc = {
  InvalidArgument: 3,
  NotFound: 5,
  AlreadyExists: 6,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

/** grpc-gateway's HTTP status for each gRPC code used here. */
const HTTP_OF_GRPC: Record<number, number> = {
  3: 400,
  5: 404,
  6: 409,
  8: 429,
  9: 400,
  12: 501,
  13: 500,
  14: 503,
  16: 401,
};

/** The gRPC code of each error code that is not simply "invalid argument" (input) or "internal". */
const GRPC_OF_CODE: Record<string, number> = {
  [Code.PipelineNotFound]: Grpc.NotFound,
  [EditCode.ConnectorNotFound]: Grpc.NotFound,
  [EditCode.ProcessorNotFound]: Grpc.NotFound,
  [ApiCode.RouteNotFound]: Grpc.NotFound,
  [EditCode.NameExists]: Grpc.AlreadyExists,
  [Code.PipelineRunning]: Grpc.FailedPrecondition,
  [Code.PipelineNotRunning]: Grpc.FailedPrecondition,
  [Code.PipelineInvalid]: Grpc.FailedPrecondition,
  [EditCode.ProvisionedByConfig]: Grpc.FailedPrecondition,
  [EditCode.HasConnectors]: Grpc.FailedPrecondition,
  [EditCode.HasProcessors]: Grpc.FailedPrecondition,
  [EditCode.ConnectorHasProcessors]: Grpc.FailedPrecondition,
  [PlanCode.PlanStale]: Grpc.FailedPrecondition,
  [PlanCode.RestartNotAllowed]: Grpc.FailedPrecondition,
  [ApiCode.Unauthenticated]: Grpc.Unauthenticated,
  [ApiCode.BodyTooLarge]: Grpc.ResourceExhausted,
  [ApiCode.NotImplemented]: Grpc.Unimplemented,
  [ApiCode.MethodNotAllowed]: Grpc.Unimplemented,
  [ApiCode.OriginNotAllowed]: Grpc.InvalidArgument,
};

/** Where the HTTP status is not grpc-gateway's (HTTP has a better word for it). */
const HTTP_OF_CODE: Record<string, number> = {
  [ApiCode.BodyTooLarge]: 413,
  [ApiCode.MethodNotAllowed]: 405,
  [ApiCode.OriginNotAllowed]: 403,
  // Conduit's ApplyPipeline documents 412 for a stale plan hash.
  [PlanCode.PlanStale]: 412,
};

/** API codes are input errors; everything not registered falls back to its registered kind. */
const API_INPUT = new Set<string>([...Object.values(ApiCode), ...Object.values(EditCode), ...Object.values(PlanCode)]);

export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly details: ReadonlyArray<Record<string, unknown>>;
}

export function grpcCodeOf(code: string): number {
  const explicit = GRPC_OF_CODE[code];
  if (explicit !== undefined) return explicit;
  if (API_INPUT.has(code)) return Grpc.InvalidArgument;
  switch (codeInfo(code).kind) {
    case 'input':
      return Grpc.InvalidArgument;
    case 'environment':
      return Grpc.Unavailable;
    default:
      return Grpc.Internal;
  }
}

export function httpStatusOf(code: string): number {
  return HTTP_OF_CODE[code] ?? HTTP_OF_GRPC[grpcCodeOf(code)] ?? 500;
}

/**
 * The answer for an error: its HTTP status and body. Messages pass the secret
 * redactor; several validation problems become several ErrorInfo details.
 */
export function toStatus(err: unknown): { http: number; body: RpcStatus } {
  const e = err instanceof ConduitError ? err : new ConduitError(Code.Internal, 'internal error', { cause: err });
  const all = e instanceof ValidationErrors ? e.errors : [e];
  const details = all.map((x) => {
    const metadata: Record<string, string> = {};
    if (x.configPath !== undefined && x.configPath !== '') metadata['configPath'] = x.configPath;
    if (x.suggestion !== undefined) metadata['suggestion'] = redactText(x.suggestion);
    if (x.file !== undefined) metadata['file'] = x.file;
    if (x !== e || all.length > 1) metadata['message'] = redactText(x.message);
    return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: x.code, domain: 'conduit', metadata };
  });
  const message =
    e instanceof ValidationErrors && e.errors.length > 1
      ? `${e.errors.length} problems: ${e.errors.map((x) => x.message).join('; ')}`
      : e.message;
  return { http: httpStatusOf(e.code), body: { code: grpcCodeOf(e.code), message: redactText(message), details } };
}
