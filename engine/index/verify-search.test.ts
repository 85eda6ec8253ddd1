import { describe, expect, it } from "vitest";
import { parseIndexConfig } from "./config";
import { compareIndexed, type IndexedRows, type TruthDoc } from "./verify";
import { compareSearchRows, readySearchIndexes, type SearchRow } from "./verify-search";

const config = parseIndexConfig({
  searchIndexes: [
    { collectionGroup: "notes", fields: ["title", "body.text"] },
    { collectionGroup: "notes", fields: ["tags"], tokenizer: "trigram" },
    { collectionGroup: "tasks", fields: ["title"] },
  ],
});
const [both, tags, tasks] = config.searchIndexes!;
const all = new Set(config.searchIndexes!.map((i) => i.id));
const data = { title: "Quick fox", body: { text: "lazy dog" }, tags: ["a", 1, "b"] };
const live = { seq: 7, data };
const row = (index_id: string, texts: string[] | null, seq = 7): SearchRow => ({ index_id, seq, texts });
const good = [row(both.id, ["Quick fox", "lazy dog"]), row(tags.id, ["a\nb"])];
const kinds = (path: string, v: typeof live | null, rows: SearchRow[]) =>
  compareSearchRows(path, v, rows, config.searchIndexes!).map((f) => `${f.kind} ${f.count}`);

describe("compareSearchRows", () => {
  it("finds nothing when every covering index holds the fields' text at the version's seq", () => {
    expect(kinds("notes/n1", live, good)).toEqual([]);
    expect(kinds("u/x/notes/n1", live, good)).toEqual([]);
    expect(kinds("other/o", live, [])).toEqual([]);
    expect(kinds("notes/gone", null, [])).toEqual([]);
  });

  it("reports a missing row per index", () => {
    expect(kinds("notes/n1", live, [])).toEqual(["search_missing 2"]);
    expect(kinds("notes/n1", live, [good[0]])).toEqual(["search_missing 1"]);
  });

  it("reports a row of another seq as stale", () => {
    expect(kinds("notes/n1", live, [good[0], row(tags.id, ["a\nb"], 6)])).toEqual(["search_stale 1"]);
    expect(kinds("notes/n1", live, [good[0], row(tags.id, ["a\nb"], 8)])).toEqual(["search_stale 1"]);
  });

  it("reports a text that differs, in any field, and an FTS row that is gone", () => {
    const found = compareSearchRows("notes/n1", live, [row(both.id, ["Quick fox", "lazy cat"]), row(tags.id, null)], config.searchIndexes!);
    expect(found).toEqual([{ kind: "search_mismatch", count: 2, detail: expect.stringMatching(/body\.text differs.*FTS row of seq 7 is gone/) }]);
  });

  it("reports rows of deleted or absent documents and of collections an index does not cover", () => {
    expect(kinds("notes/gone", null, good)).toEqual(["search_extra 2"]);
    expect(kinds("notes/n1", live, [...good, row(tasks.id, ["Quick fox"])])).toEqual(["search_extra 1"]);
    expect(kinds("tasks/t1", live, [row(tasks.id, ["Quick fox"]), good[1]])).toEqual(["search_extra 1"]);
  });

  it("looks only at the indexes it is given", () => {
    expect(compareSearchRows("notes/n1", live, [], readySearchIndexes(config, new Set([tasks.id])))).toEqual([]);
    expect(compareSearchRows("tasks/t1", live, good, [tasks])).toEqual([{ kind: "search_missing", count: 1, detail: expect.any(String) }]);
    expect(readySearchIndexes(config, new Set([tags.id, "ci_other"]))).toEqual([tags]);
    expect(readySearchIndexes(parseIndexConfig({}), all)).toEqual([]);
  });
});

describe("compareIndexed with search rows", () => {
  const truth: TruthDoc = { path: "notes/n1", seq: 7, deleted: false, version: 2, data: JSON.stringify(data), createTime: "c", updateTime: "u" };
  const doc = { seq: 7, version: 2, data: JSON.stringify(data), create_time: "c", update_time: "u" };
  const rows = (over: Partial<IndexedRows>): IndexedRows => ({ doc, tombstone: null, entries: [], composites: [], search: good, ...over });
  const searchKinds = (t: TruthDoc | null, r: IndexedRows, ready = all, head = 10) => {
    const c = compareIndexed(truth.path, t, head, r, config, ready);
    return c.concurrent ? "concurrent" : c.differences.filter((d) => d.kind.startsWith("search_")).map((d) => `${d.kind} ${d.count}`);
  };

  it("compares the search rows of the version the index holds, in built indexes only", () => {
    expect(searchKinds(truth, rows({}))).toEqual([]);
    expect(searchKinds(truth, rows({ search: [good[0]] }))).toEqual(["search_missing 1"]);
    expect(searchKinds(truth, rows({ search: [good[0]] }), new Set([both.id]))).toEqual([]);
    // A missing or stale document row is reported once, as such: its search rows are rewritten with it.
    expect(searchKinds(truth, rows({ doc: null, search: [] }))).toEqual([]);
  });

  it("reports the search rows of a document deleted or absent here as extra", () => {
    expect(searchKinds({ ...truth, deleted: true, data: null, seq: 8 }, rows({ doc: null }))).toEqual(["search_extra 2"]);
    expect(searchKinds(null, rows({ doc: null }))).toEqual(["search_extra 2"]);
  });

  it("skips search rows newer than the shard's last seq (written since)", () => {
    expect(searchKinds(null, rows({ doc: null, search: [row(both.id, ["x", "y"], 12)] }))).toEqual([]);
  });
});
