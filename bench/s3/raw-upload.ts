/**
 * The baseline of the upload phase of bench/s3.bench.ts: the AWS SDK putting objects of given sizes
 * one after the other, in a plain loop (no records, no encoding: the bodies are slices of one
 * buffer made before the loop). The server is CONDUIT_TEST_S3_*.
 *
 * Usage: node --import tsx bench/s3/raw-upload.ts <bucket> <prefix> <sizes.json> <content-type>
 * Prints one JSON line at the end: { objects, bytes, maxRssKb, cpuUs }.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { clientFromEnv } from './server.js';

const [bucket = '', prefix = '', sizesFile = '', contentType = 'application/octet-stream'] = process.argv.slice(2);
const sizes = JSON.parse(readFileSync(sizesFile, 'utf8')) as number[];
const body = Buffer.from(randomBytes(Math.ceil(Math.max(1, ...sizes) / 2)).toString('hex'));
const s3 = clientFromEnv();
let bytes = 0;
for (let i = 0; i < sizes.length; i++) {
  const size = sizes[i] as number;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${prefix}${String(i).padStart(8, '0')}`,
      Body: body.subarray(0, size),
      ContentType: contentType,
    }),
  );
  bytes += size;
}
s3.destroy();
const usage = process.resourceUsage();
console.log(
  JSON.stringify({
    objects: sizes.length,
    bytes,
    maxRssKb: usage.maxRSS,
    cpuUs: usage.userCPUTime + usage.systemCPUTime,
  }),
);
