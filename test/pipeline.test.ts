import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import { api, d1Doc, eventually, indexDbFor, runAlarm, shardFor, shardStubFor } from "./helpers";
import { readWatermark } from "../engine/pipeline/watermarks";

const outboxCount = (shard: number) =>
  runInDurableObject(shardStubFor(shard) as any, (_i: ShardDO, state: DurableObjectState) =>
    state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).one().n,
  );

describe("write -> outbox -> queue -> D1", () => {
  it("a written document appears in D1 with its index entries", async () => {
    const w = await api("PUT", "/v1/docs/cities/oslo", { name: "Oslo", pop: 700000, tags: ["north", "capital"] });
    const row = await eventually(() => d1Doc("cities/oslo"));
    expect(row).toMatchObject({ collection_path: "cities", collection_id: "cities", doc_id: "oslo", version: w.body.version });
    expect(JSON.parse(row.data)).toEqual({ name: "Oslo", pop: 700000, tags: ["north", "capital"] });
    const entries = await indexDbFor("cities/oslo").prepare(`SELECT field, kind FROM index_entries WHERE doc_path = ? ORDER BY field, kind`)
      .bind("cities/oslo")
      .all<{ field: string; kind: string }>();
    expect(entries.results).toEqual(
      expect.arrayContaining([
        { field: "name", kind: "value" },
        { field: "pop", kind: "value" },
        { field: "tags", kind: "value" },
        { field: "tags", kind: "element" },
      ]),
    );
    expect(entries.results.filter((e) => e.kind === "element")).toHaveLength(2);
  });

  it("updates and deletes reach D1; the watermark advances and the outbox empties", async () => {
    await api("PUT", "/v1/docs/cities/rome", { n: 1 });
    await api("PATCH", "/v1/docs/cities/rome", { n: 2 });
    await eventually(async () => (await d1Doc("cities/rome"))?.version === 2);
    const del = await api("DELETE", "/v1/docs/cities/rome");
    await eventually(async () => (await d1Doc("cities/rome")) === null);
    const t = await indexDbFor("cities/rome").prepare(`SELECT seq FROM tombstones WHERE path = ?`).bind("cities/rome").first<{ seq: number }>();
    expect(t?.seq).toBe(Number(del.body.token.split(":")[1]));
    const left = await indexDbFor("cities/rome").prepare(`SELECT COUNT(*) AS n FROM index_entries WHERE doc_path = ?`).bind("cities/rome").first<{ n: number }>();
    expect(left?.n).toBe(0);
    const shard = shardFor("cities/rome");
    const seq = Number(del.body.token.split(":")[1]);
    await eventually(async () => {
      const w = { applied_seq: await readWatermark(env.DB, shard) };
      return (w?.applied_seq ?? 0) >= seq;
    });
    // The consumer tells the shard; the outbox row is freed only now.
    await eventually(async () => (await outboxCount(shard)) === 0);
  });

  it("the outbox survives failing queue sends and delivers later", async () => {
    const path = "flaky/doc";
    const shard = shardFor(path);
    await runInDurableObject(shardStubFor(shard) as any, (i: ShardDO) => {
      i.faults.failQueueSend = 3;
    });
    await api("PUT", `/v1/docs/${path}`, { v: 1 });
    // Each alarm run tries once; the first three sends fail.
    for (let i = 0; i < 4; i++) await runAlarm(shard).catch(() => undefined);
    await eventually(() => d1Doc(path));
    await eventually(async () => (await outboxCount(shard)) === 0);
  });

  it("rows sent but never applied are sent again", async () => {
    const path = "lost/doc";
    const shard = shardFor(path);
    await api("PUT", `/v1/docs/${path}`, { v: 1 });
    await eventually(() => d1Doc(path));
    // Simulate a lost message: the index forgets the write and the outbox
    // still holds it as sent long ago.
    await indexDbFor(path).prepare(`DELETE FROM documents WHERE path = ?`).bind(path).run();
    await env.DB.prepare(`UPDATE watermarks SET applied_seq = 0 WHERE shard = ?`).bind(shard).run();
    await env.DB.prepare(`DELETE FROM applied_ranges WHERE shard = ?`).bind(shard).run();
    const seq = await runInDurableObject(shardStubFor(shard) as any, (_i: ShardDO, state: DurableObjectState) => {
      const last = state.storage.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE key = 'last_seq'`).one().value;
      state.storage.sql.exec(`INSERT OR REPLACE INTO outbox (seq, attempts, sent_at) VALUES (?, 1, 0)`, last);
      state.storage.sql.exec(`UPDATE outbox SET sent_at = 0`);
      // ... and the index has shown no progress since then.
      const stalled = { watermark: 0, applied: 0, highest: 0, watermarkAt: 0, appliedAt: 0 };
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('index_progress', ?)`, JSON.stringify(stalled));
      return last;
    });
    expect(seq).toBeGreaterThan(0);
    await runAlarm(shard);
    await eventually(() => d1Doc(path));
  });

  it("a large document travels by reference and arrives whole", async () => {
    const big = { blob: "z".repeat(300 * 1024), n: 1 };
    await api("PUT", "/v1/docs/big/one", big);
    const row = await eventually(() => d1Doc("big/one"), 8000);
    expect(JSON.parse(row.data).blob.length).toBe(300 * 1024);
  });

  it("spreads a split collection over both index shards and the rest by collection", async () => {
    const res = await api("POST", "/v1/batch", { writes: Array.from({ length: 30 }, (_, i) => ({ op: "set", path: `events/e${i}`, data: { i } })) });
    expect(res.status).toBe(200);
    const count = async (db: D1Database) =>
      (await db.prepare(`SELECT COUNT(*) AS n FROM documents WHERE collection_id = 'events'`).first<{ n: number }>())!.n;
    await eventually(async () => (await count(env.DB)) + (await count(env.DB2)) === 30);
    expect(await count(env.DB)).toBeGreaterThan(0);
    expect(await count(env.DB2)).toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) expect(await d1Doc(`events/e${i}`)).not.toBeNull();
  });

  it("a message that keeps failing reaches the dead-letter queue with its reason recorded", async () => {
    // A by-reference change for a document its shard never had: every attempt fails.
    const shard = shardFor("ghosts/g1");
    const poison = {
      v: 1, shard, fromSeq: 900_000, toSeq: 900_000,
      changes: [{ shard, seq: 900_000, path: "ghosts/g1", op: "set", version: 1, updateTime: "t", existed: false, byRef: true }],
    };
    await env.CHANGES.send(poison);
    const row = await eventually(
      () => env.DB.prepare(`SELECT reason, shard, from_seq FROM dead_letters WHERE from_seq = 900000`).first<any>(),
      10_000,
    );
    expect(row.shard).toBe(shard);
    expect(row.reason).toContain("attempt 6");
    expect(row.reason).toContain("no record of ghosts/g1");
    // One row per message, though both the consumer and the DLQ consumer record it.
    await new Promise((r) => setTimeout(r, 200));
    const n = await env.DB.prepare(`SELECT COUNT(*) AS n FROM dead_letters WHERE from_seq = 900000`).first<{ n: number }>();
    expect(n?.n).toBe(1);
    expect(await d1Doc("ghosts/g1")).toBeNull();
  });
});
