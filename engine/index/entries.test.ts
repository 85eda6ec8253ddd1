import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { LIMITS } from "../core/limits";
import type { Value } from "../core/values";
import { encodeValue } from "./encoding";
import { indexEntriesFor } from "./entries";

const summary = (data: Record<string, Value>, exempt?: (f: string) => boolean) =>
  indexEntriesFor(data, { exempt }).map((e) => [e.field, e.kind, e.value]);

describe("indexEntriesFor", () => {
  it("indexes every field at every depth, maps as a whole too", () => {
    const data = { a: 1, m: { x: "s", n: { y: null } }, t: { $timestamp: "2020-01-01T00:00:00.000000000Z" }, e: {} };
    expect(summary(data)).toEqual([
      ["a", "value", encodeValue(1)],
      ["m", "value", encodeValue(data.m)],
      ["m.x", "value", encodeValue("s")],
      ["m.n", "value", encodeValue(data.m.n)],
      ["m.n.y", "value", encodeValue(null)],
      ["t", "value", encodeValue(data.t)], // a tagged value is a leaf, not a map
      ["e", "value", encodeValue({})],
    ]);
  });

  it("gives arrays one element entry per distinct element and no field paths inside", () => {
    const arr: Value[] = [1, "x", 1.0, { k: 1 }, { k: 1 }, [2], -0, 0, []];
    expect(summary({ tags: arr })).toEqual([
      ["tags", "value", encodeValue(arr)],
      ["tags", "element", encodeValue(1)],
      ["tags", "element", encodeValue("x")],
      ["tags", "element", encodeValue({ k: 1 })],
      ["tags", "element", encodeValue([2])],
      ["tags", "element", encodeValue(0)],
      ["tags", "element", encodeValue([])],
    ]);
    expect(summary({ m: { list: [] } })).toEqual([
      ["m", "value", encodeValue({ list: [] })],
      ["m.list", "value", encodeValue([])],
    ]);
  });

  it("uses canonical field paths", () => {
    const fields = indexEntriesFor({ "a.b": { "c d": 1, ok_1: 2 } }).map((e) => e.field);
    expect(fields).toEqual(["`a.b`", "`a.b`.`c d`", "`a.b`.ok_1"]);
  });

  it("skips exempt fields and their subfields", () => {
    const data = { big: { x: 1, y: [1, 2] }, keep: { big: 1 } };
    expect(summary(data, (f) => f === "big").map(([f]) => f)).toEqual(["keep", "keep.big"]);
    expect(summary(data, (f) => f === "big.y").map(([f, k]) => `${f}:${k}`)).toEqual([
      "big:value",
      "big.x:value",
      "keep:value",
      "keep.big:value",
    ]);
  });

  it("enforces the per-document limit, with the count and the limit", () => {
    const max = LIMITS.maxIndexEntriesPerDocument;
    // One value entry for the array plus one per distinct element.
    const ok = { list: Array.from({ length: max - 1 }, (_, i) => i) };
    expect(indexEntriesFor(ok)).toHaveLength(max);
    const tooMany = { list: Array.from({ length: max }, (_, i) => i) };
    let err: unknown;
    try {
      indexEntriesFor(tooMany);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlazeError);
    expect((err as BlazeError).code).toBe("INVALID_ARGUMENT");
    expect((err as BlazeError).message).toMatch(new RegExp(`${max + 1} index entries.*limit of ${max}`));
    // Duplicates do not count, and exempt fields do not either.
    expect(() => indexEntriesFor({ list: Array.from({ length: 5000 }, () => 7) })).not.toThrow();
    expect(() => indexEntriesFor(tooMany, { exempt: (f) => f === "list" })).not.toThrow();
  });
});
