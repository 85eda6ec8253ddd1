import { describe, expect, it } from "vitest";
import { BlazeError } from "../errors";
import { parseQuery } from "./ast";
import { matchesQuery } from "./evaluate";
import { canonicalKey, normalizeQuery } from "./normalize";
import { enableSearch } from "./search-spec";

enableSearch();
const nq = (body: unknown) => normalizeQuery(parseQuery(body));

describe("search in the query language", () => {
  it("orders by relevance without orderBy: no implicit inequality fields, __name__ only", () => {
    const q = nq({ from: { collection: "posts" }, search: { text: "fox" }, where: ["n", ">", 1] });
    expect(q.search).toEqual({ text: "fox", fields: null, mode: "words", tokenizer: null, relevance: true });
    expect(q.orderBy.map((o) => o.field)).toEqual(["__name__"]);
    const ordered = nq({ from: { collection: "posts" }, search: { text: "fox", fields: ["a.b"], mode: "prefix" }, where: ["n", ">", 1], orderBy: [["n", "desc"]] });
    expect(ordered.search).toMatchObject({ fields: [{ field: "a.b", segments: ["a", "b"] }], mode: "prefix", relevance: false });
    expect(ordered.orderBy.map((o) => o.field)).toEqual(["n", "__name__"]);
  });

  it("refuses cursors in relevance order, and bad fields", () => {
    for (const [body, message] of [
      [{ search: { text: "x" }, startAt: ["a"] }, /startAt needs an orderBy on a search/],
      [{ search: { text: "x" }, endBefore: ["a"] }, /endBefore needs an orderBy on a search/],
      [{ search: { text: "x", fields: ["a", "a"] } }, /search.fields\[1\]: field a is given twice/],
      [{ search: { text: "x", fields: ["__name__"] } }, /__name__ cannot be searched/],
      [{ search: { text: "x", fields: [] } }, /search.fields needs at least one field/],
      [{ search: { text: 3 } }, /search.text must be a string/],
      [{ search: "x" }, /search takes \{"text"/],
    ] as const) {
      let err: unknown;
      try {
        nq({ from: { collection: "posts" }, ...body });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(body)).toBeInstanceOf(BlazeError);
      expect((err as BlazeError).code).toBe("INVALID_ARGUMENT");
      expect((err as BlazeError).message).toMatch(message);
    }
  });

  it("is part of the query's identity", () => {
    const key = (search: unknown) => canonicalKey(nq({ from: { collection: "posts" }, search }));
    expect(key({ text: "fox" })).not.toBe(key({ text: "dog" }));
    expect(key({ text: "fox" })).not.toBe(key({ text: "fox", mode: "prefix" }));
    expect(key({ text: "fox" })).toBe(key({ text: "fox" }));
    expect(canonicalKey(nq({ from: { collection: "posts" } }))).toBe('[["c","posts"],[[]],[["__name__","asc"]],null,null,null,null,null]');
  });

  it("matches documents by the searched fields (every top-level field when none are given)", () => {
    const doc = { path: "posts/p", data: { title: "Quick brown fox", body: "lazy dog", n: 1 } };
    expect(matchesQuery(doc, nq({ from: { collection: "posts" }, search: { text: "fox dog" } }))).toBe(true);
    expect(matchesQuery(doc, nq({ from: { collection: "posts" }, search: { text: "fox dog", fields: ["title"] } }))).toBe(false);
    expect(matchesQuery(doc, nq({ from: { collection: "posts" }, search: { text: "qui bro", mode: "prefix", fields: ["title"] } }))).toBe(true);
    expect(matchesQuery(doc, nq({ from: { collection: "other" }, search: { text: "fox" } }))).toBe(false);
  });
});
