/**
 * The request that opens a relay's internal socket to a shard or live-query
 * object: the client's upgrade without its credentials (the query string
 * that carries `?key=` / `?access_token=`, and the credential headers,
 * `Sec-WebSocket-Protocol` among them: it carries `blaze.auth.*`), so
 * no secret travels past the edge or reaches an object's logs. What the
 * object needs to know of the caller goes in `headers` (checked already).
 */
const CREDENTIAL_HEADERS = ["Authorization", "X-Blaze-Key", "Cookie", "Sec-WebSocket-Protocol"];

export function upstreamRequest(client: Request, headers: Record<string, string>): Request {
  const h = new Headers(client.headers);
  for (const name of CREDENTIAL_HEADERS) h.delete(name);
  for (const [name, value] of Object.entries(headers)) h.set(name, value);
  const url = new URL(client.url);
  url.search = "";
  return new Request(url.href, { headers: h });
}
