/**
 * A change the index can never take is quarantined, not re-sent forever:
 * after a few failed deliveries the consumer records it in `quarantined`
 * with its reason, counts its seq as applied so the shard's watermark moves
 * on and the rest of the shard flows, GET /v1/status shows it, and
 * POST /v1/admin/replay-quarantined repairs the gap once the cause is gone.
 * Real shards, D1, queue and consumer. Own file: the hook would disturb others.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import type { Change } from "../engine/core/writes";
import { EMPTY_INDEX_CONFIG } from "../engine/index/config-types";
import { parseTopology } from "../engine/index/routing";
import { consumerHooks, type ConsumerDeps } from "../engine/pipeline/consumer";
import { BISECT_MAX_BATCHES, quarantineFor } from "../engine/pipeline/quarantine";
import { readWatermark } from "../engine/pipeline/watermarks";
import { adminHeaders, api, BASE, d1Doc, eventually, pathsOnSameShard, shardFor, shardStubFor } from "./helpers";

const outboxCount = (shard: number) =>
  runInDurableObject(shardStubFor(shard) as any, (_i: ShardDO, state: DurableObjectState) =>
    state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).one().n,
  );

const quarantinedRows = async (shard: number) =>
  (await env.DB.prepare(`SELECT seq, path, reason, attempts FROM quarantined WHERE shard = ? ORDER BY seq`).bind(shard).all<any>()).results;

async function shardStatus(shard: number) {
  const r = await api("GET", "/v1/status", undefined, await adminHeaders());
  expect(r.status).toBe(200);
  return { index: r.body.index, shard: r.body.shards.find((s: { shard: number }) => s.shard === shard) };
}

const replay = async (query = "") => {
  const r = await api("POST", `/v1/admin/replay-quarantined${query}`, undefined, await adminHeaders());
  expect(r.status).toBe(200);
  return r.body;
};

afterEach(() => {
  consumerHooks.checkChange = null;
});

describe("quarantine", () => {
  it("a change the index refuses is quarantined after a few attempts; the shard flows on; a replay repairs it", async () => {
    const [bad, good] = pathsOnSameShard("qh", 2);
    const shard = shardFor(bad);
    // A query listener on the collection, registered before anything goes wrong.
    const res = await exports.default.fetch(new Request(`${BASE}/v1/listen`, { headers: { Upgrade: "websocket" } }));
    const ws = res.webSocket!;
    ws.accept();
    const seen: any[] = [];
    ws.addEventListener("message", (e) => seen.push(JSON.parse(e.data as string)));
    ws.send(JSON.stringify({ op: "listen", id: "q", query: { from: { collection: "qh" } } }));
    const ids = () => seen.flatMap((m) => m.changes ?? []).filter((c: any) => c.type === "added").map((c: any) => c.doc.id);
    await eventually(async () => seen.length > 0);
    consumerHooks.checkChange = (c) => {
      if (c.path === bad) throw new Error(`index refuses ${bad} (test hook)`);
    };
    const first = await api("PUT", `/v1/docs/${bad}`, { n: 1 });
    const second = await api("PUT", `/v1/docs/${good}`, { n: 2 });
    const head = Number(second.body.token.split(":")[1]);
    // The watermark moves past the refused change, and the change after it is indexed.
    await eventually(async () => (await readWatermark(env.DB, shard)) >= head, 10_000);
    expect(await d1Doc(good)).toMatchObject({ version: second.body.version });
    expect(await d1Doc(bad)).toBeNull();
    const rows = await quarantinedRows(shard);
    expect(rows).toEqual([{ seq: Number(first.body.token.split(":")[1]), path: bad, reason: expect.stringContaining("test hook"), attempts: 3 }]);
    // Its document stays right in its shard; its outbox row is freed (no resend forever).
    expect((await api("GET", `/v1/docs/${bad}`)).body).toMatchObject({ data: { n: 1 }, version: first.body.version });
    await eventually(async () => (await outboxCount(shard)) === 0, 5000);
    const s = await shardStatus(shard);
    expect(s.shard).toMatchObject({ quarantined: 1, lagChanges: 0 });
    expect(s.index.quarantined).toBeGreaterThanOrEqual(1);

    // Replayed while the cause is still there: it stays, with the attempt counted.
    expect(await replay(`?shard=${shard}`)).toMatchObject({ repaired: 0, failed: [{ shard, path: bad, reason: expect.stringContaining("test hook") }], left: 1 });
    expect((await quarantinedRows(shard))[0].attempts).toBe(4);

    // The cause is gone; the document changed meanwhile: the replay applies its current state.
    const later = await api("PATCH", `/v1/docs/${bad}`, { n: 3 }); // also refused (hook), quarantined again
    await eventually(async () => (await quarantinedRows(shard)).length === 2, 10_000);
    // A second live query, registered after the quarantine: its first read counts the quarantined seqs as applied.
    ws.send(JSON.stringify({ op: "listen", id: "late", query: { from: { collection: "qh" }, where: ["n", ">", 0] } }));
    const lateIds = () => seen.filter((m) => m.id === "late").flatMap((m) => m.changes ?? []).filter((c: any) => c.type === "added").map((c: any) => c.doc.id);
    await eventually(async () => seen.some((m) => m.id === "late"));
    expect(lateIds()).not.toContain(bad.split("/")[1]);
    // The listener registered before heard both from their shard (the direct path: the document
    // exists there), whatever the index holds; the late one, whose first read came from the index, not the refused one...
    await eventually(async () => ids().includes(good.split("/")[1]) && ids().includes(bad.split("/")[1]));
    expect(lateIds()).not.toContain(bad.split("/")[1]);
    consumerHooks.checkChange = null;
    expect(await replay()).toMatchObject({ repaired: 1, failed: [], left: 0 });
    // ...until the replay tells it, as the consumer would have.
    await eventually(async () => lateIds().includes(bad.split("/")[1]));
    ws.close();
    const row = await d1Doc(bad);
    expect(row).toMatchObject({ version: later.body.version, seq: Number(later.body.token.split(":")[1]) });
    expect(JSON.parse(row.data)).toEqual({ n: 3 });
    const entries = await env.DB.prepare(`SELECT COUNT(*) AS n FROM index_entries WHERE doc_path = ?`).bind(bad).first<{ n: number }>();
    expect(entries!.n).toBe(1);
    expect((await shardStatus(shard)).shard.quarantined).toBe(0);
  }, 20_000);

  it("quarantines a document whose index entry D1 cannot store (a ~1 MB string), and only it", async () => {
    // A found case, not a hook: an indexed string of 1,000,000 bytes makes an
    // index row over D1's 2 MB per value (its key travels as hex).
    const [big, next] = pathsOnSameShard("qbig", 2);
    const shard = shardFor(big);
    const w = await api("PUT", `/v1/docs/${big}`, { s: "a".repeat(1_000_000), n: 1 });
    expect(w.status).toBe(200);
    const after = await api("PUT", `/v1/docs/${next}`, { n: 2 });
    await eventually(async () => (await readWatermark(env.DB, shard)) >= Number(after.body.token.split(":")[1]), 15_000);
    expect(await d1Doc(next)).not.toBeNull();
    expect(await quarantinedRows(shard)).toEqual([
      { seq: Number(w.body.token.split(":")[1]), path: big, reason: expect.stringContaining("D1 allows"), attempts: 3 },
    ]);
    // The cause goes away with the data: a smaller version is indexed, and a replay closes the gap.
    const fixed = await api("PUT", `/v1/docs/${big}`, { s: "short", n: 1 });
    await eventually(async () => (await d1Doc(big))?.version === fixed.body.version, 10_000);
    expect(await replay(`?shard=${shard}`)).toMatchObject({ repaired: 1, left: 0 });
    expect(await quarantinedRows(shard)).toEqual([]);
  });

  it("isolates poison within a bounded number of D1 batches, however many changes fail", async () => {
    const shard = 7001;
    const changes: Change[] = Array.from({ length: 200 }, (_, i) => ({
      shard, seq: i + 1, path: `qmany/d${i}`, op: "set", version: 1, data: { i }, createTime: "t", updateTime: "t", existed: false,
    }));
    let batches = 0;
    const counting = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return (stmts: D1PreparedStatement[]) => (batches++, target.batch(stmts));
        const v = (target as any)[prop];
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as D1Database;
    const deps: ConsumerDeps = {
      topology: parseTopology({ INDEX_SHARDS: "DB" }), dbs: [counting], indexConfig: EMPTY_INDEX_CONFIG,
      fetchChange: async () => { throw new Error("no by-reference changes here"); },
      notifyShard: async () => undefined, requestBackfill: async () => undefined,
    };
    // One change in three is refused: bisecting all of them alone would take hundreds of batches.
    consumerHooks.checkChange = (c) => {
      if (Number(c.path.slice("qmany/d".length)) % 3 === 0) throw new Error(`index refuses ${c.path} (test hook)`);
    };
    const q = await quarantineFor({ v: 1, shard, fromSeq: 1, toSeq: 200, changes }, 3, deps);
    expect(batches).toBeLessThanOrEqual(BISECT_MAX_BATCHES + 2);
    const poisoned = new Set(q!.poison.map((p) => p.change.path));
    // Every refused change is in it; changes it could not try alone are too (a replay sorts them out).
    for (let i = 0; i < 200; i += 3) expect(poisoned.has(`qmany/d${i}`)).toBe(true);
    expect(q!.poison.some((p) => p.reason.includes("not tried alone"))).toBe(true);
    expect(poisoned.size).toBeLessThan(200);
  });

  it("refuses a bad shard number", async () => {
    const r = await api("POST", "/v1/admin/replay-quarantined?shard=x", undefined, await adminHeaders());
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
  });
});
