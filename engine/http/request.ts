/**
 * Reading requests at the edge: size-capped JSON bodies, document and
 * collection paths from the URL, and the `If-Match` precondition.
 */
import { BlazeError, invalidArgument } from "../core/errors";
import { LIMITS } from "../core/limits";

/** Reads a JSON body, refusing one over the size cap before parsing it. */
export async function readJson(request: Request, maxBytes: number = LIMITS.maxRequestBytes): Promise<unknown> {
  const declared = Number(request.headers.get("Content-Length") ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const buf = await request.arrayBuffer();
  if (buf.byteLength > maxBytes) throw tooLarge(maxBytes);
  if (buf.byteLength === 0) throw invalidArgument("request body is empty; expected JSON");
  const text = new TextDecoder().decode(buf);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`request body is not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
}

function tooLarge(maxBytes: number) {
  return new BlazeError("PAYLOAD_TOO_LARGE", `request body is larger than ${maxBytes} bytes`);
}

/** The path after `prefix` in the URL, with each segment percent-decoded. */
export function pathFromUrl(url: string, prefix: string): string {
  const pathname = new URL(url).pathname;
  if (!pathname.startsWith(prefix)) throw invalidArgument(`expected a path under ${prefix}`);
  const raw = pathname.slice(prefix.length);
  try {
    return raw
      .split("/")
      .map((s) => {
        const seg = decodeURIComponent(s);
        // An encoded slash would smuggle a separator into an id.
        if (seg.includes("/")) throw invalidArgument(`path segment ${JSON.stringify(seg)} contains "/"`);
        return seg;
      })
      .join("/");
  } catch (e) {
    if (e instanceof BlazeError) throw e;
    throw invalidArgument("path is not valid percent-encoding");
  }
}

/** A document path as a URL path, each segment percent-encoded (ids may hold any UTF-8). */
export function pathToUrl(prefix: string, path: string): string {
  return prefix + path.split("/").map(encodeURIComponent).join("/");
}

/** `If-Match: <version>` (quotes allowed, as an ETag) -> ifVersion. */
export function ifVersionHeader(request: Request): number | undefined {
  const raw = request.headers.get("If-Match");
  if (raw === null) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(raw);
  if (!m) throw invalidArgument(`If-Match must be a document version (a non-negative integer), got ${JSON.stringify(raw)}`);
  return Number(m[1]);
}
