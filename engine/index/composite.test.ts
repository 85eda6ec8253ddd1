import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { getField, parseFieldPath } from "../core/field-path";
import { base64Encode, compareValues, timestampFromParts, valuesEqual, type DocumentData, type Value } from "../core/values";
import { compositeEntriesFor, compositeKeyPrefix, compositeScope, prefixUpperBound } from "./composite";
import type { CompositeIndex, CompositeIndexField } from "./config-types";
import { compareBytes, concatBytes, encodeDocumentName, encodeValue, invertBytes } from "./encoding";

const index = (fields: CompositeIndexField[], queryScope: CompositeIndex["queryScope"] = "COLLECTION"): CompositeIndex => ({
  id: "ci_test",
  collectionGroup: "col",
  queryScope,
  fields,
});
const asc = (fieldPath: string): CompositeIndexField => ({ fieldPath, order: "ASCENDING" });
const desc = (fieldPath: string): CompositeIndexField => ({ fieldPath, order: "DESCENDING" });
const contains = (fieldPath: string): CompositeIndexField => ({ fieldPath, arrayConfig: "CONTAINS" });

describe("compositeEntriesFor", () => {
  it("concatenates the field encodings and the document name", () => {
    const i = index([asc("a"), desc("m.b")]);
    expect(compositeEntriesFor(i, "col/d1", { a: 1, m: { b: "x" }, other: true })).toEqual([
      concatBytes(encodeValue(1), encodeValue("x", "desc"), invertBytes(encodeDocumentName("col/d1"))),
    ]);
  });

  it("orders the name like the last field", () => {
    const i = index([desc("a"), asc("b")]);
    expect(compositeEntriesFor(i, "col/d", { a: 1, b: 2 })).toEqual([concatBytes(encodeValue(1, "desc"), encodeValue(2), encodeDocumentName("col/d"))]);
  });

  it("gives a document missing an indexed field no entries; null is a value", () => {
    const i = index([asc("a"), asc("m.b")]);
    expect(compositeEntriesFor(i, "col/d", { a: 1 })).toEqual([]);
    expect(compositeEntriesFor(i, "col/d", { a: 1, m: 5 })).toEqual([]);
    expect(compositeEntriesFor(i, "col/d", { a: null, m: { b: null } })).toHaveLength(1);
  });

  it("gives an array-contains field one entry per distinct element, ascending", () => {
    const i = index([desc("a"), contains("tags"), desc("z")]);
    const keys = compositeEntriesFor(i, "col/d", { a: 1, tags: ["x", "y", "x", 0, -0], z: 2 });
    const key = (e: Value) => concatBytes(encodeValue(1, "desc"), encodeValue(e), encodeValue(2, "desc"), invertBytes(encodeDocumentName("col/d")));
    expect(keys).toEqual([key("x"), key("y"), key(0)]);
  });

  it("gives an array-contains field that is not a non-empty array no entries", () => {
    const i = index([contains("tags"), asc("a")]);
    expect(compositeEntriesFor(i, "col/d", { tags: [], a: 1 })).toEqual([]);
    expect(compositeEntriesFor(i, "col/d", { tags: "x", a: 1 })).toEqual([]);
    expect(compositeEntriesFor(i, "col/d", { a: 1 })).toEqual([]);
  });
});

describe("compositeScope", () => {
  it("is the collection path, or the collection id for group scope", () => {
    expect(compositeScope(index([asc("a"), asc("b")]), "u/alice/col/d")).toBe("u/alice/col");
    expect(compositeScope(index([asc("a"), asc("b")], "COLLECTION_GROUP"), "u/alice/col/d")).toBe("col");
  });
});

describe("compositeKeyPrefix", () => {
  const i = index([asc("a"), contains("t"), desc("b")]);
  const [key] = compositeEntriesFor(i, "col/d", { a: "s", t: [3], b: true });

  it("encodes a prefix of the fields as keys do, optionally with the name", () => {
    for (const values of [[], ["s"], ["s", 3], ["s", 3, true], ["s", 3, true, { $ref: "col/d" }]] as Value[][]) {
      const p = compositeKeyPrefix(i, values);
      expect(key.subarray(0, p.length)).toEqual(p);
    }
    expect(compositeKeyPrefix(i, ["s", 3, true, { $ref: "col/d" }])).toEqual(key);
  });

  it("rejects too many values and a name that is not a reference", () => {
    expect(() => compositeKeyPrefix(i, ["s", 3, true, { $ref: "col/d" }, 1])).toThrow(BlazeError);
    expect(() => compositeKeyPrefix(i, ["s", 3, true, "col/d"])).toThrow(/document reference/);
  });
});

describe("prefixUpperBound", () => {
  it("is the smallest string above everything with the prefix", () => {
    expect(prefixUpperBound(new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 3]));
    expect(prefixUpperBound(new Uint8Array([1, 0xff, 0xff]))).toEqual(new Uint8Array([2]));
    expect(prefixUpperBound(new Uint8Array([0xff]))).toBeNull();
    expect(prefixUpperBound(new Uint8Array([]))).toBeNull();
  });

  it("bounds every key with the prefix (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 4 }), (prefix, rest) => {
        const end = prefixUpperBound(prefix);
        const key = concatBytes(prefix, rest);
        if (end) expect(compareBytes(key, end)).toBe(-1);
        else expect(prefix.every((b) => b === 0xff)).toBe(true);
      }),
    );
  });
});

// ---------------------------------------------------------------- property

const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, NaN, Infinity, -Infinity),
  fc.string({ unit: fc.constantFrom("a", "b", "\0", "é"), maxLength: 3 }),
  fc.integer({ min: -2, max: 2 }).map((s) => timestampFromParts(s, 0)),
  fc.uint8Array({ maxLength: 2 }).map((b) => ({ $bytes: base64Encode(b) })),
  fc.constantFrom("x/1", "x/1/y/2", "y/0").map((r) => ({ $ref: r })),
);
const value: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("k", "l"), scalar, { maxKeys: 2 }) },
);
// Arrays weigh more for the array-contains field, with repeats to dedupe.
const fieldValue = fc.oneof(value, fc.array(fc.oneof(scalar, fc.constantFrom<Value>(1, "a")), { maxLength: 4 }));
// Mostly complete documents (they have entries), sometimes missing fields (they have none).
const data: fc.Arbitrary<DocumentData> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ a: fieldValue, b: fieldValue, m: fc.record({ c: fieldValue }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ a: fieldValue, b: fieldValue, m: fc.oneof(fc.record({ c: fieldValue }, { requiredKeys: [] }), scalar) }, { requiredKeys: [] }),
  },
);

const indexArb = fc
  .record({
    paths: fc.shuffledSubarray(["a", "b", "m.c"], { minLength: 2, maxLength: 3 }),
    orders: fc.array(fc.constantFrom<"ASCENDING" | "DESCENDING">("ASCENDING", "DESCENDING"), { minLength: 3, maxLength: 3 }),
    containsAt: fc.integer({ min: -1, max: 2 }),
    queryScope: fc.constantFrom<CompositeIndex["queryScope"]>("COLLECTION", "COLLECTION_GROUP"),
  })
  .map(({ paths, orders, containsAt, queryScope }) =>
    index(
      paths.map((p, i): CompositeIndexField => (i === containsAt ? contains(p) : { fieldPath: p, order: orders[i] })),
      queryScope,
    ),
  );

const pathArb = fc.tuple(fc.constantFrom("col", "p/1/col", "p/2/col", "p/1/col/x/col"), fc.string({ unit: fc.constantFrom("a", "b", "é"), minLength: 1, maxLength: 2 }))
  .map(([c, id]) => `${c}/${id}`);

/** The reference: one row per document (per distinct element of an array-contains field), values in index order. */
function referenceRows(i: CompositeIndex, docs: { path: string; data: DocumentData }[]) {
  const rows: { path: string; values: Value[] }[] = [];
  for (const d of docs) {
    const vals = i.fields.map((f) => getField(d.data, parseFieldPath(f.fieldPath)));
    if (vals.some((v) => v === undefined)) continue;
    const at = i.fields.findIndex((f) => f.arrayConfig);
    if (at === -1) {
      rows.push({ path: d.path, values: vals as Value[] });
      continue;
    }
    const list = vals[at];
    if (!Array.isArray(list)) continue;
    const distinct: Value[] = [];
    for (const e of list) if (!distinct.some((x) => valuesEqual(x, e))) distinct.push(e);
    for (const e of distinct) rows.push({ path: d.path, values: vals.map((v, k) => (k === at ? e : v)) as Value[] });
  }
  return rows;
}

function referenceCompare(i: CompositeIndex) {
  const sign = (f: CompositeIndexField) => (f.order === "DESCENDING" ? -1 : 1);
  return (x: { path: string; values: Value[] }, y: { path: string; values: Value[] }) => {
    for (let k = 0; k < i.fields.length; k++) {
      const c = compareValues(x.values[k], y.values[k]) * sign(i.fields[k]);
      if (c !== 0) return c;
    }
    return compareValues({ $ref: x.path }, { $ref: y.path }) * sign(i.fields[i.fields.length - 1]);
  };
}

describe("composite key order (property)", () => {
  it("sorting keys bytewise equals sorting documents by the index's fields, then name", () => {
    fc.assert(
      fc.property(indexArb, fc.uniqueArray(fc.record({ path: pathArb, data }), { selector: (d) => d.path, maxLength: 16 }), (i, docs) => {
        const actual = docs.flatMap((d) => compositeEntriesFor(i, d.path, d.data)).sort(compareBytes);
        const expected = referenceRows(i, docs)
          .sort(referenceCompare(i))
          .map((r) => compositeKeyPrefix(i, [...r.values, { $ref: r.path }]));
        expect(actual).toEqual(expected);
        // No two rows tie: the order is total, so reading the index backwards is the exact reverse.
        for (let k = 1; k < actual.length; k++) expect(compareBytes(actual[k - 1], actual[k])).toBe(-1);
      }),
      { numRuns: 2000 },
    );
  });
});
