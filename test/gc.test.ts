/**
 * Garbage collection (POST /v1/admin/gc, the cron trigger): old tombstones,
 * change-log rows, applied-range rows and replayed dead letters go, and what
 * they protect stays correct: a deleted document is not brought back by an
 * older change delivered again after its tombstone went, a tombstone the
 * watermark has not passed stays, and a resume token older than the trimmed
 * log gets a fresh snapshot flagged as such. Real shards, D1, queue, consumer.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import { applyStatements, type ResolvedChange } from "../engine/index/apply";
import { runBatch } from "../engine/index/d1";
import { applyMessages } from "../engine/pipeline/consumer";
import { retentionMs } from "../engine/pipeline/gc";
import { readWatermark } from "../engine/pipeline/watermarks";
import { pipelineDeps } from "../engine/http/pipeline-deps";
import { openListenSocket } from "./support/listen-socket";
import { adminHeaders, api, d1Doc, eventually, indexDbFor, pathsOnSameShard, shardFor, shardStubFor } from "./helpers";

const LONG_AGO = "2000-01-01T00:00:00.000Z";

const gc = async () => {
  const r = await api("POST", "/v1/admin/gc", undefined, await adminHeaders());
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};

const seqOf = (r: { body: { token: string } }) => Number(r.body.token.split(":")[1]);
const applied = (path: string, seq: number) => eventually(async () => (await readWatermark(env.DB, shardFor(path))) >= seq, 10_000);
const inShard = <T>(shard: number, f: (sql: SqlStorage) => T) =>
  runInDurableObject(shardStubFor(shard) as any, (_o: ShardDO, state: DurableObjectState) => f(state.storage.sql));

describe("garbage collection", () => {
  it("GC_RETENTION_DAYS: 7 days by default, fractional days allowed, nonsense refused", () => {
    expect(retentionMs(undefined)).toBe(7 * 86_400_000);
    expect(retentionMs("0.5")).toBe(43_200_000);
    expect(() => retentionMs("-1")).toThrow(/GC_RETENTION_DAYS/);
    expect(() => retentionMs("soon")).toThrow(/GC_RETENTION_DAYS/);
  });

  it("an old tombstone goes once the watermark passed it, and an older change delivered again does not resurrect its document", async () => {
    const path = "gc/deleted";
    const shard = shardFor(path);
    const set = await api("PUT", `/v1/docs/${path}`, { n: 1 });
    const old = (await api("GET", `/v1/docs/${path}`)).body;
    const del = await api("DELETE", `/v1/docs/${path}`);
    await applied(path, seqOf(del));
    const db = indexDbFor(path);
    // A tombstone the watermark has not passed: a delete applied above a gap (its seq far past the shard's last).
    const ahead = "gc/ahead";
    const aheadShard = shardFor(ahead);
    const high = (await readWatermark(env.DB, aheadShard)) + 1000;
    const deps = pipelineDeps(env);
    await applyMessages([{ v: 1, shard: aheadShard, fromSeq: high, toSeq: high, changes: [{ shard: aheadShard, seq: high, path: ahead, op: "delete", version: 9, updateTime: LONG_AGO, existed: true }] }], deps);
    const aheadDb = indexDbFor(ahead);
    expect(await aheadDb.prepare(`SELECT seq FROM tombstones WHERE path = ?`).bind(ahead).first()).toMatchObject({ seq: high });
    // A recent tombstone: kept by age.
    const recent = "gc/recent";
    await api("PUT", `/v1/docs/${recent}`, { n: 1 });
    const delRecent = await api("DELETE", `/v1/docs/${recent}`);
    await applied(recent, seqOf(delRecent));

    await db.prepare(`UPDATE tombstones SET delete_time = ? WHERE path = ?`).bind(LONG_AGO, path).run();
    const r = await gc();
    expect(r.tombstones).toBeGreaterThanOrEqual(1);
    expect(await db.prepare(`SELECT 1 FROM tombstones WHERE path = ?`).bind(path).first()).toBeNull();
    expect(await aheadDb.prepare(`SELECT seq FROM tombstones WHERE path = ?`).bind(ahead).first()).toMatchObject({ seq: high });
    expect(await indexDbFor(recent).prepare(`SELECT 1 AS x FROM tombstones WHERE path = ?`).bind(recent).first()).toMatchObject({ x: 1 });

    // The set, delivered again (a late queue message, a resend): the consumer drops it as applied.
    const stale: ResolvedChange = { shard, seq: seqOf(set), path, op: "set", version: old.version, data: { n: 1 }, createTime: old.createTime, updateTime: old.updateTime, existed: false };
    await applyMessages([{ v: 1, shard, fromSeq: stale.seq, toSeq: stale.seq, changes: [stale] }], deps);
    expect(await d1Doc(path)).toBeNull();
    // The control: without the consumer's applied check the tombstone was all that stopped it, and it is gone.
    await runBatch(db, applyStatements([stale]));
    expect(await d1Doc(path)).toMatchObject({ seq: stale.seq });
  });

  it("trims the shards' change logs by age (never the outbox) and a resume older than the log gets a fresh snapshot", async () => {
    const [a, b] = pathsOnSameShard("gclog", 2);
    const shard = shardFor(a);
    const w1 = await api("PUT", `/v1/docs/${a}`, { n: 1 });
    const w2 = await api("PUT", `/v1/docs/${a}`, { n: 2 });
    await api("PUT", `/v1/docs/${b}`, { n: 1 });
    await applied(b, seqOf(w2) + 1);
    await inShard(shard, (sql) => void sql.exec(`UPDATE changes SET update_time = ? WHERE seq <= ?`, LONG_AGO, seqOf(w2)));
    const r = await gc();
    expect(r.changeLogRows).toBeGreaterThanOrEqual(2);
    const left = await inShard(shard, (sql) => sql.exec<{ seq: number }>(`SELECT seq FROM changes ORDER BY seq`).toArray().map((x) => x.seq));
    expect(left[0]).toBe(seqOf(w2) + 1);

    // A listener resuming from before the trimmed changes: they cannot be replayed, so a fresh snapshot.
    const c = await openListenSocket(`doc=${encodeURIComponent(a)}`, await adminHeaders());
    c.send({ op: "listen", id: 1, doc: a, resume: w1.body.token });
    const [m] = await c.take(1);
    expect(m).toMatchObject({ fresh: true, initial: true });
    expect(m.changes[0].doc.data).toEqual({ n: 2 });
    // One resuming from the last change of the log's prefix still gets exactly what it missed.
    await api("PUT", `/v1/docs/${a}`, { n: 3 });
    c.send({ op: "listen", id: 2, doc: a, resume: `${shard}:${seqOf(w2) + 1}` });
    const [resumed] = await c.take(2);
    expect(resumed.fresh).toBeUndefined();
    expect(resumed.changes[0].doc.data).toEqual({ n: 3 });
    c.ws.close();
  });

  it("keeps change-log rows the index has not applied (outbox rows), however old", async () => {
    const path = "gclog/unapplied";
    const shard = shardFor(path);
    const db = indexDbFor(path);
    await db.prepare(`ALTER TABLE index_entries RENAME TO index_entries_gc`).run();
    try {
      const w = await api("PUT", `/v1/docs/${path}`, { n: 1 });
      await inShard(shard, (sql) => void sql.exec(`UPDATE changes SET update_time = ?`, LONG_AGO));
      await gc();
      const kept = await inShard(shard, (sql) => sql.exec(`SELECT seq FROM changes WHERE seq = ?`, seqOf(w)).toArray().length);
      expect(kept).toBe(1);
    } finally {
      await db.prepare(`ALTER TABLE index_entries_gc RENAME TO index_entries`).run();
    }
  });

  it("folds applied ranges, deletes old replayed dead letters, and runs from the cron trigger", async () => {
    await env.DB.prepare(`INSERT INTO dead_letters (message_id, received_at, reason, body, replayed_at) VALUES ('gc-old', ?, 'x', '{}', ?), ('gc-new', ?, 'x', '{}', NULL)`)
      .bind(LONG_AGO, LONG_AGO, LONG_AGO)
      .run();
    const r = await gc();
    expect(r.deadLetters).toBe(1);
    expect((await env.DB.prepare(`SELECT message_id FROM dead_letters WHERE message_id LIKE 'gc-%'`).all()).results).toEqual([{ message_id: "gc-new" }]);
    const ranges = await env.DB.prepare(`SELECT COUNT(*) AS n FROM applied_ranges r JOIN watermarks w ON w.shard = r.shard WHERE r.to_seq <= w.applied_seq`).first<{ n: number }>();
    expect(ranges!.n).toBe(0);

    const path = "gc/cron";
    await api("PUT", `/v1/docs/${path}`, { n: 1 });
    const del = await api("DELETE", `/v1/docs/${path}`);
    await applied(path, seqOf(del));
    await indexDbFor(path).prepare(`UPDATE tombstones SET delete_time = ? WHERE path = ?`).bind(LONG_AGO, path).run();
    // The plugin's worker fetcher takes scheduled events; its types do not say so.
    const worker = exports.default as unknown as { scheduled(e: { cron: string; scheduledTime: Date }): Promise<unknown> };
    await worker.scheduled({ cron: "17 * * * *", scheduledTime: new Date() });
    expect(await indexDbFor(path).prepare(`SELECT 1 FROM tombstones WHERE path = ?`).bind(path).first()).toBeNull();
  });
});
