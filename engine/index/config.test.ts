import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { compositeIndexId, indexesFor, isExempt, parseIndexConfig, searchIndexesFor } from "./config";

const idx = (fields: unknown[], extra: Record<string, unknown> = {}) => ({ collectionGroup: "posts", queryScope: "COLLECTION", fields, ...extra });
const asc = (fieldPath: string) => ({ fieldPath, order: "ASCENDING" });
const desc = (fieldPath: string) => ({ fieldPath, order: "DESCENDING" });
const contains = (fieldPath: string) => ({ fieldPath, arrayConfig: "CONTAINS" });

function parseError(json: unknown): BlazeError {
  try {
    parseIndexConfig(json);
  } catch (e) {
    expect(e).toBeInstanceOf(BlazeError);
    expect((e as BlazeError).code).toBe("INVALID_ARGUMENT");
    return e as BlazeError;
  }
  throw new Error("expected parseIndexConfig to throw");
}

describe("parseIndexConfig", () => {
  it("reads Firestore's firestore.indexes.json format", () => {
    const config = parseIndexConfig({
      indexes: [
        idx([asc("author"), desc("date")]),
        { collectionGroup: "posts", queryScope: "COLLECTION_GROUP", fields: [contains("tags"), asc("date")], density: "SPARSE_ALL" },
      ],
      fieldOverrides: [{ collectionGroup: "posts", fieldPath: "body", indexes: [] }],
    });
    expect(config.indexes).toHaveLength(2);
    expect(config.indexes[0]).toEqual({
      id: expect.stringMatching(/^ci_[0-9a-f]{16}$/),
      collectionGroup: "posts",
      queryScope: "COLLECTION",
      fields: [
        { fieldPath: "author", order: "ASCENDING" },
        { fieldPath: "date", order: "DESCENDING" },
      ],
    });
    expect(config.indexes[1].fields[0]).toEqual({ fieldPath: "tags", arrayConfig: "CONTAINS" });
    expect(config.exemptions).toEqual([{ collectionGroup: "posts", fieldPath: "body" }]);
  });

  it("accepts an empty config and missing sections", () => {
    expect(parseIndexConfig({ indexes: [], fieldOverrides: [] })).toEqual({ indexes: [], exemptions: [] });
    expect(parseIndexConfig({})).toEqual({ indexes: [], exemptions: [] });
  });

  it("canonicalizes field paths, so spellings of one index get one id", () => {
    const a = parseIndexConfig({ indexes: [idx([asc("`a`.b"), asc("`x y`")])] }).indexes[0];
    const b = parseIndexConfig({ indexes: [idx([asc("a.`b`"), asc("`x y`")])] }).indexes[0];
    expect(a.fields.map((f) => f.fieldPath)).toEqual(["a.b", "`x y`"]);
    expect(a.id).toBe(b.id);
  });

  it("gives ids that are stable and depend on the whole definition", () => {
    const base = parseIndexConfig({ indexes: [idx([asc("a"), asc("b")])] }).indexes[0];
    expect(base.id).toBe(compositeIndexId({ collectionGroup: "posts", queryScope: "COLLECTION", fields: base.fields }));
    const others = [
      idx([asc("a"), desc("b")]),
      idx([asc("b"), asc("a")]),
      idx([asc("a"), asc("b")], { queryScope: "COLLECTION_GROUP" }),
      idx([asc("a"), asc("b")], { collectionGroup: "other" }),
      idx([asc("a"), contains("b")]),
    ].map((i) => parseIndexConfig({ indexes: [i] }).indexes[0].id);
    expect(new Set([base.id, ...others]).size).toBe(6);
  });

  it("drops a trailing __name__ ordered like the last field; rejects any other __name__", () => {
    const plain = parseIndexConfig({ indexes: [idx([asc("a"), desc("b")])] }).indexes[0];
    const named = parseIndexConfig({ indexes: [idx([asc("a"), desc("b"), desc("__name__")])] }).indexes[0];
    expect(named).toEqual(plain);
    const afterContains = parseIndexConfig({ indexes: [idx([asc("a"), contains("t"), asc("__name__")])] }).indexes[0];
    expect(afterContains.fields).toHaveLength(2);
    expect(parseError({ indexes: [idx([asc("a"), desc("b"), asc("__name__")])] }).message).toMatch(/__name__ must have the order of the last field \(DESCENDING\)/);
    expect(parseError({ indexes: [idx([asc("__name__"), asc("a"), asc("b")])] }).message).toMatch(/__name__ may only be the last field/);
    expect(parseError({ indexes: [idx([asc("a"), asc("b"), contains("__name__")])] }).message).toMatch(/__name__ cannot have an arrayConfig/);
  });

  it("defaults queryScope to COLLECTION", () => {
    const { indexes } = parseIndexConfig({ indexes: [{ collectionGroup: "c", fields: [asc("a"), asc("b")] }] });
    expect(indexes[0].queryScope).toBe("COLLECTION");
  });

  it("rejects bad definitions, naming the problem and where", () => {
    const cases: [unknown, RegExp][] = [
      [{ indexes: [idx([asc("a")])] }, /indexes\[0\]: a composite index needs at least 2 fields/],
      [{ indexes: [idx([asc("a"), desc("__name__")])] }, /at least 2 fields besides __name__/],
      [{ indexes: [idx([contains("a"), contains("b")])] }, /at most one field may have an arrayConfig/],
      [{ indexes: [idx([asc("a"), desc("a")])] }, /indexes\[0\]\.fields\[1\]: field a appears twice/],
      [{ indexes: [idx([{ fieldPath: "a" }, asc("b")])] }, /fields\[0\]: give exactly one of "order" or "arrayConfig"/],
      [{ indexes: [idx([{ fieldPath: "a", order: "ASCENDING", arrayConfig: "CONTAINS" }, asc("b")])] }, /exactly one/],
      [{ indexes: [idx([{ fieldPath: "a", order: "UP" }, asc("b")])] }, /indexes\[0\]\.fields\[0\]\.order/],
      [{ indexes: [idx([{ fieldPath: "v", vectorConfig: { dimension: 3 } }, asc("b")])] }, /vectorConfig/],
      [{ indexes: [idx([asc("a..b"), asc("c")])] }, /indexes\[0\]\.fields\[0\]\.fieldPath: invalid field path/],
      [{ indexes: [idx([asc("a"), asc("b")], { collectionGroup: "a/b" })] }, /indexes\[0\]\.collectionGroup/],
      [{ indexes: [idx([asc("a"), asc("b")], { queryScope: "DATABASE" })] }, /queryScope/],
      [{ indexes: [idx([asc("a"), asc("b")]), idx([asc("a"), asc("`b`"), asc("__name__")])] }, /indexes\[1\] duplicates indexes\[0\]/],
      [{ indexes: {} }, /indexes/],
      [{ indexes: [], extra: 1 }, /extra/],
      [[], /root/],
      [{ fieldOverrides: [{ collectionGroup: "c", fieldPath: "f", indexes: [{ order: "ASCENDING", queryScope: "COLLECTION" }] }] }, /only `"indexes": \[\]`/],
      [{ fieldOverrides: [{ collectionGroup: "c", fieldPath: "f", indexes: [], ttl: true }] }, /TTL/],
      [{ fieldOverrides: [{ collectionGroup: "c", fieldPath: "__name__", indexes: [] }] }, /__name__ cannot be exempted/],
      [{ fieldOverrides: [{ collectionGroup: "c", fieldPath: "f", indexes: [] }, { collectionGroup: "c", fieldPath: "`f`", indexes: [] }] }, /fieldOverrides\[1\] duplicates fieldOverrides\[0\]/],
      [{ fieldOverrides: [{ collectionGroup: "c", fieldPath: "", indexes: [] }] }, /fieldOverrides\[0\]\.fieldPath/],
    ];
    for (const [json, message] of cases) expect(parseError(json).message).toMatch(message);
  });
});

describe("isExempt / indexesFor", () => {
  const config = parseIndexConfig({
    indexes: [idx([asc("a"), asc("b")]), { collectionGroup: "users", queryScope: "COLLECTION_GROUP", fields: [asc("x"), asc("y")] }],
    fieldOverrides: [
      { collectionGroup: "posts", fieldPath: "body", indexes: [] },
      { collectionGroup: "posts", fieldPath: "`meta.data`.raw", indexes: [] },
    ],
  });

  it("exempts the field and its subfields, in its collection id only", () => {
    expect(isExempt(config, "posts", "body")).toBe(true);
    expect(isExempt(config, "posts", "body.text")).toBe(true);
    expect(isExempt(config, "posts", "body.`a.b`")).toBe(true);
    expect(isExempt(config, "posts", "bodyguard")).toBe(false);
    expect(isExempt(config, "posts", "`body.x`")).toBe(false);
    expect(isExempt(config, "posts", "`meta.data`.raw.x")).toBe(true);
    expect(isExempt(config, "posts", "`meta.data`")).toBe(false);
    expect(isExempt(config, "posts", "meta.data.raw")).toBe(false);
    expect(isExempt(config, "users", "body")).toBe(false);
  });

  it("lists a collection id's indexes", () => {
    expect(indexesFor(config, "posts").map((i) => i.fields.map((f) => f.fieldPath))).toEqual([["a", "b"]]);
    expect(indexesFor(config, "users")).toHaveLength(1);
    expect(indexesFor(config, "nope")).toEqual([]);
  });
});

describe("searchIndexes", () => {
  it("reads search indexes with their defaults (collection scope, unicode61) and stable ids", () => {
    const config = parseIndexConfig({
      searchIndexes: [
        { collectionGroup: "posts", fields: ["title", "body.text"] },
        { collectionGroup: "posts", queryScope: "COLLECTION_GROUP", fields: ["sku"], tokenizer: "trigram" },
      ],
    });
    expect(config.searchIndexes).toEqual([
      { id: expect.stringMatching(/^si_[0-9a-f]{16}$/), collectionGroup: "posts", queryScope: "COLLECTION", fields: ["title", "body.text"], tokenizer: "unicode61" },
      { id: expect.stringMatching(/^si_[0-9a-f]{16}$/), collectionGroup: "posts", queryScope: "COLLECTION_GROUP", fields: ["sku"], tokenizer: "trigram" },
    ]);
    expect(parseIndexConfig({ searchIndexes: [{ collectionGroup: "posts", fields: ["title", "body.text"] }] }).searchIndexes![0].id).toBe(config.searchIndexes![0].id);
    expect(searchIndexesFor(config, "posts")).toHaveLength(2);
    expect(searchIndexesFor(config, "users")).toEqual([]);
    // A config without search indexes has no key (its hash is what it was before search existed).
    expect(parseIndexConfig({ indexes: [] })).not.toHaveProperty("searchIndexes");
  });

  it.each([
    [{ collectionGroup: "posts", fields: [] }, /searchIndexes\[0\]\.fields: a search index needs at least one field/],
    [{ collectionGroup: "posts", fields: ["a"], tokenizer: "porter" }, /searchIndexes\[0\]\.tokenizer: tokenizer must be "unicode61" or "trigram"/],
    [{ collectionGroup: "a/b", fields: ["a"] }, /searchIndexes\[0\]\.collectionGroup/],
    [{ collectionGroup: "posts", fields: ["a", "a"] }, /searchIndexes\[0\]\.fields\[1\]: field a appears twice/],
    [{ collectionGroup: "posts", fields: ["__name__"] }, /__name__ cannot be searched/],
    [{ collectionGroup: "posts", fields: ["a..b"] }, /searchIndexes\[0\]\.fields\[0\]/],
    [{ collectionGroup: "posts", fields: ["a"], weights: [1] }, /searchIndexes\[0\]: Unrecognized key/],
  ])("refuses %j", (entry, message) => {
    expect(parseError({ searchIndexes: [entry] }).message).toMatch(message);
  });

  it("refuses a duplicate", () => {
    const e = { collectionGroup: "posts", fields: ["title"] };
    expect(parseError({ searchIndexes: [e, { ...e, tokenizer: "unicode61" }] }).message).toMatch(/searchIndexes\[1\] duplicates searchIndexes\[0\]/);
  });
});
