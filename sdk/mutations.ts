/**
 * How the SDK sends writes.
 *
 * Exactly once: every mutation carries an `Idempotency-Key` (a fresh UUID),
 * so sending it again can never apply it twice; the shard answers a repeat
 * with the first outcome (README, "Exactly-once writes"). A mutation answered
 * `unavailable` by the server (it may or may not have been applied) is sent
 * again with the same key, up to MUTATION_ATTEMPTS times with backoff.
 *
 * Offline: a mutation that gets no answer at all (a network failure) waits in
 * the database's write queue, in memory, with its key; so does every mutation
 * made while the queue is not empty, so they go out in the order they were
 * made. The queue sends its head again with backoff (and at once when the
 * listen socket reconnects), and each promise settles when the server
 * answers, as Firestore's do. Concurrent writes already in flight when the
 * connection failed have no order between them, as online.
 */
import type { Blaze } from "./database";
import { backoff, sleep } from "./backoff";
import { BlazeError } from "./errors";

/** Sends of one mutation answered `unavailable` by the server before that error reaches the app. */
export const MUTATION_ATTEMPTS = 4;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;
/** The write queue tries the server again after 250 ms doubling to 5 s (and on a listen-socket reconnect). */
const OFFLINE_MIN_MS = 250;
const OFFLINE_MAX_MS = 5_000;

/** A random UUID v4; `crypto.randomUUID` is missing outside secure contexts (plain-http pages). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

type Answer<T> = { status: number; body: T };

interface Mutation {
  /** Order of the calls that made them. */
  seq: number;
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

interface Waiting extends Mutation {
  resolve(answer: Answer<unknown>): void;
  reject(e: unknown): void;
}

let made = 0;

/** One mutation: keyed, retried while the server answers `unavailable`, queued while it cannot be reached. */
export async function mutate<T = unknown>(db: Blaze, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const m: Mutation = { seq: made++, method, path, body, headers: { ...headers, "Idempotency-Key": newIdempotencyKey() } };
  const queued = db._writes as WriteQueue | null;
  if (queued && queued.size > 0) return queued.add(m) as Promise<Answer<T>>;
  try {
    return await send<T>(db, m);
  } catch (e) {
    if (!isOffline(e)) throw e;
    return queueOf(db).add(m) as Promise<Answer<T>>;
  }
}

const isOffline = (e: unknown) => e instanceof BlazeError && e.code === "unavailable" && (e.details as { offline?: boolean } | undefined)?.offline === true;

/** Sends one mutation; a server `unavailable` is sent again with the same key, a network failure is thrown to the queue. */
async function send<T>(db: Blaze, m: Mutation): Promise<Answer<T>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db._request<T>(m.method, m.path, m.body, m.headers);
    } catch (e) {
      if (isOffline(e) || !(e instanceof BlazeError && e.code === "unavailable") || attempt + 1 >= MUTATION_ATTEMPTS) throw e;
      await sleep(backoff(attempt, RETRY_MIN_MS, RETRY_MAX_MS));
    }
  }
}

function queueOf(db: Blaze): WriteQueue {
  db._writes ??= new WriteQueue(db);
  return db._writes as WriteQueue;
}

/** Mutations waiting for the server, in the order they were made; one in flight at a time. */
export class WriteQueue {
  private readonly waiting: Waiting[] = [];
  private draining = false;
  private closed = false;
  private wakeUp: (() => void) | null = null;

  constructor(private readonly db: Blaze) {}

  get size(): number {
    return this.waiting.length;
  }

  add(m: Mutation): Promise<Answer<unknown>> {
    return new Promise((resolve, reject) => {
      const w: Waiting = { ...m, resolve, reject };
      const at = this.waiting.findIndex((x) => x.seq > m.seq);
      // In call order, but never ahead of the head: it may be in flight.
      this.waiting.splice(at < 0 ? this.waiting.length : Math.max(at, 1), 0, w);
      void this.drain();
    });
  }

  /** The server may be reachable again (the listen socket reconnected): try the head now. */
  wake(): void {
    this.wakeUp?.();
  }

  /** terminate(): every waiting mutation fails. */
  close(): void {
    this.closed = true;
    const left = this.waiting.splice(0);
    for (const w of left) w.reject(new BlazeError("failed-precondition", "The client has already been terminated."));
    this.wakeUp?.();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let attempt = 0; this.waiting.length > 0 && !this.closed; ) {
        const head = this.waiting[0];
        try {
          const answer = await send(this.db, head);
          if (this.waiting[0] === head) this.waiting.shift();
          head.resolve(answer);
          attempt = 0;
        } catch (e) {
          if (this.closed) return;
          if (isOffline(e)) {
            await this.pause(backoff(attempt++, OFFLINE_MIN_MS, OFFLINE_MAX_MS));
            continue;
          }
          if (this.waiting[0] === head) this.waiting.shift();
          head.reject(e);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
