#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=100
// A 16 MB young generation (V8 grows it from 1 MB under load): records live from
// read to write, and a nursery this size lets most of them die there instead of
// being promoted. Measured with bench/engine.bench.ts against 8 and 12 MB: fastest,
// and peak RSS stays under 150 MB with the 3 MiB in-flight budget.
// --heap-growing-percent=100: after a mark-compact the old generation may grow to 2x
// the live heap before the next one, not V8's up to 4x (its factor on a machine with a
// large heap limit). Records and positions in flight outlive two scavenges and are
// promoted; with a 20-30 MB live heap, ~80 MB of them piled up as garbage (with the
// Buffers they hold, freed only by a mark-compact) and peak RSS reached 210-245 MB in
// bench/postgres.bench.ts and bench/kafka.bench.ts. With 2x: 130-180 MB, for ~2-5%
// of a core in more mark-compacts (1.5x: 10-20 MB less, twice that cost). No effect
// on bench/engine.bench.ts or bench/processors.bench.ts throughput (their peak RSS fell).
// `npx conduit` and ./bin/conduit.js run through this line.
import '../dist/conduit.mjs';
