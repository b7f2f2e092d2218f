/**
 * Test helpers of the s3 connector: the S3 server the tests talk to (moto, started by
 * scripts/servers/s3.sh), fresh buckets, and a fault-injecting HTTP proxy that stands in front of
 * the server and answers chosen requests with errors, as S3 does under load (503 SlowDown,
 * 500 InternalError) or when a key is not allowed (403 AccessDenied).
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export interface S3Env {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const script = fileURLToPath(new URL('../../../scripts/servers/s3.sh', import.meta.url));
let server: Promise<S3Env> | undefined;

/** The server scripts/test.sh exported (CONDUIT_TEST_S3_*); a test file run alone starts a private one. */
export function s3Env(): Promise<S3Env> {
  const e = process.env;
  if (e.CONDUIT_TEST_S3_ENDPOINT) {
    return Promise.resolve({
      endpoint: e.CONDUIT_TEST_S3_ENDPOINT,
      accessKeyId: e.CONDUIT_TEST_S3_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: e.CONDUIT_TEST_S3_SECRET_ACCESS_KEY ?? 'test',
      region: e.CONDUIT_TEST_S3_REGION ?? 'us-east-1',
    });
  }
  server ??= startPrivate();
  return server;
}

function startPrivate(): Promise<S3Env> {
  const stateDir = mkdtempSync(join(tmpdir(), 'conduit-s3-state-'));
  const env = { ...process.env, CONDUIT_TEST_S3_STATE: join(stateDir, 's3.env') };
  process.on('exit', () => {
    spawnSync('bash', [script, 'stop'], { env, stdio: 'ignore' });
    rmSync(stateDir, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    execFile('bash', [script, 'start'], { env }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`scripts/servers/s3.sh start failed: ${err.message}\n${stderr}`));
      const get = (name: string) => new RegExp(`^export ${name}=(\\S+)$`, 'm').exec(stdout)?.[1] ?? '';
      resolve({
        endpoint: get('CONDUIT_TEST_S3_ENDPOINT'),
        accessKeyId: get('CONDUIT_TEST_S3_ACCESS_KEY_ID'),
        secretAccessKey: get('CONDUIT_TEST_S3_SECRET_ACCESS_KEY'),
        region: get('CONDUIT_TEST_S3_REGION'),
      });
    });
  });
}

const clients: S3Client[] = [];

/** Destroys every client `client` made (call it in an `after` hook). */
export function destroyClients(): void {
  for (const c of clients.splice(0)) c.destroy();
}

/** A plain SDK client of the test server (not through any proxy). */
export async function client(): Promise<S3Client> {
  const env = await s3Env();
  const c = new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
  });
  clients.push(c);
  return c;
}

let bucketSeq = 0;

/** A new bucket (versioned unless told otherwise) and the connector settings that point at it. */
export async function freshBucket(
  versioned = true,
): Promise<{ s3: S3Client; bucket: string; settings: Record<string, string> }> {
  const env = await s3Env();
  const s3 = await client();
  const bucket = `t-${process.pid}-${Date.now().toString(36)}-${++bucketSeq}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioned) {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  return {
    s3,
    bucket,
    settings: {
      'aws.accessKeyId': env.accessKeyId,
      'aws.secretAccessKey': env.secretAccessKey,
      'aws.region': env.region,
      'aws.bucket': bucket,
      'aws.url': env.endpoint,
      'aws.forcePathStyle': 'true',
      pollingPeriod: '100ms',
    },
  };
}

export async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys.sort();
}

// ---------------------------------------------------------------------------------------------
// The fault proxy.

/** The S3 operation a path-style request is, from its method, path and query. */
export function operationOf(method: string, url: string): { op: string; bucket: string } {
  const u = new URL(url, 'http://proxy');
  const [bucket = '', ...key] = u.pathname.split('/').slice(1);
  const q = u.searchParams;
  if (key.length === 0 || key.join('/') === '') {
    if (method === 'HEAD') return { op: 'HeadBucket', bucket };
    if (method === 'GET' && q.has('versions')) return { op: 'ListObjectVersions', bucket };
    if (method === 'GET' && q.get('list-type') === '2') return { op: 'ListObjectsV2', bucket };
    if (method === 'GET' && !q.has('versioning') && !q.has('location')) return { op: 'ListObjects', bucket };
    return { op: `${method} bucket?${[...q.keys()].join('&')}`, bucket };
  }
  if (method === 'PUT' && q.has('partNumber')) return { op: 'UploadPart', bucket };
  if (method === 'POST' && q.has('uploads')) return { op: 'CreateMultipartUpload', bucket };
  if (method === 'POST' && q.has('uploadId')) return { op: 'CompleteMultipartUpload', bucket };
  if (method === 'DELETE' && q.has('uploadId')) return { op: 'AbortMultipartUpload', bucket };
  const byMethod: Record<string, string> = {
    PUT: 'PutObject',
    GET: 'GetObject',
    HEAD: 'HeadObject',
    DELETE: 'DeleteObject',
  };
  return { op: byMethod[method] ?? `${method} object`, bucket };
}

export interface Fault {
  /** The S3 operation (see operationOf) the fault applies to. */
  readonly op: string;
  /** Only requests to this bucket (default: any). */
  readonly bucket?: string;
  /** The first request of the operation that fails, counting every request of it through the proxy (default 1). */
  readonly from?: number;
  /** How many requests fail from there on (Infinity: all). */
  readonly times: number;
  readonly status: number;
  /** The S3 error code in the XML body (not sent for HEAD, as S3 does not). */
  readonly code: string;
  /**
   * When true the request reaches the server, which carries it out, and only its answer is replaced:
   * a lost answer. Otherwise the server never sees it (throttling, a refusal).
   */
  readonly afterServer?: boolean;
}

/** An HTTP proxy in front of the S3 server that fails chosen requests. */
export class FaultProxy {
  /** Requests seen, by operation (whether failed or passed). */
  readonly seen = new Map<string, number>();
  /** Requests failed, by operation. */
  readonly failed = new Map<string, number>();
  /** The headers of the last request of each operation. */
  readonly lastHeaders = new Map<string, IncomingHttpHeaders>();
  private readonly faults: Fault[] = [];
  private readonly server: Server;
  private target: URL | undefined;

  private constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** Starts a proxy on 127.0.0.1 in front of `endpoint`. */
  static async start(endpoint: string): Promise<FaultProxy> {
    const p = new FaultProxy();
    p.target = new URL(endpoint);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds a fault; a request fails by the first fault added that matches it. */
  fail(fault: Fault): this {
    this.faults.push(fault);
    return this;
  }

  count(map: 'seen' | 'failed', op: string): number {
    return this[map].get(op) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const { op, bucket } = operationOf(req.method ?? 'GET', req.url ?? '/');
    const n = this.count('seen', op) + 1;
    this.seen.set(op, n);
    this.lastHeaders.set(op, req.headers);
    const fault = this.faults.find(
      (f) => f.op === op && (f.bucket ?? bucket) === bucket && n >= (f.from ?? 1) && n < (f.from ?? 1) + f.times,
    );
    if (fault !== undefined) this.failed.set(op, this.count('failed', op) + 1);
    if (fault !== undefined && fault.afterServer !== true) {
      // Read the request through before answering, as a server does.
      req.resume();
      req.on('end', () => this.answerError(req, res, fault));
      return;
    }
    const target = this.target as URL;
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        if (fault !== undefined) {
          upRes.resume();
          upRes.on('end', () => this.answerError(req, res, fault));
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (err) => res.destroy(err));
    req.pipe(up);
  }

  private answerError(req: IncomingMessage, res: ServerResponse, fault: Fault): void {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const body =
      req.method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code>` +
          `<Message>injected by the test proxy</Message><RequestId>${requestId}</RequestId></Error>`;
    res.writeHead(fault.status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
      date: new Date().toUTCString(),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
