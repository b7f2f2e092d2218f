/**
 * For tests of the CLI's client commands: `conduit run` (from source, through
 * tsx) on one pipeline file with the HTTP API on a free port and a token, and
 * client commands run against it as child processes, the way a user runs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../src/sdk/testing.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class CliServer {
  /** The temporary folder the server and the commands run in. */
  dir = '';
  /** host:port of the API. */
  address = '';
  private out = '';
  private readonly children: ChildProcess[] = [];

  constructor(readonly token: string) {}

  /** Everything the server printed so far. */
  get serverOutput(): string {
    return this.out;
  }

  /** Writes the pipeline file (the text may use `${DIR}` for the folder), starts the server, waits for its API. */
  async start(prefix: string, pipelineYaml: (dir: string) => string): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), prefix));
    await writeFile(join(this.dir, 'p.yaml'), pipelineYaml(this.dir));
    const server = this.spawn(
      [
        'run',
        '--pipelines.path',
        join(this.dir, 'p.yaml'),
        '--db.type',
        'inmemory',
        '--log.format',
        'json',
        '--api.http.address',
        '127.0.0.1:0',
      ],
      { CONDUIT_API_HTTP_AUTH_TOKEN: this.token },
    );
    server.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.address = await waitFor(
      () => {
        for (const line of this.out.split('\n')) {
          if (line.includes('HTTP API listening')) return (JSON.parse(line) as { address: string }).address;
        }
        return undefined;
      },
      { timeoutMs: 20_000, message: 'the API listening' },
    );
  }

  /** Any conduit command, in the folder, with these extra environment variables. */
  spawn(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: this.dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    return child;
  }

  /** Runs one client command against the server (the token in the environment unless `env` says otherwise). */
  async run(args: string[], env: NodeJS.ProcessEnv = { CONDUIT_API_HTTP_AUTH_TOKEN: this.token }): Promise<Run> {
    const child = this.spawn([...args, '--api.http.address', this.address], env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 128)));
    return { code, stdout, stderr };
  }

  /** Kills what is still running and removes the folder. */
  async stop(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
