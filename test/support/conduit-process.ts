/**
 * Runs the built `conduit` CLI as a child process, the way a user does, and
 * collects what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CONDUIT_BIN = fileURLToPath(new URL('../../bin/conduit.js', import.meta.url));

export interface ConduitProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or 128+signal number when killed). */
  readonly exited: Promise<number>;
}

export function startConduit(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ConduitProcess {
  const child = spawn(process.execPath, [CONDUIT_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) =>
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2)),
    );
  });
  return { child, output: () => out, exited };
}

/** Runs conduit to completion and returns its exit code and output. */
export async function runConduit(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; output: string }> {
  const p = startConduit(args, opts);
  const code = await p.exited;
  return { code, output: p.output() };
}
