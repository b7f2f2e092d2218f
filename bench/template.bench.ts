/**
 * Micro-benchmark for Go templates over OpenCDC records.
 * Run: node --import tsx bench/template.bench.ts
 */
import { compileTemplate } from '../src/template/index.js';
import type { OpenCDCRecord } from '../src/opencdc/record.js';

const N = 1_000_000;

const records: OpenCDCRecord[] = Array.from({ length: 1024 }, (_, i) => ({
  position: Buffer.from(String(i)),
  operation: 'create',
  metadata: { kind: i % 2 === 0 ? 'a' : 'b', 'opencdc.collection': 'users' },
  key: Buffer.from(`k${i}`),
  payload: { before: null, after: { id: i, name: `user-${i}`, email: `u${i}@example.com` } },
}));

function bench(label: string, source: string): void {
  const t = compileTemplate(source);
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += t.execute(records[i & 1023]).length; // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += t.execute(records[i & 1023]).length;
  const ns = Number(process.hrtime.bigint() - start);
  const perSec = Math.round((N / ns) * 1e9);
  console.log(
    `${label.padEnd(48)} ${perSec.toLocaleString('en-US').padStart(12)} exec/s  (${(ns / N).toFixed(0)} ns/exec, sink ${sink})`,
  );
}

bench('{{ .Payload.After.name }}', '{{ .Payload.After.name }}');
bench('{{ eq .Metadata.kind "a" }}', '{{ eq .Metadata.kind "a" }}');
bench('constant "users"', 'users');
bench('{{ index .Metadata "opencdc.collection" }}', '{{ index .Metadata "opencdc.collection" }}');
bench('topic-{{ .Payload.After.name | upper }}', 'topic-{{ .Payload.After.name | upper }}');
bench('{{ toJson .Payload.After }}', '{{ toJson .Payload.After }}');
