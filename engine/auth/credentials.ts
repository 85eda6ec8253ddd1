/**
 * Where credentials travel: `Authorization: Bearer <API key or JWT>` (told
 * apart by the key prefix), `X-Blaze-Key: <API key>` (so a client key and a
 * user's JWT can travel together), and, on the WebSocket upgrade only
 * (browsers cannot set headers there), `Sec-WebSocket-Protocol:
 * blaze.v1, blaze.auth.<base64url credential>` or, deprecated because URLs
 * end up in logs, `?key=` and `?access_token=`. (A socket can also send
 * them as its first message: engine/auth/socket-credentials.ts.) Anything
 * malformed is refused, never read as "no credential".
 */
import { decodeBase64url } from "../core/base64url";
import { BlazeError } from "../core/errors";
import { looksLikeKey } from "./key-format";

/** The subprotocol of GET /v1/listen: the one the server answers with, never a credential. */
export const LISTEN_PROTOCOL = "blaze.v1";
/** A credential offered as a subprotocol: `blaze.auth.<base64url of an API key or JWT>`. */
export const AUTH_PROTOCOL_PREFIX = "blaze.auth.";

/** The subprotocols a WebSocket upgrade offers, in order. */
export function offeredProtocols(request: Request): string[] {
  return (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

export interface PresentedCredentials {
  key: string | null;
  jwt: string | null;
}

const unauthenticated = (message: string) => new BlazeError("UNAUTHENTICATED", message);

export function presentedCredentials(request: Request): PresentedCredentials {
  const found: PresentedCredentials = { key: null, jwt: null };
  const put = (kind: keyof PresentedCredentials, value: string, from: string) => {
    if (found[kind] !== null) throw unauthenticated(`two ${kind === "key" ? "API keys" : "JWTs"} presented (the second in ${from}); send one`);
    found[kind] = value;
  };
  const authorization = request.headers.get("Authorization");
  if (authorization !== null) {
    const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthenticated("Authorization must be `Bearer <API key or JWT>`");
    put(looksLikeKey(m[1]) ? "key" : "jwt", m[1], "Authorization");
  }
  const header = request.headers.get("X-Blaze-Key");
  if (header !== null) {
    if (!looksLikeKey(header.trim())) throw unauthenticated("X-Blaze-Key takes an API key (blz_...); send a JWT as Authorization: Bearer");
    put("key", header.trim(), "X-Blaze-Key");
  }
  const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
  for (const protocol of offeredProtocols(request)) {
    if (!protocol.startsWith(AUTH_PROTOCOL_PREFIX)) continue;
    if (!upgrade) throw unauthenticated("credentials in Sec-WebSocket-Protocol are accepted only on the WebSocket upgrade of GET /v1/listen; send an Authorization header");
    const value = decodeBase64url(protocol.slice(AUTH_PROTOCOL_PREFIX.length));
    if (!value) throw unauthenticated(`Sec-WebSocket-Protocol: ${AUTH_PROTOCOL_PREFIX}<credential> takes the base64url of an API key or JWT`);
    put(looksLikeKey(value) ? "key" : "jwt", value, "Sec-WebSocket-Protocol");
  }
  const url = new URL(request.url);
  const key = url.searchParams.get("key");
  const token = url.searchParams.get("access_token");
  if (key !== null || token !== null) {
    // Deprecated (query strings end up in logs): only the WebSocket upgrade takes them, for clients from before Sec-WebSocket-Protocol.
    if (!upgrade) {
      throw unauthenticated("credentials in the URL (?key=, ?access_token=) are accepted only on the WebSocket upgrade of GET /v1/listen; send an Authorization header");
    }
    if (key !== null) {
      if (!looksLikeKey(key)) throw unauthenticated("?key= takes an API key (blz_...); send a JWT as ?access_token=");
      put("key", key, "?key=");
    }
    if (token !== null) put("jwt", token, "?access_token=");
  }
  return found;
}
