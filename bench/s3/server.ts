/**
 * The S3 server of bench/s3.bench.ts: a moto of its own, started by scripts/servers/s3.sh with a
 * private state file (so that its CPU is the bench's alone, and a test run that stops the shared
 * test server cannot end a run), and stopped at the end. Moto keeps every object in memory: the
 * bench empties what it wrote after each arm.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { root } from '../lib/harness.js';

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The moto_server process. */
  pid: number;
  stop: () => void;
}

export function startServer(): S3Server {
  const state = join(root, '.cache/bench-s3/s3.env');
  const env = { ...process.env, CONDUIT_TEST_S3_STATE: state };
  const script = join(root, 'scripts/servers/s3.sh');
  const out = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
  const exported = (name: string): string => {
    const v = new RegExp(`^export ${name}=(\\S+)$`, 'm').exec(out)?.[1];
    if (v === undefined) throw new Error(`scripts/servers/s3.sh start printed no ${name}:\n${out}`);
    return v;
  };
  const pid = Number(/^CONDUIT_TEST_S3_PID=(\d+)$/m.exec(readFileSync(state, 'utf8'))?.[1]);
  return {
    endpoint: exported('CONDUIT_TEST_S3_ENDPOINT'),
    accessKeyId: exported('CONDUIT_TEST_S3_ACCESS_KEY_ID'),
    secretAccessKey: exported('CONDUIT_TEST_S3_SECRET_ACCESS_KEY'),
    region: exported('CONDUIT_TEST_S3_REGION'),
    pid,
    stop: () => execFileSync('bash', [script, 'stop'], { stdio: 'inherit', env }),
  };
}

/** The environment the bench's child processes (the plain SDK loops) find the server in. */
export function serverEnv(s: S3Server): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CONDUIT_TEST_S3_ENDPOINT: s.endpoint,
    CONDUIT_TEST_S3_ACCESS_KEY_ID: s.accessKeyId,
    CONDUIT_TEST_S3_SECRET_ACCESS_KEY: s.secretAccessKey,
    CONDUIT_TEST_S3_REGION: s.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** A client built as the connector builds its own (path style, 6 attempts, standard retries). */
export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  return new S3Client({
    endpoint: env.CONDUIT_TEST_S3_ENDPOINT,
    region: env.CONDUIT_TEST_S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: env.CONDUIT_TEST_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.CONDUIT_TEST_S3_SECRET_ACCESS_KEY ?? '',
    },
    maxAttempts: 6,
    retryMode: 'standard',
  });
}

export interface Listed {
  key: string;
  size: number;
}

/** Every object under the prefix, in key order, from `startAfter` on. */
export async function listAll(s3: S3Client, bucket: string, prefix: string, startAfter = ''): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token !== undefined ? { ContinuationToken: token } : startAfter === '' ? {} : { StartAfter: startAfter }),
      }),
    );
    for (const o of res.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0 });
    token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out;
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Deletes every object of the bucket, then the bucket (moto frees their memory). */
export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
