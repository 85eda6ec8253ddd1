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
 *
 * A keyed batch (Idempotency-Key) records its outcome on the coordinator in
 * the transaction that writes the commit point, every write pending; once the
 * shards applied it, the record holds their results. A repeat of the key is
 * answered from that record, never prepared again.
 */
import { BlazeError } from "../core/errors";
import type { AuthContext } from "../core/auth";
import type { Write, WriteResult } from "../core/writes";
import type { KeyedCommit } from "./doc-store";
import { IdempotencyStore } from "./idempotency";

/** A write of a committed batch whose shard has not applied it yet: no token yet. */
export type PendingResult = Omit<WriteResult, "token"> & { pending: true };

export interface BatchOutcome {
  /** Per participant, in `groups` order. */
  results: (WriteResult | PendingResult)[][];
  /** Participants still to apply the (committed) batch; the alarm finishes them. */
  pendingShards: number[];
}

export interface Participant {
  /** Each participant judges its writes by the caller's rules (`auth`); one refusal aborts the batch. */
  prepare(txnId: string, coordinator: number, writes: Write[], auth: AuthContext): Promise<Omit<WriteResult, "token">[]>;
  commit(txnId: string): Promise<WriteResult[]>;
  abort(txnId: string): Promise<void>;
}

export interface ShardWrites {
  shard: number;
  writes: Write[];
}

export type Decision = "committed" | "aborted" | "pending";

/** What the coordinator keeps for a keyed batch: enough to finish its answer on a repeat. */
interface KeyedBatch {
  txnId: string;
  /** Participants in `groups` order. */
  shards: number[];
  outcome: BatchOutcome;
}

export interface CoordinatorHooks {
  /** Runs right after the commit point is durable (tests: a restart there). */
  atCommitPoint?: () => Promise<void>;
}

/** Commit attempts made inline before leaving the rest to the alarm. */
const INLINE_COMMIT_ATTEMPTS = 3;

export class Coordinator {
  private readonly sql: SqlStorage;
  private readonly keys: IdempotencyStore;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly participant: (shard: number) => Participant,
    private readonly hooks: CoordinatorHooks = {},
  ) {
    this.sql = storage.sql;
    this.keys = new IdempotencyStore(this.sql);
  }

  /**
   * Runs a multi-shard batch. Past the commit point it never fails: a
   * participant that could not apply yet is reported in `pendingShards`
   * (its writes with their final versions, without a token), and the alarm
   * re-drives it. Answering with an error there would invite a retry that
   * applies the batch twice.
   */
  async run(txnId: string, coordinator: number, groups: ShardWrites[], now: number, auth: AuthContext, keyed?: KeyedCommit): Promise<BatchOutcome> {
    const prior = keyed && this.keys.find<KeyedBatch>(keyed.idem, keyed.notBefore);
    if (prior) return this.finish(keyed.idem.key, prior);
    const shards = groups.map((g) => g.shard);
    this.sql.exec(
      `INSERT INTO txns (txn_id, state, participants, pending, created_at) VALUES (?, 'preparing', ?, ?, ?)`,
      txnId, JSON.stringify(shards), JSON.stringify(shards), now,
    );
    const prepared = await Promise.allSettled(groups.map((g) => this.participant(g.shard).prepare(txnId, coordinator, g.writes, auth)));
    const failure = prepared.find((p): p is PromiseRejectedResult => p.status === "rejected");
    if (failure || this.state(txnId) !== "preparing") {
      this.setState(txnId, "aborted");
      await Promise.allSettled(shards.map((s) => this.participant(s).abort(txnId)));
      const reason: unknown = failure ? failure.reason : null;
      if (reason instanceof BlazeError) throw reason;
      if (reason) console.error(`blaze txn ${txnId}: prepare failed`, reason);
      throw new BlazeError("ABORTED", "the batch could not be prepared on every shard; nothing was written; retry it");
    }
    const planned = prepared.map((p) => (p as PromiseFulfilledResult<Omit<WriteResult, "token">[]>).value);
    // The commit point, with the key's record in the same transaction. (A
    // repeat of the key never runs alongside: the shard holds it back until
    // this run ends.)
    this.storage.transactionSync(() => {
      this.setState(txnId, "committed");
      if (keyed) this.keys.record(keyed.idem, { txnId, shards, outcome: pendingOutcome(shards, planned) }, now);
    });
    await this.hooks.atCommitPoint?.();

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
    const outcome: BatchOutcome = {
      results: groups.map((_, i) => results[i] ?? planned[i].map(asPending)),
      pendingShards: pending,
    };
    if (keyed) this.keys.update(keyed.idem.key, { txnId, shards, outcome } satisfies KeyedBatch);
    return outcome;
  }

  /**
   * A repeat of a keyed batch: its first outcome, after asking the shards it
   * was still pending on to apply it (idempotent: a shard that did answers
   * its results again). A shard that cannot be reached stays pending; the
   * alarm re-drives it as for the first answer.
   */
  private async finish(key: string, prior: KeyedBatch): Promise<BatchOutcome> {
    const { txnId, shards, outcome } = prior;
    if (outcome.pendingShards.length === 0) return outcome;
    const results = [...outcome.results];
    await Promise.all(
      shards.map(async (shard, i) => {
        if (!outcome.pendingShards.includes(shard)) return;
        try {
          const applied = await this.participant(shard).commit(txnId);
          // Empty: applied long ago and its results pruned there; the versions stay as planned.
          if (applied.length > 0) results[i] = applied;
        } catch (e) {
          console.warn(`blaze txn ${txnId}: commit on shard ${shard} still failing on a repeat: ${e instanceof Error ? e.message : e}`);
        }
      }),
    );
    const next: BatchOutcome = { results, pendingShards: shards.filter((_, i) => results[i].some((r) => "pending" in r)) };
    this.keys.update(key, { txnId, shards, outcome: next } satisfies KeyedBatch);
    return next;
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

  /**
   * Re-drives committed transactions whose participants have not all
   * applied, and aborts those still `preparing` after the timeout: their
   * coordinator died before its commit point (a restart mid-prepare), nothing
   * will decide them, and their record would keep the alarm busy forever.
   */
  async redrive(now: number, timeoutMs: number): Promise<boolean> {
    const orphans = this.sql
      .exec<{ txn_id: string; participants: string }>(`SELECT txn_id, participants FROM txns WHERE state = 'preparing' AND created_at < ?`, now - timeoutMs)
      .toArray();
    for (const row of orphans) {
      // As decide() rules for a participant asking; a run() still waiting on a prepare sees it and aborts.
      this.setState(row.txn_id, "aborted");
      await Promise.allSettled((JSON.parse(row.participants) as number[]).map((s) => this.participant(s).abort(row.txn_id)));
    }
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

/** A committed batch's answer before any shard applied it: every write as planned, without a token. */
function pendingOutcome(shards: number[], planned: Omit<WriteResult, "token">[][]): BatchOutcome {
  return { results: planned.map((group) => group.map(asPending)), pendingShards: shards };
}

const asPending = (r: Omit<WriteResult, "token">): PendingResult => ({ ...r, pending: true });
