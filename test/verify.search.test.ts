/**
 * The index verifier on full-text search rows: search_rows and the FTS5 text
 * of blaze.indexes.json's search index (tasks: title), damaged behind
 * Blaze's back in the real D1, are reported by kind, a repair fixes them,
 * the next pass is clean and search queries answer the right documents.
 */
import { describe, expect, it } from "vitest";
import { indexConfig } from "../engine/index/load-config";
import { api, eventually, indexDbFor } from "./helpers";
import { indexed, remove, verifyAll, write } from "./support/verify";

const index = indexConfig.searchIndexes!.find((i) => i.collectionGroup === "tasks")!;
const table = `search_${index.id.slice(3)}`;
const p = (id: string) => `vsrch/p1/tasks/${id}`;
const note = "vsrch/p1/notes/n";

const rowOf = (path: string) => indexDbFor(path).prepare(`SELECT id, seq FROM search_rows WHERE index_id = ? AND path = ?`).bind(index.id, path).first<{ id: number; seq: number }>();
const run = (path: string, query: string, ...args: unknown[]) => indexDbFor(path).prepare(query).bind(...args).run();
/** A search_rows row and its FTS row, as if Blaze had written them. */
async function plant(path: string, seq: number, title: string) {
  await run(path, `INSERT INTO search_rows (index_id, path, seq) VALUES (?, ?, ?)`, index.id, path, seq);
  await run(path, `INSERT INTO ${table} (rowid, f0) VALUES (?, ?)`, (await rowOf(path))!.id, title);
}
/** The ids a search in vsrch/p1/tasks answers, sorted. */
async function search(text: string): Promise<string[]> {
  const r = await api("POST", "/v1/query", { from: { collection: "vsrch/p1/tasks" }, search: { text } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.docs.map((d: { id: string }) => d.id).sort();
}

describe("index verifier: full-text search rows", () => {
  it("finds each kind of search difference, a repair fixes them, and searches answer right again", async () => {
    const titles: Record<string, string> = { a: "alpha river", b: "bravo river", c: "charlie river", d: "delta river", g: "golf river" };
    for (const [id, title] of Object.entries(titles)) await indexed(p(id), await write(p(id), { title }));
    await indexed(note, await write(note, { title: "a note" }));
    await indexed(p("g"), await remove(p("g")));
    const d = await rowOf(p("d"));
    await indexed(p("d"), await write(p("d"), { title: "delta lake" }));
    for (const path of [p("a"), note]) {
      await eventually(async () => (await indexDbFor(path).prepare(`SELECT state FROM index_builds WHERE index_id = ?`).bind(index.id).first<{ state: string }>())?.state === "ready");
    }
    expect(await verifyAll({ collection: "tasks" })).toMatchObject({ differences: {}, checked: 5 });
    expect(await search("river")).toEqual(["a", "b", "c"]);

    // search_missing: the mapping row is gone (its FTS row stays behind, unreachable).
    await run(p("a"), `DELETE FROM search_rows WHERE index_id = ? AND path = ?`, index.id, p("a"));
    // search_mismatch: the FTS text changed; and the FTS row gone.
    await run(p("b"), `UPDATE ${table} SET f0 = 'bogus words' WHERE rowid = ?`, (await rowOf(p("b")))!.id);
    await run(p("c"), `DELETE FROM ${table} WHERE rowid = ?`, (await rowOf(p("c")))!.id);
    // search_stale: the row of d's first version back, with its old text.
    const dNow = (await rowOf(p("d")))!;
    await run(p("d"), `DELETE FROM ${table} WHERE rowid = ?`, dNow.id);
    await run(p("d"), `DELETE FROM search_rows WHERE id = ?`, dNow.id);
    await plant(p("d"), d!.seq, "delta river");
    // search_extra: rows for the deleted document, one the shard has no record of (seq 0: not newer than the
    // shard's last seq, even on an idle shard), and a document of a collection the index does not cover.
    await plant(p("g"), 1, "golf river");
    await plant(p("zz-ghost"), 0, "ghost river");
    await plant(note, 1, "a note");

    // Searches answer wrong: d's stale row matches, a, b and c do not.
    expect(await search("river")).toEqual(["d"]);
    expect(await search("bogus")).toEqual(["b"]);
    const found = await verifyAll({ collection: "tasks" });
    expect(found.differences).toEqual({ search_missing: 1, search_mismatch: 2, search_stale: 1, search_extra: 2 });
    expect(found.examples.map((x) => `${x.kind} ${x.path}`).sort()).toEqual(
      [`search_extra ${p("g")}`, `search_extra ${p("zz-ghost")}`, `search_mismatch ${p("b")}`, `search_mismatch ${p("c")}`, `search_missing ${p("a")}`, `search_stale ${p("d")}`],
    );
    expect((await verifyAll({ collection: "notes" })).differences).toEqual({ search_extra: 1 });

    const repaired = await verifyAll({ collection: "tasks", repair: true });
    expect(repaired.repaired).toBe(found.documents);
    expect((await verifyAll({ collection: "notes", repair: true })).repaired).toBe(1);
    expect(await verifyAll({ collection: "tasks" })).toMatchObject({ differences: {}, documents: 0 });
    expect(await verifyAll({ collection: "notes" })).toMatchObject({ differences: {}, documents: 0 });
    expect(await search("river")).toEqual(["a", "b", "c"]);
    expect(await search("lake")).toEqual(["d"]);
    expect(await search("bogus")).toEqual([]);
    expect(await search("golf")).toEqual([]);
    expect(await rowOf(p("g"))).toBeNull();
    expect(await rowOf(p("zz-ghost"))).toBeNull();
    expect(await rowOf(note)).toBeNull();
  });

  it("a repaired row whose rowid an orphaned FTS row holds gets its own text", async () => {
    const x = "vsrch2/p1/tasks/x";
    await indexed(x, await write(x, { title: "xray" }));
    const mine = (await rowOf(x))!;
    await run(x, `DELETE FROM ${table} WHERE rowid = ?`, mine.id);
    await run(x, `DELETE FROM search_rows WHERE id = ?`, mine.id);
    // An FTS row with no mapping row, at the rowid the next mapping row takes (SQLite gives the largest id + 1).
    await run(x, `INSERT INTO ${table} (rowid, f0) SELECT COALESCE(MAX(id), 0) + 1, 'bogus' FROM search_rows`);
    expect((await verifyAll({ collection: "tasks" })).differences).toEqual({ search_missing: 1 });
    expect((await verifyAll({ collection: "tasks", repair: true })).repaired).toBe(1);
    expect(await verifyAll({ collection: "tasks" })).toMatchObject({ differences: {}, documents: 0 });
    const found = await api("POST", "/v1/query", { from: { collectionGroup: "tasks" }, search: { text: "xray" } });
    expect(found.body.docs.map((d: { path: string }) => d.path)).toEqual([x]);
  });
});
