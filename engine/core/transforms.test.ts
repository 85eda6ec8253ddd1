import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlazeError } from "./errors";
import { LIMITS } from "./limits";
import { applySet, applyUpdate } from "./transforms";
import type { DocumentData, Value } from "./values";
import { errorOf } from "../../test/support/expect-error";

const now = new Date("2024-01-02T03:04:05.678Z");
const nowTs = { $timestamp: "2024-01-02T03:04:05.678000000Z" };

const frozen = <T>(x: T): T => {
  const deepFreeze = (o: unknown) => {
    if (o && typeof o === "object") {
      Object.freeze(o);
      for (const v of Object.values(o)) deepFreeze(v);
    }
  };
  deepFreeze(x);
  return x;
};

describe("applySet", () => {
  const current = frozen({ a: 1, m: { x: 1, y: { z: 1 } }, arr: [1, 2, 3], n: 5 } as DocumentData);

  it("replaces the document without merge", () => {
    expect(applySet(current, { b: 2 }, now)).toEqual({ b: 2 });
    expect(applySet(null, { b: { c: [1] } }, now)).toEqual({ b: { c: [1] } });
  });

  it("canonicalizes tagged values", () => {
    expect(applySet(null, { t: { $timestamp: "2020-01-01T00:00:00Z" } }, now)).toEqual({
      t: { $timestamp: "2020-01-01T00:00:00.000000000Z" },
    });
  });

  it("deep-merges maps with merge; other values replace", () => {
    expect(applySet(current, { m: { y: { w: 2 } }, arr: [9], c: 3 }, now, { merge: true })).toEqual({
      a: 1,
      m: { x: 1, y: { z: 1, w: 2 } },
      arr: [9],
      n: 5,
      c: 3,
    });
    // An empty map is a value: it replaces.
    expect(applySet(current, { m: {} }, now, { merge: true })).toEqual({ ...current, m: {} });
    // A non-map is replaced by the merged map.
    expect(applySet(current, { a: { q: 1 } }, now, { merge: true })).toEqual({ ...current, a: { q: 1 } });
    expect(applySet(null, { a: { q: 1 } }, now, { merge: true })).toEqual({ a: { q: 1 } });
  });

  it("applies transforms after the set (base: nothing) or merge (base: stored)", () => {
    const data = {
      n: { $increment: 2 },
      fresh: { $increment: 1.5 },
      ts: { $serverTimestamp: true },
      arr: { $arrayUnion: [3, 4, 4, 1.0] },
      m: { y: { $arrayRemove: [1] } },
    } as unknown as DocumentData;
    expect(applySet(current, data, now)).toEqual({ n: 2, fresh: 1.5, ts: nowTs, arr: [3, 4, 1], m: { y: [] } });
    expect(applySet(current, data, now, { merge: true })).toEqual({
      a: 1,
      m: { x: 1, y: [] },
      arr: [1, 2, 3, 4],
      n: 7,
      fresh: 1.5,
      ts: nowTs,
    });
  });

  it("$delete only with merge", () => {
    const del = { a: { $delete: true }, m: { y: { $delete: true } }, missing: { deep: { $delete: true } } } as unknown as DocumentData;
    expect(applySet(current, del, now, { merge: true })).toEqual({ m: { x: 1 }, arr: [1, 2, 3], n: 5 });
    const e = errorOf(() => applySet(current, { a: { $delete: true } } as unknown as DocumentData, now));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(/\$delete at a/);
  });

  it("rejects invalid data and oversize results", () => {
    expect(errorOf(() => applySet(null, { $x: 1 }, now)).message).toMatch(/reserved/);
    const half = "x".repeat(LIMITS.maxDocumentBytes / 2);
    const e = errorOf(() => applySet({ a: half }, { b: half }, now, { merge: true }));
    expect(e.code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("applyUpdate", () => {
  const current = frozen({ a: 1, m: { x: 1, y: { z: 1 } }, s: "str", list: ["a", { k: 1 }] } as DocumentData);

  it("sets dotted paths, creating and replacing intermediates", () => {
    expect(applyUpdate(current, { "m.y.w": 2, "s.t": 1, "new.deep": true }, now)).toEqual({
      a: 1,
      m: { x: 1, y: { z: 1, w: 2 } },
      s: { t: 1 },
      list: ["a", { k: 1 }],
      new: { deep: true },
    });
  });

  it("replaces a map value whole", () => {
    expect(applyUpdate(current, { m: { q: 1 } }, now)).toEqual({ ...current, m: { q: 1 } });
  });

  it("quoted segments name fields with dots", () => {
    expect(applyUpdate({}, { "`a.b`.c": 1 }, now)).toEqual({ "a.b": { c: 1 } });
  });

  it("applies transforms and $delete", () => {
    const out = applyUpdate(
      current,
      {
        a: { $increment: -3 },
        "m.y.z": { $delete: true },
        "m.t": { $serverTimestamp: true },
        list: { $arrayRemove: [{ k: 1.0 }] },
        "nested.map": { c: { $increment: 1 } },
        "nope.x": { $delete: true },
      } as unknown as Record<string, Value>,
      now,
    );
    expect(out).toEqual({ a: -2, m: { x: 1, y: {}, t: nowTs }, s: "str", list: ["a"], nested: { map: { c: 1 } } });
  });

  it("rejects prefix conflicts and duplicates", () => {
    expect(errorOf(() => applyUpdate(current, { m: 1, "m.x": 2 }, now)).message).toMatch(/field m and its subfield m\.x/);
    expect(errorOf(() => applyUpdate(current, { "a.b.c": 1, "x": 1, "a.b": 2 }, now)).message).toMatch(/a\.b and its subfield a\.b\.c/);
    expect(errorOf(() => applyUpdate(current, { a: 1, "`a`": 2 }, now)).message).toMatch(/named twice/);
    expect(() => applyUpdate(current, { "m.x": 1, "m.xy": 2, mx: 3 }, now)).not.toThrow();
  });

  it("rejects bad paths and values, naming them", () => {
    expect(errorOf(() => applyUpdate(current, { "a..b": 1 }, now)).message).toMatch(/"a\.\.b"/);
    expect(errorOf(() => applyUpdate(current, { "m.$x": 1 }, now)).message).toMatch(/\$x.*reserved/);
    expect(errorOf(() => applyUpdate(current, { __name__: 1 }, now)).message).toMatch(/__name__.*reserved/);
    expect(errorOf(() => applyUpdate(current, { "m.q": { c: { $delete: true } } } as never, now)).message).toMatch(
      /\$delete at m\.q\.c/,
    );
    expect(errorOf(() => applyUpdate(current, { "m.q": [{ $increment: 1 }] } as never, now)).message).toMatch(/inside an array/);
    expect(errorOf(() => applyUpdate(current, { x: undefined } as never, now)).message).toMatch(/x .*undefined/);
    expect(errorOf(() => applyUpdate(current, { x: { $timestamp: "nope" } }, now)).message).toMatch(/\$timestamp at x/);
    const deep = Array.from({ length: LIMITS.maxDepth + 1 }, (_, i) => `f${i}`).join(".");
    expect(errorOf(() => applyUpdate(current, { [deep]: 1 }, now)).message).toMatch(/deeper/);
  });

  it("never mutates its inputs (property)", () => {
    const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null));
    const doc = fc.dictionary(fc.constantFrom("a", "b", "c"), fc.oneof(leaf, fc.dictionary(fc.constantFrom("a", "b"), leaf)));
    const path = fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }).map((p) => p.join("."));
    const value = fc.oneof(leaf, fc.constant({ $increment: 1 }), fc.constant({ $delete: true }), fc.constant({ $arrayUnion: [1] }));
    fc.assert(
      fc.property(doc, fc.dictionary(path, value, { maxKeys: 3 }), (d, fields) => {
        const before = structuredClone(d);
        const fieldsBefore = structuredClone(fields);
        try {
          applyUpdate(d as DocumentData, fields as Record<string, Value>, now);
          applySet(d as DocumentData, d as DocumentData, now, { merge: true });
        } catch (e) {
          expect(e).toBeInstanceOf(BlazeError); // prefix conflicts are expected
        }
        expect(d).toEqual(before);
        expect(fields).toEqual(fieldsBefore);
      }),
      { numRuns: 500 },
    );
  });
});

describe("transform base of a set without merge", () => {
  it("starts from an empty document, as the set replaces it", () => {
    const now = new Date("2024-01-01T00:00:00Z");
    expect(applySet({ n: 5 }, { n: { $increment: 2 } } as any, now)).toEqual({ n: 2 });
    expect(applySet({ n: 5 }, { n: { $increment: 2 } } as any, now, { merge: true })).toEqual({ n: 7 });
  });
});
