/**
 * Outcomes of keyed writes (the `Idempotency-Key` header), per shard: the
 * shard that commits a write records its outcome under the key in the same
 * storage transaction as the commit, so a repeat of the request is answered
 * with the first outcome instead of applying again. A key is remembered for
 * LIMITS.idempotencyWindowMs, and a shard keeps at most
 * LIMITS.idempotencyKeysPerShard of them (the alarm prunes the rest).
 * A batch coordinator runs repeats of a key one at a time (OneAtATime), so a
 * repeat that arrives while the first still runs waits and gets its outcome.
 */
import { BlazeError } from "../core/errors";

/** A request's key and a digest of what it asked for (the writes), to tell a repeat from a reuse. */
export interface Idempotency {
  key: string;
  fingerprint: string;
}

interface KeyRow extends Record<string, SqlStorageValue> {
  fingerprint: string;
  outcome: string;
  at: number;
}

export class IdempotencyStore {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * The outcome recorded for this key since `notBefore` (ms epoch), or null.
   * The same key with other writes is refused: INVALID_ARGUMENT, since
   * retrying cannot help (FAILED_PRECONDITION would be retried by
   * runTransaction-style loops).
   */
  find<T>(idem: Idempotency, notBefore: number): T | null {
    const row = this.sql.exec<KeyRow>(`SELECT fingerprint, outcome, at FROM idempotency WHERE key = ?`, idem.key).toArray()[0];
    if (!row || row.at < notBefore) return null;
    if (row.fingerprint !== idem.fingerprint) {
      throw new BlazeError(
        "INVALID_ARGUMENT",
        `Idempotency-Key ${JSON.stringify(asSent(idem.key))} was already used for a different request; use a new key for each distinct write`,
        { idempotencyKey: asSent(idem.key) },
      );
    }
    return JSON.parse(row.outcome) as T;
  }

  /** Records (or replaces) the outcome of a key; call it inside the commit's transaction. */
  record(idem: Idempotency, outcome: unknown, now: number): void {
    this.sql.exec(
      `INSERT INTO idempotency (key, fingerprint, outcome, at) VALUES (?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint, outcome = excluded.outcome, at = excluded.at`,
      idem.key, idem.fingerprint, JSON.stringify(outcome), now,
    );
  }

  /** Replaces a recorded outcome, keeping its time (a batch's outcome once its shards applied it). */
  update(key: string, outcome: unknown): void {
    this.sql.exec(`UPDATE idempotency SET outcome = ? WHERE key = ?`, JSON.stringify(outcome), key);
  }

  /** Forgets keys recorded before `before`, and all but the newest `keep`. */
  prune(before: number, keep: number): void {
    this.sql.exec(`DELETE FROM idempotency WHERE at < ?`, before);
    this.sql.exec(
      `DELETE FROM idempotency WHERE at < (SELECT at FROM idempotency ORDER BY at DESC LIMIT 1 OFFSET ?)`,
      keep - 1,
    );
  }
}

/** The key as the client sent it: the edge scopes keys to their caller as `<caller>\u0000<key>` (http/idempotency.ts). */
const asSent = (key: string) => key.slice(key.indexOf("\u0000") + 1);

/** Runs of one key go one after another (in memory: a restart ends every run anyway); runs without a key at once. */
export class OneAtATime<T> {
  private readonly last = new Map<string, Promise<T>>();

  run(key: string | undefined, body: () => Promise<T>): Promise<T> {
    if (key === undefined) return body();
    const before = this.last.get(key);
    const run = before ? before.then(body, body) : body();
    this.last.set(key, run);
    const forget = () => {
      if (this.last.get(key) === run) this.last.delete(key);
    };
    run.then(forget, forget);
    return run;
  }
}
