/** Exponential backoff with jitter, shared by reconnects and write retries. */

/** `minMs` doubling per attempt up to `maxMs`, each scaled by a random 50-100% (jitter). */
export const backoff = (attempt: number, minMs: number, maxMs: number): number =>
  Math.min(maxMs, minMs * 2 ** attempt) * (0.5 + Math.random() / 2);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
