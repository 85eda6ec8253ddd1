import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlazeError } from "./errors";
import { LIMITS } from "./limits";
import {
  base64Decode,
  base64Encode,
  canonicalTimestamp,
  compareUtf8,
  compareValues,
  documentSizeBytes,
  isBytes,
  isMap,
  isRef,
  isTimestamp,
  isTransform,
  numberOf,
  numberValue,
  timestampFromDate,
  timestampFromParts,
  timestampToParts,
  typeName,
  typeRank,
  utf8Encode,
  validateDocumentData,
  validateFieldValue,
  valuesEqual,
  type Value,
} from "./values";
import { errorOf } from "../../test/support/expect-error";

const ts = (s: string) => ({ $timestamp: s });

describe("type order", () => {
  it("ranks types in Firestore order", () => {
    const ordered: Value[] = [
      null,
      false,
      -1e300,
      ts("2020-01-01T00:00:00Z"),
      "",
      { $bytes: "" },
      { $ref: "a/b" },
      { $geo: { latitude: 0, longitude: 0 } },
      [],
      {},
    ];
    const names = ordered.map(typeName);
    expect(names).toEqual(["null", "boolean", "number", "timestamp", "string", "bytes", "reference", "geopoint", "array", "map"]);
    expect(ordered.map(typeRank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 0; i < ordered.length; i++)
      for (let j = 0; j < ordered.length; j++) expect(compareValues(ordered[i], ordered[j])).toBe(Math.sign(i - j));
  });

  it("guards tell tagged values from maps", () => {
    expect(isTimestamp(ts("2020-01-01T00:00:00Z"))).toBe(true);
    expect(isBytes({ $bytes: "AA==" })).toBe(true);
    expect(isRef({ $ref: "a/b" })).toBe(true);
    expect(isMap({ $ref: "a/b" })).toBe(false);
    expect(isMap({ $ref: "a/b", x: 1 })).toBe(true);
    expect(isMap({ $timestamp: 5 })).toBe(true); // not well-formed, so not tagged
    expect(isMap([])).toBe(false);
    expect(isTransform({ $increment: 1 })).toBe(true);
    expect(isTransform({ $increment: 1, a: 2 })).toBe(false);
  });
});

describe("compareValues", () => {
  it("numbers: numeric, -0 == 0, NaN smallest and equal to itself", () => {
    expect(compareValues(1, 1.0)).toBe(0);
    expect(compareValues(-0, 0)).toBe(0);
    expect(compareValues(2, 10)).toBe(-1);
    expect(compareValues(NaN, -Infinity)).toBe(-1);
    expect(compareValues(NaN, NaN)).toBe(0);
    expect(compareValues(0, NaN)).toBe(1);
  });

  it("booleans: false < true", () => {
    expect(compareValues(false, true)).toBe(-1);
    expect(compareValues(true, true)).toBe(0);
  });

  it("strings by UTF-8 byte order, not UTF-16", () => {
    // U+FFFD is after U+1F600 in UTF-16 units (0xFFFD > 0xD83D) but before it in code points.
    expect("\uFFFD" > "\u{1F600}").toBe(true);
    expect(compareValues("\uFFFD", "\u{1F600}")).toBe(-1);
    expect(compareValues("a", "ab")).toBe(-1);
    expect(compareValues("b", "ab")).toBe(1);
    expect(compareValues("\u{1F600}a", "\u{1F600}")).toBe(1);
  });

  it("compareUtf8 matches bytewise comparison of UTF-8 (property)", () => {
    const str = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: fc.constantFrom("a", "\0", "\uE000", "\uFFFF", "\u{10000}", "\u{10FFFF}") }));
    fc.assert(
      fc.property(str, str, (a, b) => {
        const ea = new TextEncoder().encode(a);
        const eb = new TextEncoder().encode(b);
        let c = 0;
        for (let i = 0; i < Math.min(ea.length, eb.length) && c === 0; i++) c = ea[i] - eb[i];
        if (c === 0) c = ea.length - eb.length;
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(c));
        expect(utf8Encode(a)).toEqual(ea);
      }),
      { numRuns: 2000 },
    );
  });

  it("timestamps by instant, whatever the written form", () => {
    expect(compareValues(ts("2020-01-01T01:00:00+01:00"), ts("2020-01-01T00:00:00Z"))).toBe(0);
    expect(compareValues(ts("2020-01-01T00:00:00.000000001Z"), ts("2020-01-01T00:00:00Z"))).toBe(1);
    expect(compareValues(ts("1969-12-31T23:59:59.999999999Z"), ts("1970-01-01T00:00:00Z"))).toBe(-1);
    expect(compareValues(ts("2020-01-01T00:00:00.5Z"), ts("2020-01-01T00:00:00.500000000Z"))).toBe(0);
  });

  it("bytes bytewise, by decoded content", () => {
    expect(compareValues({ $bytes: "AA==" }, { $bytes: "AQ==" })).toBe(-1);
    expect(compareValues({ $bytes: "" }, { $bytes: "AA==" })).toBe(-1);
    expect(compareValues({ $bytes: "/w==" }, { $bytes: "AAA=" })).toBe(1);
  });

  it("references segment by segment", () => {
    expect(compareValues({ $ref: "a/b" }, { $ref: "a/b/c/d" })).toBe(-1);
    // Whole-string order would put "a/b" before "a-x/b" ("/" > "-"); segment order puts "a" first.
    expect(compareValues({ $ref: "a/b" }, { $ref: "a-x/b" })).toBe(-1);
    expect(compareValues({ $ref: "a/b" }, { $ref: "a/b" })).toBe(0);
  });

  it("arrays element-wise then by length", () => {
    expect(compareValues([1, 2], [1, 3])).toBe(-1);
    expect(compareValues([1, 2], [1])).toBe(1);
    expect(compareValues([2], [1, 9])).toBe(1);
    expect(valuesEqual([1, [2]], [1.0, [2]])).toBe(true);
  });

  it("maps by sorted keys, then values, then size", () => {
    expect(compareValues({ b: 1, a: 2 }, { a: 2, b: 1 })).toBe(0);
    expect(compareValues({ a: 1 }, { b: 0 })).toBe(-1);
    expect(compareValues({ a: 1 }, { a: 2 })).toBe(-1);
    expect(compareValues({ a: 1 }, { a: 1, b: 0 })).toBe(-1);
    expect(compareValues({ a: 1, c: 0 }, { a: 1, b: 0 })).toBe(1);
  });
});

describe("timestamps", () => {
  it("canonical form is UTC with nine fractional digits, truncated to microseconds", () => {
    expect(canonicalTimestamp("2020-02-29T23:30:00.5-01:00")).toBe("2020-03-01T00:30:00.500000000Z");
    expect(canonicalTimestamp("0001-01-01T00:00:00Z")).toBe("0001-01-01T00:00:00.000000000Z");
    expect(canonicalTimestamp("9999-12-31T23:59:59.999999999Z")).toBe("9999-12-31T23:59:59.999999000Z");
    expect(canonicalTimestamp("2020-01-01T00:00:00.000001999Z")).toBe("2020-01-01T00:00:00.000001000Z");
    // Before the epoch truncation still goes toward the past: nanos count forward from the second.
    expect(canonicalTimestamp("1969-12-31T23:59:59.123456789Z")).toBe("1969-12-31T23:59:59.123456000Z");
    // Equality follows the stored value: two instants a few nanoseconds apart are one timestamp.
    const a = validateDocumentData({ t: ts("2020-01-01T00:00:00.000001001Z") }).t as Value;
    const b = validateDocumentData({ t: ts("2020-01-01T00:00:00.000001999Z") }).t as Value;
    expect(compareValues(a, b)).toBe(0);
    expect(timestampToParts("1970-01-01T00:00:01.000000002Z")).toEqual({ seconds: 1, nanos: 2 });
    expect(timestampToParts("1969-12-31T23:59:59.5Z")).toEqual({ seconds: -1, nanos: 500000000 });
  });

  it("rejects invalid timestamps", () => {
    for (const bad of [
      "2020-02-30T00:00:00Z",
      "2019-02-29T00:00:00Z",
      "2020-01-01",
      "2020-01-01T24:00:00Z",
      "2020-01-01T00:00:60Z",
      "2020-01-01T00:00:00.1234567890Z",
      "2020-01-01T00:00:00",
      "0000-12-31T23:59:59Z",
      "0001-01-01T00:00:00+00:01",
      "10000-01-01T00:00:00Z",
    ]) {
      expect(() => timestampToParts(bad), bad).toThrow(BlazeError);
    }
  });

  it("timestampFromDate keeps milliseconds", () => {
    expect(timestampFromDate(new Date("2024-05-06T07:08:09.123Z"))).toEqual(ts("2024-05-06T07:08:09.123000000Z"));
    expect(timestampFromDate(new Date(-1))).toEqual(ts("1969-12-31T23:59:59.999000000Z"));
    expect(() => timestampFromDate(new Date(NaN))).toThrow(BlazeError);
  });

  it("round-trips any instant exactly and orders canonical strings like instants (property)", () => {
    const parts = fc.record({
      seconds: fc.integer({ min: -62135596800, max: 253402300799 }),
      nanos: fc.integer({ min: 0, max: 999_999_999 }),
    });
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const sa = timestampFromParts(a.seconds, a.nanos).$timestamp;
        const sb = timestampFromParts(b.seconds, b.nanos).$timestamp;
        const micros = (p: { seconds: number; nanos: number }) => ({ seconds: p.seconds, nanos: p.nanos - (p.nanos % 1000) });
        expect(timestampToParts(sa)).toEqual(micros(a));
        expect(canonicalTimestamp(sa)).toBe(sa);
        const [ma, mb] = [micros(a), micros(b)];
        const byParts = Math.sign(ma.seconds - mb.seconds || ma.nanos - mb.nanos);
        expect(Math.sign(compareUtf8(sa, sb))).toBe(byParts);
        // A non-canonical spelling of the same instant compares equal.
        const shifted = sa.replace("Z", "+00:00");
        expect(compareValues(ts(shifted), ts(sb))).toBe(byParts);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with Date on the millisecond part (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62135596800000, max: 253402300799999 }), (ms) => {
        const iso = timestampFromDate(new Date(ms)).$timestamp;
        expect(new Date(iso).getTime()).toBe(ms);
      }),
    );
  });
});

describe("base64", () => {
  it("round-trips bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const s = base64Encode(b);
        expect(s).toBe(btoa(String.fromCharCode(...b)));
        expect(base64Decode(s)).toEqual(b);
        expect(base64Decode(s.replace(/=+$/, ""))).toEqual(b);
      }),
    );
  });

  it("rejects malformed base64", () => {
    for (const bad of ["A", "AAA==", "A=AA", "AA-_", "AA AA", "====", "AA=A"]) expect(base64Decode(bad), bad).toBeUndefined();
  });
});

describe("validateDocumentData", () => {
  it("accepts every value type and canonicalizes tagged values without mutating input", () => {
    const input = {
      n: null,
      b: true,
      x: 1.5,
      s: "hi",
      t: ts("2020-01-01T01:00:00+01:00"),
      y: { $bytes: "QR" },
      r: { $ref: "users/alice" },
      a: [1, "two", [3], { four: 4 }],
      m: { nested: { deep: 1 } },
    };
    const copy = structuredClone(input);
    const out = validateDocumentData(input);
    expect(input).toEqual(copy);
    expect(out).toEqual({
      ...copy,
      t: ts("2020-01-01T00:00:00.000000000Z"),
      y: { $bytes: "QQ==" },
    });
  });

  it("rejects non-objects and non-JSON values, naming the field", () => {
    expect(errorOf(() => validateDocumentData([])).message).toMatch(/JSON object/);
    expect(errorOf(() => validateDocumentData(null)).code).toBe("INVALID_ARGUMENT");
    expect(errorOf(() => validateDocumentData(new Date())).code).toBe("INVALID_ARGUMENT");
    expect(errorOf(() => validateDocumentData({ a: { b: undefined } })).message).toMatch(/a\.b/);
    expect(errorOf(() => validateDocumentData({ d: new Date() })).message).toMatch(/d .*Date/);
    expect(errorOf(() => validateDocumentData({ s: "\uD800" })).message).toMatch(/lone surrogate/);
  });

  it("checks field names", () => {
    expect(errorOf(() => validateDocumentData({ "": 1 })).message).toMatch(/empty field name/);
    expect(errorOf(() => validateDocumentData({ a: { __x__: 1 } })).message).toMatch(/a\.__x__.*reserved/);
    expect(errorOf(() => validateDocumentData({ $foo: 1 })).message).toMatch(/\$foo.*reserved/);
    expect(errorOf(() => validateDocumentData({ $timestamp: "2020-01-01T00:00:00Z" })).message).toMatch(/reserved/);
    expect(errorOf(() => validateDocumentData({ m: { $ref: "a/b", x: 1 } })).message).toMatch(/\$ref.*reserved/);
    expect(errorOf(() => validateDocumentData({ ["x".repeat(1501)]: 1 })).message).toMatch(/1500 bytes/);
    expect(validateDocumentData({ "a.b": 1, "x y": 2, _u: 3 })).toEqual({ "a.b": 1, "x y": 2, _u: 3 });
  });

  it("checks tagged values", () => {
    expect(errorOf(() => validateDocumentData({ t: ts("yesterday") })).message).toMatch(/\$timestamp at t/);
    expect(errorOf(() => validateDocumentData({ t: { $timestamp: 5 } })).message).toMatch(/\$timestamp/);
    expect(errorOf(() => validateDocumentData({ y: { $bytes: "!!" } })).message).toMatch(/\$bytes at y/);
    expect(errorOf(() => validateDocumentData({ r: { $ref: "users" } })).message).toMatch(/\$ref at r.*collection/);
    expect(errorOf(() => validateDocumentData({ r: { $ref: "a//b" } })).message).toMatch(/\$ref at r/);
  });

  it("limits depth: a top-level field is depth 1", () => {
    const nest = (n: number): Value => (n === 1 ? 1 : { x: nest(n - 1) });
    expect(() => validateDocumentData({ x: nest(LIMITS.maxDepth) })).not.toThrow();
    expect(errorOf(() => validateDocumentData({ x: nest(LIMITS.maxDepth + 1) })).message).toMatch(/deeper than.*20/);
    const arr = (n: number): Value => (n === 1 ? 1 : [arr(n - 1)]);
    expect(() => validateDocumentData({ x: arr(LIMITS.maxDepth) })).not.toThrow();
    expect(() => validateDocumentData({ x: arr(LIMITS.maxDepth + 1) })).toThrow(/deeper/);
  });

  it("limits size with PAYLOAD_TOO_LARGE", () => {
    const big = { s: "x".repeat(LIMITS.maxDocumentBytes) };
    const e = errorOf(() => validateDocumentData(big));
    expect(e.code).toBe("PAYLOAD_TOO_LARGE");
    expect(e.status).toBe(413);
    const fits = { s: "x".repeat(LIMITS.maxDocumentBytes - 8) }; // {"s":""} is 8 bytes
    expect(documentSizeBytes(fits)).toBe(LIMITS.maxDocumentBytes);
    expect(() => validateDocumentData(fits)).not.toThrow();
    expect(documentSizeBytes({ s: "é😀" })).toBe(8 + 2 + 4);
  });

  it("transforms only when allowed, never inside arrays", () => {
    const data = { n: { $increment: 2 }, t: { $serverTimestamp: true }, m: { u: { $arrayUnion: [1, ts("2020-01-01T00:00:00Z")] } } };
    expect(errorOf(() => validateDocumentData(data)).message).toMatch(/\$increment at n is not allowed/);
    expect(validateDocumentData(data, { allowTransforms: true })).toEqual({
      ...data,
      m: { u: { $arrayUnion: [1, ts("2020-01-01T00:00:00.000000000Z")] } },
    });
    const t = { allowTransforms: true };
    expect(errorOf(() => validateDocumentData({ a: [{ $increment: 1 }] }, t)).message).toMatch(/a\[0\].*inside an array/);
    expect(errorOf(() => validateDocumentData({ a: [{ b: { $increment: 1 } }] }, t)).message).toMatch(/inside an array/);
    expect(errorOf(() => validateDocumentData({ a: { $arrayUnion: [{ $increment: 1 }] } }, t)).message).toMatch(/inside an array/);
    expect(errorOf(() => validateDocumentData({ a: { $increment: "1" } }, t)).message).toMatch(/\$increment at a/);
    expect(errorOf(() => validateDocumentData({ a: { $serverTimestamp: 1 } }, t)).message).toMatch(/must be true/);
    expect(errorOf(() => validateDocumentData({ a: { $arrayRemove: 1 } }, t)).message).toMatch(/needs an array/);
    expect(errorOf(() => validateDocumentData({ a: { $delete: true } }, t)).message).toMatch(/\$delete at a is only allowed/);
    expect(validateDocumentData({ a: { b: { $delete: true } } }, { ...t, allowDelete: true })).toEqual({ a: { b: { $delete: true } } });
    expect(errorOf(() => validateDocumentData({ a: { $increment: 1, $delete: true } }, t)).message).toMatch(/reserved/);
  });

  it("validateFieldValue counts depth from the field path", () => {
    expect(validateFieldValue({ $timestamp: "2020-01-01T00:00:00Z" }, ["a", "b"])).toEqual(ts("2020-01-01T00:00:00.000000000Z"));
    const path = Array.from({ length: LIMITS.maxDepth }, (_, i) => `f${i}`);
    expect(() => validateFieldValue(1, path)).not.toThrow();
    expect(() => validateFieldValue({ x: 1 }, path)).toThrow(/deeper/);
  });
});

describe("numbers JSON cannot carry ($double)", () => {
  const nan = { $double: "NaN" } as Value;
  const inf = { $double: "Infinity" } as Value;
  const ninf = { $double: "-Infinity" } as Value;
  const negZero = { $double: "-0" } as Value;

  it("JS NaN, ±Infinity and -0 take their tagged form, and JSON keeps them", () => {
    const data = validateDocumentData({ a: NaN, b: [Infinity, -Infinity], c: -0, d: { $double: "NaN" } });
    expect(data).toEqual({ a: nan, b: [inf, ninf], c: negZero, d: nan });
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    expect(validateDocumentData(JSON.parse('{"z":-0}'))).toEqual({ z: negZero });
  });

  it("refuses other $double spellings", () => {
    for (const bad of ["nan", "inf", "1.5", 1, null, ""]) {
      expect(errorOf(() => validateDocumentData({ x: { $double: bad } })).message).toMatch(/\$double at x/);
    }
  });

  it("orders NaN first among numbers, ±Infinity at the ends, -0 equal to 0", () => {
    const ordered: Value[] = [false, nan, ninf, -1e308, -1, 0, 1, 1e308, inf, ts("0001-01-01T00:00:00Z")];
    for (let i = 0; i + 1 < ordered.length; i++) expect(compareValues(ordered[i], ordered[i + 1])).toBe(-1);
    expect(compareValues(nan, nan)).toBe(0);
    expect(compareValues(negZero, 0)).toBe(0);
    expect(typeName(nan)).toBe("number");
    expect(numberOf(inf)).toBe(Infinity);
    expect(Object.is(numberOf(negZero), -0)).toBe(true);
    expect(numberValue(NaN)).toEqual(nan);
    expect(numberValue(2)).toBe(2);
  });
});

describe("geopoints ($geo)", () => {
  const geo = (latitude: number, longitude: number) => ({ $geo: { latitude, longitude } }) as Value;

  it("validates the range and the shape", () => {
    expect(validateDocumentData({ p: geo(59.9, 10.7) })).toEqual({ p: geo(59.9, 10.7) });
    expect(errorOf(() => validateDocumentData({ p: geo(91, 0) })).message).toMatch(/latitude.*\[-90, 90\]/);
    expect(errorOf(() => validateDocumentData({ p: geo(0, -180.5) })).message).toMatch(/longitude.*\[-180, 180\]/);
    expect(errorOf(() => validateDocumentData({ p: geo(NaN, 0) })).code).toBe("INVALID_ARGUMENT");
    expect(errorOf(() => validateDocumentData({ p: { $geo: { latitude: 1 } } })).message).toMatch(/exactly the keys/);
    expect(errorOf(() => validateDocumentData({ p: { $geo: { latitude: 1, longitude: 2, x: 3 } } })).message).toMatch(/exactly the keys/);
    expect(errorOf(() => validateDocumentData({ p: { $geo: [1, 2] } })).code).toBe("INVALID_ARGUMENT");
  });

  it("sorts after references and before arrays, by latitude then longitude", () => {
    const ordered: Value[] = [{ $ref: "z/z" }, geo(-90, 180), geo(0, -180), geo(0, 0), geo(90, -180), []];
    for (let i = 0; i + 1 < ordered.length; i++) expect(compareValues(ordered[i], ordered[i + 1])).toBe(-1);
  });
});
