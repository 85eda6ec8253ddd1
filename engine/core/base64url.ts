/**
 * Base64url text (RFC 4648 §5, no padding), as JWT segments and the
 * `blaze.auth.<credential>` WebSocket subprotocol carry it: the standard
 * base64 of values.ts with the URL-safe alphabet. Pure.
 */
import { base64Decode, base64Encode, utf8Encode } from "./values";

/** UTF-8 text -> base64url. */
export function encodeBase64url(text: string): string {
  return base64Encode(utf8Encode(text)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url -> UTF-8 text; null for anything that is not base64url of UTF-8. */
export function decodeBase64url(text: string): string | null {
  const bytes = /^[\w-]*$/.test(text) ? base64Decode(text.replace(/-/g, "+").replace(/_/g, "/")) : undefined;
  try {
    return bytes ? new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes) : null;
  } catch {
    return null;
  }
}
