/** Helpers shared by the provisioning tests. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConduitError } from '../../errors/conduit-error.js';

export const TESTDATA = dirname(fileURLToPath(import.meta.url));

export function testdata(...parts: string[]): string {
  return join(TESTDATA, ...parts);
}

/** The parts of an error a test asserts on. */
export function place(e: ConduitError | undefined): Record<string, unknown> {
  return { code: e?.code, configPath: e?.configPath, file: e?.file, line: e?.line, column: e?.column };
}
