/**
 * The index verifier (POST /v1/admin/verify): each kind of difference made
 * by hand in the real D1 is found, a repair makes the next pass clean, and a
 * repair never overwrites a newer version than the shard's page named.
 * Real shards, D1 (two index databases), queue and consumer.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyStatements, clearStatements, toHex } from "../engine/index/apply";
import { ensureIndexBuilds } from "../engine/index/builds";
import { parseIndexConfig } from "../engine/index/config";
import { runBatch } from "../engine/index/d1";
import { encodeDocumentName, encodeValue } from "../engine/index/encoding";
import { consumerHooks } from "../engine/pipeline/consumer";
import { adminHeaders, api, d1Doc, eventually, indexDbFor, pathsOnSameShard, shardFor } from "./helpers";
import { indexed, remove, verifyAll, write } from "./support/verify";

describe("index verifier", () => {
  it("refuses callers without an admin key and bad bodies", async () => {
    const { createKey } = await import("./helpers");
    const client = await createKey("client");
    expect((await api("POST", "/v1/admin/verify", { shard: 0 }, client.headers)).status).toBe(403);
    expect((await api("POST", "/v1/admin/verify", { shard: 9999 }, await adminHeaders())).status).toBe(400);
    expect((await api("POST", "/v1/admin/verify", { shard: 0, limit: 0 }, await adminHeaders())).status).toBe(400);
  });

  it("finds each kind of difference, and a repair makes the next pass clean", async () => {
    const p = (id: string) => `vproj/p1/tasks/${id}`;
    const docs = ["a", "b", "c", "d", "e", "g", "h"].map(p);
    let head = 0;
    for (const [i, path] of docs.entries()) {
      const seq = await write(path, { status: "open", owner: `u${i}`, priority: i, createdAt: i, tags: ["x", `t${i}`] });
      await indexed(path, seq);
      head = seq;
    }
    await indexed(p("g"), await remove(p("g")));
    expect(head).toBeGreaterThan(0);
    const clean = await verifyAll({ collection: "tasks" });
    expect(clean.differences).toEqual({});
    expect(clean.checked).toBe(docs.length);

    const db = (path: string) => indexDbFor(path);
    // missing: the document row is gone (its entries stay, found once it is back).
    await db(p("a")).prepare(`DELETE FROM documents WHERE path = ?`).bind(p("a")).run();
    // mismatch: the version changed behind the seq guard.
    await db(p("b")).prepare(`UPDATE documents SET version = version + 5 WHERE path = ?`).bind(p("b")).run();
    // entry_extra and entry_missing: an entry that no field has, and one taken away.
    const c = await d1Doc(p("c"));
    await db(p("c"))
      .prepare(`INSERT INTO index_entries (collection_path, collection_id, field, kind, value, doc_key, doc_path, seq) VALUES (?, 'tasks', 'ghost', 'value', unhex(?), unhex(?), ?, ?)`)
      .bind("vproj/p1/tasks", toHex(encodeValue(1)), toHex(encodeDocumentName(p("c"))), p("c"), c.seq)
      .run();
    await db(p("d")).prepare(`DELETE FROM index_entries WHERE doc_path = ? AND field = 'owner'`).bind(p("d")).run();
    // composite_missing: the document's composite entries are gone.
    await db(p("h")).prepare(`DELETE FROM composite_entries WHERE doc_path = ?`).bind(p("h")).run();
    // extra: a document the shard has no record of (seq 0: not newer than the shard's last seq, even on an idle shard), and the deleted one back.
    const ghost = p("zz-ghost");
    await db(ghost)
      .prepare(`INSERT INTO documents (path, collection_path, collection_id, doc_id, data, version, create_time, update_time, shard, seq) VALUES (?, 'vproj/p1/tasks', 'tasks', 'zz-ghost', '{}', 1, 'x', 'x', ?, 0)`)
      .bind(ghost, shardFor(ghost))
      .run();
    await db(p("g"))
      .prepare(`INSERT INTO documents (path, collection_path, collection_id, doc_id, data, version, create_time, update_time, shard, seq) VALUES (?, 'vproj/p1/tasks', 'tasks', 'g', '{}', 1, 'x', 'x', ?, 1)`)
      .bind(p("g"), shardFor(p("g")))
      .run();
    // tombstone: one that would hide a live document.
    const e = await d1Doc(p("e"));
    await db(p("e")).prepare(`INSERT INTO tombstones (path, shard, seq, delete_time) VALUES (?, ?, ?, 'x')`).bind(p("e"), e.shard, e.seq).run();

    const found = await verifyAll({ collection: "tasks" });
    expect(found.differences).toMatchObject({
      missing: 1,
      mismatch: 1,
      entry_extra: 1,
      entry_missing: 1,
      composite_missing: 6, // h is in all six declared "tasks" indexes
      extra: 2,
      tombstone: 1,
    });
    expect(found.examples.map((x) => `${x.kind} ${x.path}`)).toEqual(
      expect.arrayContaining([`missing ${p("a")}`, `mismatch ${p("b")}`, `extra ${ghost}`, `extra ${p("g")}`, `tombstone ${p("e")}`]),
    );

    const repaired = await verifyAll({ collection: "tasks", repair: true });
    expect(repaired.repaired).toBe(found.documents);
    expect(await verifyAll({ collection: "tasks" })).toMatchObject({ differences: {}, documents: 0 });
    expect(await d1Doc(ghost)).toBeNull();
    expect(await d1Doc(p("g"))).toBeNull();
    expect(await d1Doc(p("a"))).toMatchObject({ version: 1 });
    expect(await d1Doc(p("b"))).toMatchObject({ version: 1 });
    // The repaired documents answer queries again.
    const q = await api("POST", "/v1/query", { from: { collection: "vproj/p1/tasks" }, where: ["owner", "==", "u3"] });
    expect(q.body.docs.map((d: { path: string }) => d.path)).toEqual([p("d")]);
  });

  it("pages through a shard in small pages", async () => {
    for (let i = 0; i < 12; i++) await write(`vpage/d${i}`, { n: i });
    await eventually(async () => (await verifyAll({ collection: "vpage", limit: 2 })).checked === 12, 10_000);
    await indexDbFor("vpage/d3").prepare(`DELETE FROM documents WHERE path = 'vpage/d3'`).run();
    expect((await verifyAll({ collection: "vpage", limit: 2 })).differences).toEqual({ missing: 1 });
  });

  it("a repair never replaces a newer version than it names (the seq guard holds)", async () => {
    const path = "vguard/d1";
    const seq1 = await write(path, { n: 1 });
    const seq2 = await write(path, { n: 2 });
    await indexed(path, seq2);
    const old = { shard: shardFor(path), seq: seq1, path, op: "set" as const, version: 1, updateTime: "t", createTime: "t", existed: false, data: { n: 1 } };
    await runBatch(indexDbFor(path), applyStatements([old], undefined, { head: seq2 }));
    expect(await d1Doc(path)).toMatchObject({ seq: seq2, data: JSON.stringify({ n: 2 }) });
    const entries = await indexDbFor(path).prepare(`SELECT seq FROM index_entries WHERE doc_path = ?`).bind(path).all<{ seq: number }>();
    expect(entries.results.map((r) => r.seq)).toEqual([seq2]);
  });

  it("clearing a document the shard has no record of takes its full-text rows too, and keeps a newer version", async () => {
    const config = parseIndexConfig({ searchIndexes: [{ collectionGroup: "vnotes", fields: ["title"] }] });
    await ensureIndexBuilds(env.DB, config);
    const table = `search_${config.searchIndexes![0].id.slice(3)}`;
    const change = (path: string, seq: number) => ({ shard: 0, seq, path, op: "set" as const, version: 1, updateTime: "t", createTime: "t", existed: false, data: { title: "quick fox" } });
    await runBatch(env.DB, applyStatements([change("vnotes/ghost", 5), change("vnotes/newer", 9)], config));
    const count = async (path: string) => ({
      docs: (await env.DB.prepare(`SELECT COUNT(*) AS n FROM documents WHERE path = ?`).bind(path).first<{ n: number }>())!.n,
      rows: (await env.DB.prepare(`SELECT COUNT(*) AS n FROM search_rows WHERE path = ?`).bind(path).first<{ n: number }>())!.n,
      fts: (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE rowid IN (SELECT id FROM search_rows WHERE path = ?)`).bind(path).first<{ n: number }>())!.n,
    });
    expect(await count("vnotes/ghost")).toEqual({ docs: 1, rows: 1, fts: 1 });
    const before = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
    await runBatch(env.DB, clearStatements(["vnotes/ghost", "vnotes/newer"], 7, config));
    expect(await count("vnotes/ghost")).toEqual({ docs: 0, rows: 0, fts: 0 });
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n).toBe(before - 1);
    // Written after the shard's page was read (seq 9 > head 7): not the repair's to remove.
    expect(await count("vnotes/newer")).toEqual({ docs: 1, rows: 1, fts: 1 });
  });

  it("a document the index refuses does not hold back the rest of its page's repair", async () => {
    // One shard, so one page: without the one-by-one fallback neither would be repaired.
    const [good, bad] = pathsOnSameShard("vrefuse", 2);
    const seqs = [await write(good, { n: 1 }), await write(bad, { n: 2 })];
    await indexed(good, seqs[0]);
    await indexed(bad, seqs[1]);
    for (const path of [good, bad]) await indexDbFor(path).prepare(`DELETE FROM documents WHERE path = ?`).bind(path).run();
    consumerHooks.checkChange = (c) => {
      if (c.path === bad) throw new Error(`index refuses ${bad} (test hook)`);
    };
    try {
      const pages = [];
      const r = await api("POST", "/v1/admin/verify", { shard: shardFor(good), collection: "vrefuse", repair: true }, await adminHeaders());
      pages.push(r.body);
      expect(pages.reduce((n, p) => n + p.repaired, 0)).toBe(1);
      expect(pages.flatMap((p) => p.repairFailed ?? [])).toEqual([{ path: bad, reason: expect.stringContaining("test hook") }]);
    } finally {
      consumerHooks.checkChange = null;
    }
    expect(await d1Doc(good)).toMatchObject({ seq: seqs[0] });
    expect(await d1Doc(bad)).toBeNull();
    expect((await verifyAll({ collection: "vrefuse", repair: true })).repaired).toBe(1);
    expect(await d1Doc(bad)).toMatchObject({ seq: seqs[1] });
  });
});
