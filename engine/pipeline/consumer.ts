/**
 * Queue consumer: applies change messages to the D1 index.
 *
 * Per queue batch: resolve by-reference documents, apply every change to its
 * index shard with one `db.batch` per database (the databases at once), then,
 * once all of them succeeded, record the applied seq ranges on the meta
 * database (in the same batch as its rows when it is the only one); then
 * advance the per-shard watermarks and tell the shards (so they can free
 * outbox rows). Delivery is
 * at least once and unordered: every statement is idempotent and
 * version-checked (engine/index/apply.ts), so a retry after a crash anywhere
 * here converges. Every index-writing batch starts with the index config
 * guard (engine/index/config-owner.ts). A batch that fails is retried message
 * by message, so one bad message cannot hold the others back; a message that
 * keeps failing on its own has its poison quarantined (./quarantine.ts), or,
 * when the failure is not its changes' (D1 or a shard unavailable, a stale
 * config), reaches the dead-letter queue with its reason logged.
 *
 * Budget per invocation (D1 allows 1,000 queries): a table's rows go as one
 * JSON parameter (engine/index/apply.ts), so a full batch is one read, about
 * ten statements per index database and the compaction; the one-by-one
 * retry of ten messages stays in the low hundreds, and a quarantine's
 * bisection is capped (BISECT_MAX_BATCHES).
 *
 * The same queue carries backfill messages for composite indexes declared
 * after their documents were written (engine/pipeline/backfill.ts).
 */
import { sql } from "drizzle-orm";
import { prepare, runBatch } from "../index/d1";
import { runGuarded } from "../index/config-owner";
import { describeError as describe, consumerHooks, indexDbOf, ownIndexConfig, resolveChanges, statementsByDb, type ConsumeOutcome, type ConsumerDeps } from "./apply-changes";
import { parseDocumentPath } from "../core/paths";
import { liveMembersOf, liveQueriesOn, type LiveMember, type LiveRegistration } from "../index/live-registrations";
import { runBackfill, superviseIndexBuilds } from "./backfill";
import { notifyLiveQueries } from "./live-notify";
import { CONSUMER_MAX_ATTEMPTS, isBackfillMessage, isChangeMessage, type ChangeMessage } from "./messages";
import { QUARANTINE_AFTER_ATTEMPTS, quarantineFor, quarantineStatements, type Quarantine } from "./quarantine";
import {
  compactStatements, shouldCompact, isApplied, readAppliedStates, watermarkRowsQuery, watermarksFromRows, type WatermarkRow,
} from "./watermarks";

export { consumerHooks, type ConsumeOutcome, type ConsumerDeps } from "./apply-changes";

export async function consumeBatch(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<ConsumeOutcome> {
  await consumerHooks.beforeBatch?.(batch);
  const outcome = await consume(batch, consumerHooks.deps?.(deps, batch) ?? deps);
  consumerHooks.afterBatch?.(batch, outcome);
  return outcome;
}

async function consume(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<ConsumeOutcome> {
  const outcome: ConsumeOutcome = { applied: 0, duplicates: 0, retried: 0, rejected: 0, quarantined: 0, watermarks: new Map() };
  const valid: Message<ChangeMessage>[] = [];
  const backfills: Message<unknown>[] = [];
  for (const msg of batch.messages) {
    if (isChangeMessage(msg.body)) valid.push(msg as Message<ChangeMessage>);
    else if (isBackfillMessage(msg.body)) backfills.push(msg);
    else {
      // Retrying cannot fix a malformed message: record it and drop it.
      await recordDeadLetter(deps.dbs[0], msg.body, "malformed change message");
      console.error(`blaze consumer: dropped malformed message ${msg.id}`);
      msg.ack();
      outcome.rejected++;
    }
  }
  try {
    await superviseIndexBuilds(deps);
  } catch (e) {
    // Not fatal to this batch: the next one tries again.
    console.error(`blaze consumer: could not declare index builds: ${describe(e)}`);
  }
  if (valid.length > 0) await applyValid(valid, deps, outcome);
  if (backfills.length > 0) {
    // One step serves every backfill message in the batch (duplicates collapse here).
    try {
      await runBackfill(deps);
      for (const m of backfills) m.ack();
    } catch (e) {
      console.error(`blaze consumer: backfill step failed: ${describe(e)}`);
      for (const m of backfills) m.retry();
    }
  }
  return outcome;
}

async function applyValid(valid: Message<ChangeMessage>[], deps: ConsumerDeps, outcome: ConsumeOutcome): Promise<void> {
  try {
    merge(outcome.watermarks, await applyMessages(valid.map((m) => m.body), deps, outcome));
    for (const m of valid) m.ack();
    outcome.applied = valid.length;
  } catch (batchError) {
    console.warn(`blaze consumer: batch of ${valid.length} failed (${describe(batchError)}); retrying one by one`);
    for (const m of valid) {
      try {
        merge(outcome.watermarks, await applyMessages([m.body], deps, outcome));
        m.ack();
        outcome.applied++;
      } catch (e) {
        if (m.attempts >= QUARANTINE_AFTER_ATTEMPTS && (await applyQuarantining(m, deps, outcome))) continue;
        const reason = `message ${m.id} (shard ${m.body.shard} seq ${m.body.fromSeq}..${m.body.toSeq}, attempt ${m.attempts}) failed: ${describe(e)}`;
        console.error(`blaze consumer: ${reason}`);
        if (m.attempts >= CONSUMER_MAX_ATTEMPTS) {
          // The queue moves it to the dead-letter queue next: keep why.
          await recordDeadLetter(deps.dbs[0], m.body, `${reason}; the shard's outbox will send these changes again`, m.id).catch(() => undefined);
        }
        m.retry();
        outcome.retried++;
      }
    }
  }
  await notifyShards(outcome.watermarks, deps);
}

/**
 * A message that keeps failing on its own: apply it with the changes that
 * fail alone quarantined (engine/pipeline/quarantine.ts). False when the
 * failure is not the changes' (the message is then retried as before).
 */
async function applyQuarantining(m: Message<ChangeMessage>, deps: ConsumerDeps, outcome: ConsumeOutcome): Promise<boolean> {
  try {
    const q = await quarantineFor(m.body, m.attempts, deps);
    if (!q) return false;
    merge(outcome.watermarks, await applyMessages([m.body], deps, outcome, q));
    for (const p of q.poison) {
      console.error(`blaze consumer: quarantined shard ${p.change.shard} seq ${p.change.seq} (${p.change.path}) after ${m.attempts} attempts: ${p.reason}`);
    }
    m.ack();
    outcome.applied++;
    outcome.quarantined += q.poison.length;
    return true;
  } catch (e) {
    console.error(`blaze consumer: could not quarantine message ${m.id}: ${describe(e)}`);
    return false;
  }
}

/**
 * Applies messages and advances watermarks; returns the new watermark per
 * shard. With `quarantine`, its poison's paths are left out and recorded as
 * gaps instead, in the batch that records the message's run.
 */
export async function applyMessages(
  messages: ChangeMessage[],
  deps: ConsumerDeps,
  counts?: { duplicates: number },
  quarantine?: Quarantine,
): Promise<Map<number, number>> {
  const shards = [...new Set(messages.map((m) => m.shard))];
  // Duplicates (a resend racing its original, a redelivery) cost one read:
  // what the index already holds is dropped before any statement is built.
  const before = await readAppliedStates(deps.dbs[0], shards);
  const applied = (shard: number, from: number, to: number) => isApplied(before.get(shard)!, from, to);
  const fresh = messages.filter((m) => !applied(m.shard, m.fromSeq, m.toSeq));
  if (fresh.length === 0) {
    if (counts) counts.duplicates += messages.length;
    return new Map([...before].map(([shard, m]) => [shard, m.watermark]));
  }

  const poisoned = new Set(quarantine?.poison.map((p) => `${p.change.shard}/${p.change.path}`));
  const pending = fresh.flatMap((m) => m.changes.filter((c) => !applied(m.shard, c.seq, c.seq) && !poisoned.has(`${c.shard}/${c.path}`)));
  // Every batch is refused if another index config has taken the index over.
  const hash = await ownIndexConfig(deps);
  const changes = await resolveChanges(pending, deps);
  const perDb = statementsByDb(changes, deps);
  // Each database's apply batch also reads the live-query registrations of
  // its collections (live-notify.ts: read with the apply, nothing is missed).
  const liveReads = (i: number) => {
    const here = changes.filter((c) => indexDbOf(c, deps) === i);
    return [liveQueriesOn(here.map((c) => parseDocumentPath(c.path).collectionId)), liveMembersOf(here.map((c) => c.path))];
  };
  const registrations: LiveRegistration[] = [];
  const members: LiveMember[] = [];
  const collect = (out: unknown[][]) => {
    registrations.push(...(out[out.length - 2] as LiveRegistration[]));
    members.push(...(out[out.length - 1] as LiveMember[]));
  };
  // With several index databases, every database's apply batch runs at
  // once; the meta batch, which records the ranges as applied, runs only
  // after all of them succeeded (a failure anywhere means a redelivery,
  // and what the others applied is applied again, idempotently).
  const local = perDb.get(0) ?? [];
  const separate = perDb.size > 1 || !perDb.has(0);
  const applies = [...perDb].filter(([i]) => separate || i !== 0);
  await settleAll(applies.map(([i, statements]) => runGuarded<LiveRegistration | LiveMember>(deps.dbs[i], hash, [...statements, ...liveReads(i)]).then(collect)));
  // One database only: its rows and the record of the ranges in one batch.
  const inMeta = separate ? [] : [...local, ...liveReads(0)];
  const rangeRows = fresh.map((m) => sql`(${m.shard}, ${m.fromSeq}, ${m.toSeq})`);
  const results = await runGuarded<WatermarkRow | LiveRegistration | LiveMember>(deps.dbs[0], hash, [
    ...inMeta,
    ...(quarantine ? quarantineStatements(quarantine, new Date().toISOString()) : []),
    sql`INSERT OR IGNORE INTO applied_ranges (shard, from_seq, to_seq) VALUES ${sql.join(rangeRows, sql`, `)}`,
    watermarkRowsQuery(shards),
  ]);
  if (inMeta.length > 0) collect(results.slice(0, inMeta.length));
  if (deps.notifyLive) await notifyLiveQueries(registrations, members, changes, deps.notifyLive);
  const marks = watermarksFromRows(results[results.length - 1] as WatermarkRow[], shards);
  const now = new Date().toISOString();
  const compaction = [...marks]
    .filter(([, m]) => shouldCompact(m))
    .flatMap(([shard, m]) => compactStatements(shard, m, now));
  if (compaction.length > 0) await runBatch(deps.dbs[0], compaction);
  if (counts) counts.duplicates += messages.length - fresh.length;
  return new Map([...marks].map(([shard, m]) => [shard, m.watermark]));
}

/**
 * Waits for every promise, then throws the first failure: a failed
 * database's batch does not leave the others' still running while the
 * message is retried.
 */
async function settleAll(work: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Telling a shard its changes are applied lets it free outbox rows early; it
 * is an optimisation only (before any resend the shard reads its watermark
 * from D1 itself). A call per batch per shard costs about as much as the
 * write it acknowledges, so a shard is told once its watermark has moved
 * NOTIFY_EVERY_SEQS past what this isolate last told it, or, when it moved
 * at all, NOTIFY_AFTER_MS after it was last told: a shard with few writes
 * then learns within a second that its outbox is applied, and its flow
 * control (engine/shard/flow-control.ts) need not ask D1 on a write.
 */
export const NOTIFY_EVERY_SEQS = 256;
export const NOTIFY_AFTER_MS = 1000;
const notified = new Map<number, { watermark: number; at: number }>();

async function notifyShards(watermarks: Map<number, number>, deps: ConsumerDeps): Promise<void> {
  const now = Date.now();
  const due = [...watermarks].filter(([shard, w]) => {
    const last = notified.get(shard) ?? { watermark: 0, at: Number.NEGATIVE_INFINITY };
    return w - last.watermark >= NOTIFY_EVERY_SEQS || (w > last.watermark && now - last.at >= NOTIFY_AFTER_MS);
  });
  for (const [shard, w] of due) notified.set(shard, { watermark: w, at: now });
  await Promise.allSettled(due.map(([shard, w]) => deps.notifyShard(shard, w)));
}

/** Records a message given up on; the first record of a message id wins. */
export async function recordDeadLetter(d1: D1Database, body: unknown, reason: string, messageId: string | null = null): Promise<void> {
  const m = isChangeMessage(body) ? body : null;
  const text = JSON.stringify(body ?? null);
  await prepare(
    d1,
    sql`INSERT OR IGNORE INTO dead_letters (message_id, received_at, shard, from_seq, to_seq, reason, body)
      VALUES (${messageId}, ${new Date().toISOString()}, ${m?.shard ?? null}, ${m?.fromSeq ?? null}, ${m?.toSeq ?? null}, ${reason}, ${text.slice(0, 100_000)})`,
  ).run();
}

/**
 * The dead-letter queue's consumer: log and record, then drop. Nothing is lost
 * by dropping: change messages are re-sent by the shards' outboxes (rows stay
 * until the index applied them), backfill messages by the build watchdog.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, meta: D1Database): Promise<void> {
  for (const msg of batch.messages) {
    const what = isBackfillMessage(msg.body) ? "backfill message; the build watchdog sends a new one" : "changes; the shard's outbox sends them again";
    const reason = `dead-lettered after ${msg.attempts} attempts (${what})`;
    console.error(`blaze dead letter ${msg.id}: ${reason}`);
    await recordDeadLetter(meta, msg.body, reason, msg.id);
    msg.ack();
  }
}

function merge(into: Map<number, number>, from: Map<number, number>) {
  for (const [k, v] of from) into.set(k, Math.max(into.get(k) ?? 0, v));
}
