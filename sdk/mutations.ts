/**
 * Every write the SDK sends carries an `Idempotency-Key` (a fresh UUID per
 * mutation), so a retry can never apply it twice: the shard answers a repeat
 * with the first outcome (README, "Exactly-once writes"). A mutation that
 * fails with `unavailable` (the server's 503, or no answer at all) may or may
 * not have been applied; it is sent again with the same key, up to
 * MUTATION_ATTEMPTS times with backoff. Other errors are final.
 */
import type { Blaze } from "./database";
import { backoff, sleep } from "./backoff";
import { BlazeError } from "./errors";

/** Sends of one mutation before its `unavailable` error reaches the app. */
export const MUTATION_ATTEMPTS = 4;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/** A random UUID v4; `crypto.randomUUID` is missing outside secure contexts (plain-http pages). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One mutation over HTTP, keyed, retried while the answer is `unavailable`. */
export async function mutate<T = unknown>(db: Blaze, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const keyed = { ...headers, "Idempotency-Key": newIdempotencyKey() };
  for (let attempt = 0; ; attempt++) {
    try {
      return await db._request<T>(method, path, body, keyed);
    } catch (e) {
      if (!(e instanceof BlazeError && e.code === "unavailable") || attempt + 1 >= MUTATION_ATTEMPTS) throw e;
      await sleep(backoff(attempt, RETRY_MIN_MS, RETRY_MAX_MS));
    }
  }
}
