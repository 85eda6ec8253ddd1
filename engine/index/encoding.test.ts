import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64Encode, compareValues, numberValue, timestampFromParts, timestampToParts, type Value } from "../core/values";
import { compareBytes, concatBytes, encodeDocumentName, encodeValue, invertBytes, TAG } from "./encoding";
import { decodeValue, hexToBytes } from "./decode";

// Small alphabets make ties and shared prefixes common, which is where order bugs hide.
const tricky = fc.constantFrom("a", "b", "\0", "\x01", "é", "\uE000", "\uFFFF", "\u{10000}", "\u{1F600}");
const str = fc.oneof(fc.string({ unit: tricky, maxLength: 4 }), fc.string({ unit: "binary", maxLength: 6 }));
const num = fc.oneof(
  fc.double(),
  fc.integer({ min: -3, max: 3 }),
  fc.integer(),
  fc.constantFrom(0, -0, 1, 1.0, -1, 0.5, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, NaN, Infinity, -Infinity),
);
/** Numbers as validated data holds them: NaN, ±Infinity and -0 tagged ({ $double }). */
const canonicalNum = num.map((n) => numberValue(n) as Value);
const coord = (max: number) => fc.oneof(fc.double({ min: -max, max, noNaN: true }), fc.constantFrom(-max, 0, max, 1.5));
const geo = fc.tuple(coord(90), coord(180)).map(([latitude, longitude]) => ({ $geo: { latitude, longitude } }) as Value);
const tsParts = fc.record({
  seconds: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -62135596800, max: 253402300799 })),
  nanos: fc.oneof(fc.constantFrom(0, 1, 999_999_999), fc.integer({ min: 0, max: 999_999_999 })),
});
const timestamp = tsParts.map(({ seconds, nanos }) => timestampFromParts(seconds, nanos));
const bytes = fc.oneof(fc.uint8Array({ maxLength: 5 }), fc.constantFrom(new Uint8Array([0]), new Uint8Array([0, 0]), new Uint8Array([255]))).map(
  (b) => ({ $bytes: base64Encode(b) }),
);
const segment = fc.string({ unit: fc.constantFrom("a", "b", "\0", "\x01", "é", "\u{1F600}"), minLength: 1, maxLength: 3 });
const ref = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => ({ $ref: s.join("/") }));

const { value } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    num,
    canonicalNum,
    timestamp,
    geo,
    str,
    bytes,
    ref,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ unit: tricky, maxLength: 2 }), tie("value"), { maxKeys: 3 }),
  ),
}));

const runs = { numRuns: 5000 };

/** Another spelling of the same value: timestamps with an offset, unpadded base64, reversed map keys. */
function respell(v: Value): Value {
  if (Array.isArray(v)) return v.map(respell);
  if (v === null || typeof v !== "object") return v;
  if ("$timestamp" in v && typeof v.$timestamp === "string") {
    const { seconds, nanos } = timestampToParts(v.$timestamp);
    if (seconds > 253402300799 - 3600) return v;
    const shifted = timestampFromParts(seconds + 3600, nanos).$timestamp;
    return { $timestamp: shifted.replace(/\.?0*Z$/, "+01:00") };
  }
  if ("$bytes" in v && typeof v.$bytes === "string") return { $bytes: v.$bytes.replace(/=+$/, "") };
  if ("$ref" in v) return v;
  const out: Record<string, Value> = {};
  for (const k of Object.keys(v).reverse()) out[k] = respell((v as Record<string, Value>)[k]);
  return out;
}

describe("encodeValue order (property)", () => {
  it("bytewise order equals compareValues, ascending and descending", () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        const c = compareValues(a, b);
        expect(compareBytes(encodeValue(a), encodeValue(b))).toBe(c);
        expect(compareBytes(encodeValue(a, "desc"), encodeValue(b, "desc"))).toBe(0 - c);
      }),
      runs,
    );
  });

  it("same-type pairs (more ties and shared prefixes)", () => {
    const sameType = fc.oneof(
      fc.tuple(num, num),
      fc.tuple(canonicalNum, num),
      fc.tuple(geo, geo),
      fc.tuple(str, str),
      fc.tuple(timestamp, timestamp),
      fc.tuple(bytes, bytes),
      fc.tuple(ref, ref),
      fc.tuple(fc.array(fc.oneof(num, str), { maxLength: 3 }), fc.array(fc.oneof(num, str), { maxLength: 3 })),
      fc.tuple(fc.dictionary(str, num, { maxKeys: 2 }), fc.dictionary(str, num, { maxKeys: 2 })),
    );
    fc.assert(
      fc.property(sameType, ([a, b]) => {
        expect(compareBytes(encodeValue(a as Value), encodeValue(b as Value))).toBe(compareValues(a as Value, b as Value));
      }),
      runs,
    );
  });

  it("concatenated fields compare lexicographically, in any mix of directions", () => {
    const dir = fc.constantFrom<"asc" | "desc">("asc", "desc");
    fc.assert(
      fc.property(value, value, value, value, dir, dir, (a1, a2, b1, b2, d1, d2) => {
        const ea = concatBytes(encodeValue(a1, d1), encodeValue(a2, d2));
        const eb = concatBytes(encodeValue(b1, d1), encodeValue(b2, d2));
        const s1 = d1 === "asc" ? 1 : -1;
        const s2 = d2 === "asc" ? 1 : -1;
        const expected = (s1 * compareValues(a1, b1) || s2 * compareValues(a2, b2)) + 0; // + 0 turns -0 into 0
        expect(compareBytes(ea, eb)).toBe(expected);
      }),
      runs,
    );
  });

  it("is prefix-free: no encoding is a proper prefix of another", () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        const ea = encodeValue(a);
        const eb = encodeValue(b);
        if (ea.length < eb.length) expect(compareBytes(ea, eb.subarray(0, ea.length))).not.toBe(0);
      }),
      runs,
    );
  });

  it("equal values in other spellings encode identically", () => {
    fc.assert(
      fc.property(value, (v) => {
        const other = respell(v);
        expect(compareValues(v, other)).toBe(0);
        expect(encodeValue(other)).toEqual(encodeValue(v));
      }),
      runs,
    );
  });
});

describe("encodeValue examples", () => {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

  it("has the documented layout", () => {
    expect(hex(encodeValue(null))).toBe("10");
    expect(hex(encodeValue(true))).toBe("21");
    expect(hex(encodeValue(1))).toBe("30 bf f0 00 00 00 00 00 00");
    expect(hex(encodeValue(-1))).toBe("30 40 0f ff ff ff ff ff ff");
    expect(hex(encodeValue(NaN))).toBe("30 00 00 00 00 00 00 00 00");
    expect(hex(encodeValue("a\0"))).toBe("50 61 00 ff 00 01");
    expect(hex(encodeValue({ $timestamp: "1970-01-01T00:00:01.000000002Z" }))).toBe("40 80 00 00 00 00 00 00 01 00 00 00 02");
    expect(hex(encodeValue({ $ref: "a/b" }))).toBe("70 61 00 01 62 00 01 00 00");
    expect(hex(encodeValue([1]))).toBe("80 30 bf f0 00 00 00 00 00 00 01");
    expect(hex(encodeValue({ k: null }))).toBe("90 50 6b 00 01 10 01");
    expect(hex(encodeValue(true, "desc"))).toBe("de");
  });

  it("-0 and 0 encode equal; ints and doubles interleave", () => {
    expect(encodeValue(-0)).toEqual(encodeValue(0));
    expect(compareBytes(encodeValue(1), encodeValue(1.5))).toBe(-1);
    expect(compareBytes(encodeValue(1.5), encodeValue(2))).toBe(-1);
    expect(compareBytes(encodeValue(-Infinity), encodeValue(-Number.MAX_VALUE))).toBe(-1);
    expect(compareBytes(encodeValue(NaN), encodeValue(-Infinity))).toBe(-1);
  });

  it("0x00 is free: every tag is above it, END is below every tag", () => {
    for (const [name, tag] of Object.entries(TAG)) {
      expect(tag, name).toBeGreaterThan(0);
      if (name !== "END") expect(tag, name).toBeGreaterThan(TAG.END);
    }
  });

  it("strings order by UTF-8, not UTF-16", () => {
    expect(compareBytes(encodeValue("\uFFFD"), encodeValue("\u{1F600}"))).toBe(-1);
  });
});

describe("helpers", () => {
  it("encodeDocumentName equals the reference encoding and orders parents first", () => {
    expect(encodeDocumentName("users/alice")).toEqual(encodeValue({ $ref: "users/alice" }));
    expect(compareBytes(encodeDocumentName("a/b"), encodeDocumentName("a/b/c/d"))).toBe(-1);
    expect(compareBytes(encodeDocumentName("a/b/c/d"), encodeDocumentName("a-x/b"))).toBe(-1);
    expect(() => encodeDocumentName("a//b")).toThrow(/empty segment/);
  });

  it("concatBytes, invertBytes, compareBytes", () => {
    const a = new Uint8Array([1, 2]);
    expect(concatBytes(a, new Uint8Array([]), new Uint8Array([3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(invertBytes(a)).toEqual(new Uint8Array([254, 253]));
    expect(a).toEqual(new Uint8Array([1, 2])); // not mutated
    expect(compareBytes(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(-1);
    expect(compareBytes(new Uint8Array([2]), new Uint8Array([1, 9]))).toBe(1);
    expect(compareBytes(a, new Uint8Array([1, 2]))).toBe(0);
  });
});

describe("decodeValue", () => {
  it("gives back an equal value whose encoding is the same bytes", () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeValue(v);
        const back = decodeValue(bytes);
        expect(compareValues(back, v)).toBe(0);
        expect(compareBytes(encodeValue(back), bytes)).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives numbers as numbers, -0 as 0 and NaN tagged", () => {
    expect(decodeValue(encodeValue({ $double: "-0" }))).toBe(0);
    expect(decodeValue(encodeValue(1.5))).toBe(1.5);
    expect(decodeValue(encodeValue({ $double: "NaN" }))).toEqual({ $double: "NaN" });
    expect(decodeValue(encodeValue({ $double: "-Infinity" }))).toEqual({ $double: "-Infinity" });
    expect(decodeValue(encodeValue({ b: [1, "x"], a: { $ref: "c/d" } }))).toEqual({ a: { $ref: "c/d" }, b: [1, "x"] });
  });

  it("refuses bytes that are not one encoding", () => {
    expect(() => decodeValue(Uint8Array.of(TAG.NULL, TAG.NULL))).toThrow(/trailing/);
    expect(() => decodeValue(Uint8Array.of(TAG.STRING, 0x61))).toThrow(/ends early/);
    expect(() => decodeValue(Uint8Array.of(0x05))).toThrow(/unknown/);
  });

  it("reads SQLite's hex()", () => {
    expect(hexToBytes("00FF10")).toEqual(Uint8Array.of(0, 255, 16));
  });
});
