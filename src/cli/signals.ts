/** Process-level behaviour of the CLI: a second signal exits at once; a running engine keeps the process open. */
import { ExitCode } from '../errors/codes.js';

/**
 * Exits now with 128+signal. `process.exit` is not enough: at exit, libuv joins
 * its thread pool, so one file-system call that never returns (a FIFO, a hung
 * network mount) would keep the process alive forever. Dying by the signal
 * itself (its default action, restored by removing our handlers) skips that,
 * and tells the parent shell the truth: $? is 130 or 143.
 */
export function exitAtOnce(sig: NodeJS.Signals): never {
  process.removeAllListeners(sig);
  try {
    process.kill(process.pid, sig);
  } catch {
    // Fall through to process.exit.
  }
  process.exit(sig === 'SIGINT' ? ExitCode.SigInt : ExitCode.SigTerm);
}

/**
 * Holds the process open until released. A running engine can be all promises
 * and no handles (every source idle, waiting to be stopped); Node would then
 * exit with code 13 in the middle of the run. Returns the release function.
 */
export function keepProcessAlive(): () => void {
  const timer = setInterval(() => undefined, 1 << 30);
  return () => clearInterval(timer);
}
