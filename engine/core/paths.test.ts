import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LIMITS } from "./limits";
import { generateId, isDocumentPath, parseCollectionPath, parseDocumentPath, parsePath, validateId } from "./paths";
import { messageOf } from "../../test/support/expect-error";

describe("parsePath", () => {
  it("splits valid paths", () => {
    expect(parsePath("users")).toEqual(["users"]);
    expect(parsePath("users/alice/posts/p1")).toEqual(["users", "alice", "posts", "p1"]);
    expect(parsePath("a b/ü😀/...")).toEqual(["a b", "ü😀", "..."]);
  });

  it("rejects malformed paths, quoting them", () => {
    expect(messageOf(() => parsePath(""))).toMatch(/empty/);
    expect(messageOf(() => parsePath("/users"))).toMatch(/"\/users".*start or end/);
    expect(messageOf(() => parsePath("users/"))).toMatch(/start or end/);
    expect(messageOf(() => parsePath("a//b"))).toMatch(/"a\/\/b".*empty segment/);
    expect(messageOf(() => parsePath("a/./b"))).toMatch(/"\." is not allowed/);
    expect(messageOf(() => parsePath("a/.."))).toMatch(/"\.\." is not allowed/);
    expect(messageOf(() => parsePath("a/__id__"))).toMatch(/"__id__" is reserved/);
    expect(messageOf(() => parsePath(42))).toMatch(/string/);
    expect(messageOf(() => parsePath("a/" + "x".repeat(1501)))).toMatch(/1501 bytes.*1500/);
    // Firestore's 6 KiB document name: five ids of 1,200 bytes pass, six do not.
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(1200, "x")).join("/");
    expect(parsePath(ids(5))).toHaveLength(5);
    expect(messageOf(() => parsePath(ids(6)))).toMatch(/path is 7205 bytes, more than the limit of 6144/);
    expect(() => parsePath("a/" + "é".repeat(750))).not.toThrow();
    expect(messageOf(() => parsePath("a/" + "é".repeat(751)))).toMatch(/1502 bytes/);
    const long = Array.from({ length: LIMITS.maxPathSegments + 1 }, () => "s").join("/");
    expect(messageOf(() => parsePath(long))).toMatch(/101 segments/);
  });
});

describe("document and collection paths", () => {
  it("parses a root and a nested document path", () => {
    expect(parseDocumentPath("users/alice")).toEqual({
      path: "users/alice",
      segments: ["users", "alice"],
      id: "alice",
      collectionPath: "users",
      collectionId: "users",
      parentPath: null,
    });
    expect(parseDocumentPath("users/alice/posts/p1")).toMatchObject({
      id: "p1",
      collectionPath: "users/alice/posts",
      collectionId: "posts",
      parentPath: "users/alice",
    });
  });

  it("parses collection paths", () => {
    expect(parseCollectionPath("users")).toEqual({ path: "users", segments: ["users"], collectionId: "users", parentPath: null });
    expect(parseCollectionPath("users/alice/posts")).toMatchObject({ collectionId: "posts", parentPath: "users/alice" });
  });

  it("tells the kinds apart", () => {
    expect(messageOf(() => parseDocumentPath("users"))).toMatch(/"users" is a collection path, not a document path/);
    expect(messageOf(() => parseCollectionPath("users/a"))).toMatch(/is a document path, not a collection path/);
    expect(isDocumentPath("users/a")).toBe(true);
    expect(isDocumentPath("users")).toBe(false);
    expect(isDocumentPath("users//a")).toBe(false);
    expect(isDocumentPath(null)).toBe(false);
  });
});

describe("ids", () => {
  it("validateId returns valid ids and rejects bad ones", () => {
    expect(validateId("alice")).toBe("alice");
    expect(messageOf(() => validateId("a/b"))).toMatch(/"a\/b" must not contain/);
    expect(messageOf(() => validateId(""))).toMatch(/empty/);
    expect(messageOf(() => validateId("\uDC00"))).toMatch(/lone surrogate/);
  });

  it("generateId makes 20 alphanumerics, distinct, valid", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = generateId();
      expect(id).toMatch(/^[A-Za-z0-9]{20}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
  });

  it("generateId uses the whole alphabet roughly evenly", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 3100; i++) for (const c of generateId()) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 62,000 draws: each letter expects 1000; a biased modulo would skew the first 8 letters by ~25%.
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });

  it("round-trips joined valid ids (property)", () => {
    const id = fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).filter((s) => {
      try {
        validateId(s);
        return true;
      } catch {
        return false;
      }
    });
    fc.assert(
      fc.property(fc.array(id, { minLength: 1, maxLength: 8 }), (segs) => {
        expect(parsePath(segs.join("/"))).toEqual(segs);
        expect(isDocumentPath(segs.join("/"))).toBe(segs.length % 2 === 0);
      }),
    );
  });
});
