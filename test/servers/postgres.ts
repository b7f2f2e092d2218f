/**
 * A real PostgreSQL server for tests. `scripts/test.sh` starts one cluster for
 * the whole run and sets CONDUIT_TEST_PG_URL; a developer running one test file
 * alone gets a private cluster, started on first use through the same script
 * and stopped when the process exits.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/test-servers.sh', import.meta.url));

/** A role the test cluster makes authenticate with a password (every other role is trusted). */
export const PASSWORD_ROLE = { user: 'conduit_password_test', password: 'conduit-test-secret' } as const;

let started: Promise<string> | undefined;

/**
 * The URL of a running test server, e.g. `postgres://postgres@127.0.0.1:5433/postgres`.
 * Never skips: when no server can be started, the promise rejects and the test fails.
 */
export function postgresUrl(): Promise<string> {
  const fromEnv = process.env.CONDUIT_TEST_PG_URL;
  if (fromEnv !== undefined && fromEnv !== '') return Promise.resolve(fromEnv);
  started ??= startPrivate();
  return started;
}

/** Connection URL for `user` (optionally with a password) on the same server as `base`. */
export function urlAs(base: string, user: string, password?: string): string {
  const u = new URL(base);
  u.username = user;
  u.password = password ?? '';
  return u.toString();
}

function startPrivate(): Promise<string> {
  // A private state file, so stopping this cluster cannot touch one the test runner shares.
  const stateDir = mkdtempSync(join(tmpdir(), 'conduit-pg-state-'));
  const env = { ...process.env, CONDUIT_TEST_SERVERS_STATE: join(stateDir, 'postgres.env') };
  process.on('exit', () => {
    // 'exit' handlers must be synchronous.
    spawnSync('bash', [script, 'stop'], { env, stdio: 'ignore' });
    rmSync(stateDir, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    execFile('bash', [script, 'start'], { env }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`scripts/test-servers.sh start failed: ${err.message}\n${stderr}`));
        return;
      }
      const m = /^export CONDUIT_TEST_PG_URL=(\S+)$/m.exec(stdout);
      if (m?.[1] === undefined) {
        reject(new Error(`scripts/test-servers.sh start printed no CONDUIT_TEST_PG_URL:\n${stdout}\n${stderr}`));
        return;
      }
      resolve(m[1]);
    });
  });
}
