import { describe, expect, it } from "vitest";
import { decodeBase64url, encodeBase64url } from "./base64url";

describe("base64url", () => {
  it.each(["", "a", "ab", "abc", "blz_client_0123_sec+ret/==", "ünïcödé ✓", '{"sub":"u","exp":1}'])("round-trips %j", (text) => {
    const encoded = encodeBase64url(text);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/);
    expect(decodeBase64url(encoded)).toBe(text);
  });

  it.each([
    ["standard base64 characters", "a+b/"],
    ["padding", "YQ=="],
    ["an impossible length", "abcde"],
    ["bytes that are not UTF-8", "_w"],
  ])("refuses %s", (_n, text) => {
    expect(decodeBase64url(text)).toBeNull();
  });
});
