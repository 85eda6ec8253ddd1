/**
 * Two-phase commit for batches that span shards. The coordinator is the
 * lowest-numbered participating shard; its record of the transaction is the
 * durable intent, and writing `committed` there is the commit point:
 *
 *   preparing --all prepared--> committed --all applied--> (row deleted)
 *       \--any prepare failed--> aborted
 *
 * A crash or error anywhere resolves to all or nothing: a committed record is
 * re-driven from the alarm until every participant applied it; a participant
 * left holding prepared writes asks the coordinator (`decide`), which aborts a
 * transaction that never reached its commit point within the timeout.
 */
import { BlazeError } from "../core/errors";
import type { Write, WriteResult } from "../core/writes";

/** A write of a committed batch whose shard has not applied it yet: no token yet. */
export type PendingResult = Omit<WriteResult, "token"> & { pending: true };

export interface BatchOutcome {
  /** Per participant, in `groups` order. */
  results: (WriteResult | PendingResult)[][];
  /** Participants still to apply the (committed) batch; the alarm finishes them. */
  pendingShards: number[];
}

export interface Participant {
  prepare(txnId: string, coordinator: number, writes: Write[]): Promise<Omit<WriteResult, "token">[]>;
  commit(txnId: string): Promise<WriteResult[]>;
  abort(txnId: string): Promise<void>;
}

export interface ShardWrites {
  shard: number;
  writes: Write[];
}

export type Decision = "committed" | "aborted" | "pending";

/** Commit attempts made inline before leaving the rest to the alarm. */
const INLINE_COMMIT_ATTEMPTS = 3;

export class Coordinator {
  constructor(
    private readonly sql: SqlStorage,
    private readonly participant: (shard: number) => Participant,
  ) {}

  /**
   * Runs a multi-shard batch. Past the commit point it never fails: a
   * participant that could not apply yet is reported in `pendingShards`
   * (its writes with their final versions, without a token), and the alarm
   * re-drives it. Answering with an error there would invite a retry that
   * applies the batch twice.
   */
  async run(txnId: string, coordinator: number, groups: ShardWrites[], now: number): Promise<BatchOutcome> {
    const shards = groups.map((g) => g.shard);
    this.sql.exec(
      `INSERT INTO txns (txn_id, state, participants, pending, created_at) VALUES (?, 'preparing', ?, ?, ?)`,
      txnId, JSON.stringify(shards), JSON.stringify(shards), now,
    );
    const prepared = await Promise.allSettled(groups.map((g) => this.participant(g.shard).prepare(txnId, coordinator, g.writes)));
    const failure = prepared.find((p): p is PromiseRejectedResult => p.status === "rejected");
    if (failure || this.state(txnId) !== "preparing") {
      this.setState(txnId, "aborted");
      await Promise.allSettled(shards.map((s) => this.participant(s).abort(txnId)));
      const reason: unknown = failure ? failure.reason : null;
      if (reason instanceof BlazeError) throw reason;
      if (reason) console.error(`blaze txn ${txnId}: prepare failed`, reason);
      throw new BlazeError("ABORTED", "the batch could not be prepared on every shard; nothing was written; retry it");
    }
    this.setState(txnId, "committed"); // the commit point
    const planned = prepared.map((p) => (p as PromiseFulfilledResult<Omit<WriteResult, "token">[]>).value);

    const results: (WriteResult[] | null)[] = groups.map(() => null);
    for (let attempt = 0; attempt < INLINE_COMMIT_ATTEMPTS; attempt++) {
      await Promise.all(
        groups.map(async (g, i) => {
          if (results[i]) return;
          try {
            results[i] = await this.participant(g.shard).commit(txnId);
          } catch (e) {
            console.warn(`blaze txn ${txnId}: commit on shard ${g.shard} failed (attempt ${attempt + 1}): ${e instanceof Error ? e.message : e}`);
          }
        }),
      );
      if (results.every(Boolean)) break;
    }
    const pending = shards.filter((_, i) => !results[i]);
    if (pending.length > 0) {
      // The alarm's redrive may have finished them meanwhile; it deletes the row when done.
      this.sql.exec(`UPDATE txns SET pending = ? WHERE txn_id = ?`, JSON.stringify(pending), txnId);
      console.warn(`blaze txn ${txnId}: committed; shard(s) ${pending.join(", ")} will apply it from the alarm`);
    } else {
      this.sql.exec(`DELETE FROM txns WHERE txn_id = ?`, txnId);
    }
    return {
      results: groups.map((_, i) => results[i] ?? planned[i].map((r) => ({ ...r, pending: true as const }))),
      pendingShards: pending,
    };
  }

  /** A participant asks what became of a transaction it prepared. */
  decide(txnId: string, now: number, timeoutMs: number): Decision {
    const row = this.sql
      .exec<{ state: string; created_at: number }>(`SELECT state, created_at FROM txns WHERE txn_id = ?`, txnId)
      .toArray()[0];
    // No record: never started here, or finished and all participants applied it
    // (only then is a committed record deleted), so a holder of prepared
    // writes must be left over from an aborted attempt.
    if (!row) return "aborted";
    if (row.state === "committed") return "committed";
    if (row.state === "aborted") return "aborted";
    if (now - row.created_at > timeoutMs) {
      this.setState(txnId, "aborted");
      return "aborted";
    }
    return "pending";
  }

  /** Re-drives committed transactions whose participants have not all applied. */
  async redrive(): Promise<boolean> {
    const rows = this.sql
      .exec<{ txn_id: string; pending: string }>(`SELECT txn_id, pending FROM txns WHERE state = 'committed'`)
      .toArray();
    for (const row of rows) {
      const left: number[] = [];
      for (const shard of JSON.parse(row.pending) as number[]) {
        try {
          await this.participant(shard).commit(row.txn_id);
        } catch {
          left.push(shard);
        }
      }
      if (left.length === 0) this.sql.exec(`DELETE FROM txns WHERE txn_id = ?`, row.txn_id);
      else this.sql.exec(`UPDATE txns SET pending = ? WHERE txn_id = ?`, JSON.stringify(left), row.txn_id);
    }
    return this.hasWork();
  }

  hasWork(): boolean {
    return this.sql.exec(`SELECT 1 FROM txns WHERE state IN ('committed', 'preparing') LIMIT 1`).toArray().length > 0;
  }

  /** Aborted records are kept a while to answer late `decide` calls. */
  prune(before: number): void {
    this.sql.exec(`DELETE FROM txns WHERE state = 'aborted' AND created_at < ?`, before);
  }

  private state(txnId: string): string | undefined {
    return this.sql.exec<{ state: string }>(`SELECT state FROM txns WHERE txn_id = ?`, txnId).toArray()[0]?.state;
  }

  private setState(txnId: string, state: string): void {
    this.sql.exec(`UPDATE txns SET state = ? WHERE txn_id = ?`, state, txnId);
  }
}
