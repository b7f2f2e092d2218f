/**
 * The baseline of the download phase of bench/s3.bench.ts: the AWS SDK listing the objects under a
 * prefix (ListObjectsV2, 1,000 a page) and getting them one after the other, in a plain loop, each
 * body written to a file as one line (the bench's objects hold no newline). The server is
 * CONDUIT_TEST_S3_*.
 *
 * Usage: node --import tsx bench/s3/raw-download.ts <bucket> <prefix> <out-file>
 * Prints one JSON line at the end: { objects, bytes, maxRssKb, cpuUs }.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { clientFromEnv } from './server.js';

const [bucket = '', prefix = '', outFile = ''] = process.argv.slice(2);
const s3 = clientFromEnv();
const fd = openSync(outFile, 'a');
const newline = Buffer.from('\n');
let objects = 0;
let bytes = 0;
let token: string | undefined;
do {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
  for (const o of page.Contents ?? []) {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
    const body = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
    writeSync(fd, Buffer.concat([body, newline]));
    objects++;
    bytes += body.byteLength;
  }
  token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
} while (token !== undefined);
fdatasyncSync(fd);
closeSync(fd);
s3.destroy();
const usage = process.resourceUsage();
console.log(JSON.stringify({ objects, bytes, maxRssKb: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime }));
