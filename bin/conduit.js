#!/usr/bin/env -S node --max-semi-space-size=8
// The young generation is kept at 8 MB (V8's default grows it to 16): with records
// encoded straight into buffers most garbage dies young, and a smaller nursery
// keeps peak RSS of a busy pipeline under 150 MB at the same throughput
// (bench/engine.bench.ts). `npx conduit` and ./bin/conduit.js run through this line.
import '../dist/conduit.mjs';
