import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deleteField, formatFieldPath, getField, isPathPrefix, parseFieldPath, setField } from "./field-path";
import { messageOf } from "../../test/support/expect-error";

describe("parseFieldPath", () => {
  it("splits on dots and honours backticks and escapes", () => {
    expect(parseFieldPath("a")).toEqual(["a"]);
    expect(parseFieldPath("a.b.c")).toEqual(["a", "b", "c"]);
    expect(parseFieldPath("`a.b`.c")).toEqual(["a.b", "c"]);
    expect(parseFieldPath("a.`x\\`y`")).toEqual(["a", "x`y"]);
    expect(parseFieldPath("`\\\\`")).toEqual(["\\"]);
    expect(parseFieldPath("a-b.c d.ü")).toEqual(["a-b", "c d", "ü"]);
    expect(parseFieldPath("__name__")).toEqual(["__name__"]);
    expect(parseFieldPath("$x")).toEqual(["$x"]);
  });

  it("rejects malformed paths, quoting them", () => {
    expect(messageOf(() => parseFieldPath(""))).toMatch(/empty/);
    expect(messageOf(() => parseFieldPath("a..b"))).toMatch(/"a\.\.b".*empty segment/);
    expect(messageOf(() => parseFieldPath(".a"))).toMatch(/empty segment/);
    expect(messageOf(() => parseFieldPath("a."))).toMatch(/empty segment/);
    expect(messageOf(() => parseFieldPath("``"))).toMatch(/empty segment/);
    expect(messageOf(() => parseFieldPath("`a"))).toMatch(/unterminated/);
    expect(messageOf(() => parseFieldPath("`a\\"))).toMatch(/dangling backslash/);
    expect(messageOf(() => parseFieldPath("`a`b"))).toMatch(/followed by/);
    expect(messageOf(() => parseFieldPath("a`b`"))).toMatch(/whole segment/);
    expect(messageOf(() => parseFieldPath("a.__name__"))).toMatch(/"__name__" is reserved/);
    expect(messageOf(() => parseFieldPath("__x__"))).toMatch(/reserved/);
    expect(messageOf(() => parseFieldPath("__proto__"))).toMatch(/reserved/);
    expect(messageOf(() => parseFieldPath("x".repeat(1501)))).toMatch(/1500 bytes/);
    expect(messageOf(() => parseFieldPath(5))).toMatch(/string/);
  });

  it("formats canonically", () => {
    expect(formatFieldPath(["a", "b_1"])).toBe("a.b_1");
    expect(formatFieldPath(["a.b", "1x", "x`y", "back\\slash"])).toBe("`a.b`.`1x`.`x\\`y`.`back\\\\slash`");
    expect(formatFieldPath(["__name__"])).toBe("__name__");
  });

  it("parse(format(x)) equals x (property)", () => {
    const segment = fc
      .oneof(
        fc.string({ unit: "binary", minLength: 1, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom("a", "_", "1", ".", "`", "\\", " "), minLength: 1, maxLength: 8 }),
      )
      .filter((s) => !/^__.*__$/s.test(s));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        const text = formatFieldPath(segs);
        expect(parseFieldPath(text)).toEqual(segs);
        expect(formatFieldPath(parseFieldPath(text))).toBe(text);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("field access", () => {
  const doc = { a: { b: { c: 1 } }, s: "x", t: { $timestamp: "2020-01-01T00:00:00.000000000Z" } };

  it("getField walks maps only", () => {
    expect(getField(doc, ["a", "b", "c"])).toBe(1);
    expect(getField(doc, ["a", "b"])).toEqual({ c: 1 });
    expect(getField(doc, ["a", "x"])).toBeUndefined();
    expect(getField(doc, ["s", "length"])).toBeUndefined();
    expect(getField(doc, ["t", "$timestamp"])).toBeUndefined();
    expect(getField(doc, ["toString"])).toBeUndefined();
  });

  it("setField copies along the path and never mutates", () => {
    const before = structuredClone(doc);
    const out = setField(doc, ["a", "b", "d"], 2);
    expect(out).toEqual({ ...doc, a: { b: { c: 1, d: 2 } } });
    expect(doc).toEqual(before);
    expect(out.s).toBe(doc.s);
    expect(setField(doc, ["s", "x"], 1).s).toEqual({ x: 1 }); // non-map intermediate replaced
    expect(setField(doc, ["t", "y"], 1).t).toEqual({ y: 1 }); // a tagged value is not a map
    expect(setField({}, ["n", "m"], null)).toEqual({ n: { m: null } });
    expect(Object.keys(setField(doc, ["a"], 0))).toEqual(["a", "s", "t"]); // keeps key order
  });

  it("setField defines own properties even for odd names", () => {
    const out = setField({}, ["__proto__"], 1);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(out, "__proto__")).toBe(true);
  });

  it("deleteField removes and keeps emptied parents", () => {
    const before = structuredClone(doc);
    expect(deleteField(doc, ["a", "b", "c"])).toEqual({ ...doc, a: { b: {} } });
    expect(deleteField(doc, ["s"])).toEqual({ a: doc.a, t: doc.t });
    expect(deleteField(doc, ["a", "zz"])).toBe(doc);
    expect(deleteField(doc, ["s", "x"])).toBe(doc);
    expect(doc).toEqual(before);
  });

  it("isPathPrefix", () => {
    expect(isPathPrefix(["a"], ["a", "b"])).toBe(true);
    expect(isPathPrefix(["a", "b"], ["a", "b"])).toBe(true);
    expect(isPathPrefix(["a", "b"], ["a"])).toBe(false);
    expect(isPathPrefix(["a"], ["ab"])).toBe(false);
  });
});
