import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '../errors/codes.js';
import { ConduitError, ValidationErrors } from '../errors/conduit-error.js';
import { registerSecret } from '../log/redact.js';
import { DEFINITIONS } from './definitions.js';
import { conform, ref } from './schema.js';
import { parseAddress } from './settings.js';
import { ApiCode, toStatus } from './status.js';

function problem(value: unknown, name: string): ConduitError {
  try {
    conform(value, ref(name), DEFINITIONS);
  } catch (e) {
    assert.ok(e instanceof ConduitError);
    return e;
  }
  assert.fail(`${JSON.stringify(value)} passed as ${name}`);
}

describe('request bodies (proto3 JSON mapping)', () => {
  it('refuses fields named like Object.prototype members, and keeps a "__proto__" map key as a key', () => {
    for (const k of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const body = JSON.parse(`{"config":{"name":"a"},${JSON.stringify(k)}:{"x":1}}`) as unknown;
      assert.equal(problem(body, 'v1CreatePipelineRequest').code, Code.ConfigFieldUnknown, k);
    }
    const settings = JSON.parse('{"settings":{"__proto__":{"path":"/etc/x"},"a":"b"}}') as unknown;
    assert.equal(problem(settings, 'v1ConnectorConfig').configPath, '/settings/__proto__');
    const ok = conform(JSON.parse('{"__proto__":"v"}'), { type: 'object', additionalProperties: true }, DEFINITIONS);
    assert.deepEqual(Object.keys(ok as object), ['__proto__']);
    assert.equal(Object.getPrototypeOf(ok), Object.prototype);
  });

  it('reads 64-bit integers from strings or numbers, and int32 from numbers or strings', () => {
    assert.deepEqual(conform({ windowSize: '10', windowNackThreshold: 2 }, ref('v1PipelineDLQ'), DEFINITIONS), {
      windowSize: 10,
      windowNackThreshold: 2,
    });
    assert.deepEqual(conform({ workers: '3' }, ref('v1ProcessorConfig'), DEFINITIONS), { workers: 3 });
    assert.equal(problem({ windowSize: '-1' }, 'v1PipelineDLQ').configPath, '/windowSize');
    assert.equal(problem({ windowSize: 1.5 }, 'v1PipelineDLQ').configPath, '/windowSize');
    assert.equal(problem({ workers: 2 ** 31 }, 'v1ProcessorConfig').configPath, '/workers');
  });

  it('reads enums by name or number, and null as absent', () => {
    assert.deepEqual(conform({ type: 1, plugin: 'p', pipelineId: 'x' }, ref('v1CreateConnectorRequest'), DEFINITIONS), {
      type: 'TYPE_SOURCE',
      plugin: 'p',
      pipelineId: 'x',
    });
    assert.equal(
      problem({ type: 'SOURCE', plugin: 'p', pipelineId: 'x' }, 'v1CreateConnectorRequest').code,
      Code.ConfigFieldInvalid,
    );
    assert.deepEqual(conform({ force: null }, ref('PipelineServiceStopPipelineBody'), DEFINITIONS), {});
  });

  it('names the field of every problem: wrong type, unknown, missing, map values', () => {
    const e = problem({ config: { settings: { a: 1 } } }, 'ConnectorServiceUpdateConnectorBody');
    assert.equal(e.configPath, '/config/settings/a');
    const unknown = problem({ config: {}, plugn: 'x' }, 'ConnectorServiceUpdateConnectorBody');
    assert.equal(unknown.code, Code.ConfigFieldUnknown);
    assert.equal(unknown.suggestion, 'did you mean "plugin"?');
    const missing = problem({ type: 'TYPE_SOURCE', plugin: 'p' }, 'v1CreateConnectorRequest');
    assert.equal(missing.code, Code.ConfigFieldRequired);
    assert.equal(missing.configPath, '/pipelineId');
    assert.equal(problem({ 'a/b': 1 }, 'v1PipelineConfig').configPath, '/a~1b');
  });

  it('ignores read-only fields sent back (an answer edited and returned)', () => {
    assert.deepEqual(conform({ id: 'x', connectorIds: ['a'], config: { name: 'n' } }, ref('v1Pipeline'), DEFINITIONS), {
      config: { name: 'n' },
    });
  });
});

describe('errors on the wire', () => {
  it('maps codes to gRPC codes and HTTP statuses as grpc-gateway does for Conduit', () => {
    const cases: Array<[string, number, number]> = [
      [Code.PipelineNotFound, 5, 404],
      [Code.PipelineRunning, 9, 400],
      [Code.ParamRequired, 3, 400],
      ['pipeline.name_exists', 6, 409],
      [ApiCode.Unauthenticated, 16, 401],
      [ApiCode.BodyTooLarge, 8, 413],
      [ApiCode.NotImplemented, 12, 501],
      [Code.StoreUnreachable, 14, 503],
      [Code.Internal, 13, 500],
    ];
    for (const [code, grpc, http] of cases) {
      const s = toStatus(new ConduitError(code, 'm', { suggestion: 's' }));
      assert.deepEqual([s.body.code, s.http], [grpc, http], code);
      assert.equal(s.body.details[0]?.['reason'], code);
    }
  });

  it('gives every problem of a validation its own detail, and never a secret', () => {
    registerSecret('api-secret-value-xyz');
    const s = toStatus(
      new ValidationErrors([
        new ConduitError(Code.ParamRequired, 'a missing', { configPath: '/config/settings/a', suggestion: 'set a' }),
        new ConduitError(Code.ParamValidation, 'b is api-secret-value-xyz', { configPath: '/config/settings/b' }),
      ]),
    );
    assert.equal(s.http, 400);
    assert.deepEqual(
      s.body.details.map((d) => (d['metadata'] as Record<string, string>)['configPath']),
      ['/config/settings/a', '/config/settings/b'],
    );
    assert.ok(!JSON.stringify(s.body).includes('api-secret-value-xyz'));
  });

  it('hides what an unexpected error says', () => {
    const s = toStatus(new Error('internal detail'));
    assert.equal(s.http, 500);
    assert.equal(s.body.message, 'internal error');
  });
});

describe('api.http.address', () => {
  it('parses host:port forms', () => {
    assert.deepEqual(parseAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseAddress('[::1]:9'), { host: '::1', port: 9 });
    assert.throws(() => parseAddress('8080'), { code: Code.EngineConfigInvalid });
    assert.throws(() => parseAddress('h:99999'), { code: Code.EngineConfigInvalid });
  });
});
