import { describe, expect, it } from "vitest";
import { constantTimeEqual, generateKey, hashSecret, looksLikeKey, parseKey } from "./key-format";

describe("API key format", () => {
  it("generates role-prefixed keys with 256 bits of secret that parse back", async () => {
    for (const role of ["admin", "client"] as const) {
      const k = await generateKey(role);
      expect(k.key).toMatch(new RegExp(`^blz_${role}_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`));
      expect(parseKey(k.key)).toEqual({ role, id: k.id, secret: k.secret });
      expect(k.secretHash).toBe(await hashSecret(k.secret));
      expect(k.secretHash).toMatch(/^[0-9a-f]{64}$/);
      expect(looksLikeKey(k.key)).toBe(true);
    }
  });

  it("never repeats ids or secrets", async () => {
    const keys = await Promise.all(Array.from({ length: 200 }, () => generateKey("client")));
    expect(new Set(keys.map((k) => k.id)).size).toBe(200);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(200);
  });

  it.each([
    "",
    "blz_",
    "blz_admin_0123456789abcdef",
    `blz_owner_0123456789abcdef_${"a".repeat(43)}`,
    `blz_admin_0123456789ABCDEF_${"a".repeat(43)}`,
    `blz_admin_0123456789abcdef_${"a".repeat(42)}`,
    `blz_admin_0123456789abcdef_${"a".repeat(44)}`,
    `blz_admin_0123456789abcdef_${"a".repeat(42)}=`,
    ` blz_admin_0123456789abcdef_${"a".repeat(43)}`,
  ])("rejects malformed key %j", (key) => {
    expect(parseKey(key)).toBeNull();
  });

  it("SHA-256 of the secret, as every tool computes it", async () => {
    expect(await hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("compares in constant time, and correctly", () => {
    expect(constantTimeEqual("abcd", "abcd")).toBe(true);
    expect(constantTimeEqual("abcd", "abce")).toBe(false);
    expect(constantTimeEqual("abcd", "abc")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});
