/**
 * Base64url text (RFC 4648 §5, no padding), as JWT segments and the
 * `blaze.auth.<credential>` WebSocket subprotocol carry it. Pure.
 */

/** UTF-8 text -> base64url. */
export function encodeBase64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url -> UTF-8 text; null for anything that is not base64url of UTF-8. */
export function decodeBase64url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}
