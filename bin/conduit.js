#!/usr/bin/env -S node --max-semi-space-size=16
// A 16 MB young generation (V8 grows it from 1 MB under load): records live from
// read to write, and a nursery this size lets most of them die there instead of
// being promoted. Measured with bench/engine.bench.ts against 8 and 12 MB: fastest,
// and peak RSS stays under 150 MB with the 3 MiB in-flight budget.
// `npx conduit` and ./bin/conduit.js run through this line.
import '../dist/conduit.mjs';
