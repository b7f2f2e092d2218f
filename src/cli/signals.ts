/** What a second SIGINT/SIGTERM does: exit at once, as Conduit does (130/143). */
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
