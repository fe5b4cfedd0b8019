/**
 * The intake replay log: the SHA-256 of every accepted signature, with the timestamp it was signed for. A
 * signature can be replayed only while its timestamp is inside the window, so rows well past the window
 * protect nothing and are purged as requests come in (at most once a minute per process).
 */
import type { Db } from '../../lib/db';
import { purgeSignatures } from '../../store/intake';

export { forgetSignature, recordSignature } from '../../store/intake';

const PURGE_EVERY_MS = 60_000;

/**
 * A purge of the log, to call as requests come in: it deletes signatures older than twice the window, at
 * most once a minute per process (how many it deleted; 0 when it did not run).
 */
export function replayLogPurger(db: Db, windowMs: number): () => Promise<number> {
  let last = 0;
  return async () => {
    const now = Date.now();
    if (now - last < PURGE_EVERY_MS) return 0;
    last = now;
    return purgeSignatures(db, 2 * windowMs);
  };
}
