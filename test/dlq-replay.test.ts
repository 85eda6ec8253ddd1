/**
 * `POST /v1/admin/dlq/replay` (npm run blaze -- dlq replay): a change whose
 * messages all failed and were dead-lettered goes back into the pipeline at
 * once (not after the outbox's own resend wait), each dead letter is handled
 * once, and backfill, applied and malformed ones are counted apart. The
 * failure is real: the index table the consumer writes is renamed away for a
 * while. Own file: the rename would disturb other tests sharing this D1.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import { recordDeadLetter } from "../engine/pipeline/consumer";
import { BACKFILL_MESSAGE } from "../engine/pipeline/messages";
import { adminHeaders, api, d1Doc, eventually, indexDbFor, shardFor, shardStubFor } from "./helpers";

const replay = async () => {
  const r = await api("POST", "/v1/admin/dlq/replay", undefined, await adminHeaders());
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};

describe("dead-letter replay", () => {
  it("sends dead-lettered changes back into the pipeline, once", async () => {
    const path = "dlqr/doc";
    const shard = shardFor(path);
    // The outbox's own resend waits ten minutes here: only the replay can bring the change back soon.
    await runInDurableObject(shardStubFor(shard) as any, (o: ShardDO) => void (o.faults.resendAfterMs = 600_000));
    const db = indexDbFor(path);
    await db.prepare(`ALTER TABLE index_entries RENAME TO index_entries_away`).run();
    try {
      expect((await api("PUT", `/v1/docs/${path}`, { n: 1 })).status).toBe(200);
      await eventually(() => env.DB.prepare(`SELECT id FROM dead_letters WHERE shard = ? AND reason LIKE '%attempt 6%'`).bind(shard).first(), 15_000);
    } finally {
      await db.prepare(`ALTER TABLE index_entries_away RENAME TO index_entries`).run();
    }
    expect(await d1Doc(path)).toBeNull();
    // Dead letters of other kinds: a backfill, a malformed message, a change the index already has.
    await recordDeadLetter(env.DB, BACKFILL_MESSAGE, "test: a backfill message", "test-backfill");
    await recordDeadLetter(env.DB, "not a message", "test: malformed", "test-malformed");
    const other = "dlqr/applied";
    const w = await api("PUT", `/v1/docs/${other}`, { n: 2 });
    const seq = Number(w.body.token.split(":")[1]);
    await eventually(() => d1Doc(other));
    await recordDeadLetter(env.DB, { v: 1, shard: shardFor(other), fromSeq: seq, toSeq: seq, changes: [] }, "test: applied since", "test-applied");

    const first = await replay();
    expect(first).toMatchObject({ replayed: 1, changes: 1, backfills: 1, unreplayable: 1, left: 0 });
    expect(first.alreadyApplied).toBeGreaterThanOrEqual(1);
    const row = await eventually(() => d1Doc(path), 5000);
    expect(JSON.parse(row.data)).toEqual({ n: 1 });
    const entries = await db.prepare(`SELECT COUNT(*) AS n FROM index_entries WHERE doc_path = ?`).bind(path).first<{ n: number }>();
    expect(entries!.n).toBe(1);

    // Idempotent: every dead letter is marked replayed; a second replay does nothing.
    expect(await replay()).toEqual({ replayed: 0, changes: 0, alreadyApplied: 0, backfills: 0, unreplayable: 0, left: 0 });
    const pending = await env.DB.prepare(`SELECT COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL`).first<{ n: number }>();
    expect(pending!.n).toBe(0);
  });
});
