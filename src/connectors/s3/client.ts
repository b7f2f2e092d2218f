/**
 * The S3 client both sides share: built from the `aws.*` settings, with the SDK's standard retry
 * strategy (exponential backoff with jitter on throttling, 5xx and network errors), and the time
 * the server last said it was (the `Date` header), which the source needs to know which listed
 * changes are settled.
 */
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ConduitError } from '../../errors/conduit-error.js';
import type { Config } from '../../sdk/params.js';

/** Attempts per request, the first included (the SDK's default is 3). */
export const MAX_ATTEMPTS = 6;

export interface S3Settings {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly bucket: string;
  readonly url: string;
  readonly forcePathStyle: boolean;
}

export function s3Settings(config: Config): S3Settings {
  return {
    accessKeyId: config.string('aws.accessKeyId'),
    secretAccessKey: config.string('aws.secretAccessKey'),
    region: config.string('aws.region'),
    bucket: config.string('aws.bucket'),
    url: config.string('aws.url'),
    forcePathStyle: config.bool('aws.forcePathStyle'),
  };
}

/** An S3 client plus the server's clock as of its last answer. */
export class S3Connection {
  readonly client: S3Client;
  /** Server time (ms, whole seconds) from the newest response's Date header, and when it came (local ms). */
  private serverDate: { server: number; local: number } | undefined;

  constructor(readonly settings: S3Settings) {
    // The SDK warns on stderr, once per process, that releases after January 2027 need Node 22.
    // The version is pinned in package.json; the warning would only break clean CLI output.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    this.client = new S3Client({
      region: settings.region,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      ...(settings.url === '' ? {} : { endpoint: settings.url }),
      forcePathStyle: settings.forcePathStyle,
      maxAttempts: MAX_ATTEMPTS,
      retryMode: 'standard',
      // The SDK signs every body's SHA-256 (x-amz-content-sha256), which S3 checks: a CRC32 of the same body
      // on top (the default since 3.729) protects nothing more and costs ~0.2 ms per MB written.
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const date = (out.response as { headers?: Record<string, string> } | undefined)?.headers?.['date'];
        if (date !== undefined) {
          const server = Date.parse(date);
          if (!Number.isNaN(server)) this.serverDate = { server, local: Date.now() };
        }
        return out;
      },
      { step: 'deserialize', name: 'conduitServerDate' },
    );
  }

  /**
   * The server's time now, estimated from its last Date header (1 s resolution, rounded down) plus the
   * local time elapsed since; the local clock when the server sent none.
   */
  serverNow(): number {
    const d = this.serverDate;
    return d === undefined ? Date.now() : d.server + (Date.now() - d.local);
  }

  /** The server time of the last response itself (rounded down to the second), or the local clock. */
  lastServerDate(): number {
    return this.serverDate?.server ?? Math.floor(Date.now() / 1000) * 1000;
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** The S3 error name (`NoSuchKey`, `PreconditionFailed`, …) or HTTP status of an SDK error. */
export function s3ErrorName(err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name;
  if (err !== null && typeof err === 'object' && 'name' in err) return String(err.name);
  return undefined;
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** An SDK failure as a ConduitError; a missing bucket or a rejected credential names its parameter. */
export function s3Error(code: string, what: string, bucket: string, err: unknown): ConduitError {
  const name = s3ErrorName(err) ?? 'Error';
  const status = httpStatus(err);
  const detail = `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${(err as Error).message}`;
  if (name === 'NoSuchBucket' || (name === 'NotFound' && status === 404)) {
    return new ConduitError(code, `s3: bucket "${bucket}" does not exist (${what})`, {
      cause: err,
      configPath: '/aws.bucket',
      retryable: false,
      suggestion: 'create the bucket, or fix aws.bucket (and aws.region / aws.url)',
    });
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || status === 403) {
    return new ConduitError(code, `s3: access denied to bucket "${bucket}" (${what}): ${name}`, {
      cause: err,
      configPath: '/aws.accessKeyId',
      retryable: false,
      suggestion: 'check aws.accessKeyId, aws.secretAccessKey and the permissions of that key on the bucket',
    });
  }
  return new ConduitError(code, `s3: ${what} failed: ${detail}`, {
    cause: err,
    retryable: true,
  });
}

/** Whether the object (version) is gone or changed since it was listed. */
export function isGoneOrChanged(err: unknown): boolean {
  const name = s3ErrorName(err);
  const status = httpStatus(err);
  return (
    name === 'NoSuchKey' ||
    name === 'NoSuchVersion' ||
    name === 'PreconditionFailed' ||
    name === 'InvalidRange' ||
    status === 404 ||
    status === 412 ||
    status === 416
  );
}
