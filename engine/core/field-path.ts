/**
 * Field paths name a field inside a document: `address.city`, or with
 * backticks for names that hold dots or other characters: `` `a.b`.c ``.
 * Used by updates, queries and the index. Pure; shared with the SDK.
 */
import { invalidArgument } from "./errors";
import { LIMITS } from "./limits";
import { LONE_SURROGATE, utf8Length } from "./utf8";
import { isMap, type DocumentData, type MapValue, type Value } from "./values";

/** The pseudo-field that means the document id in queries. */
export const DOCUMENT_ID_FIELD = "__name__";

const SIMPLE_SEGMENT = /^[A-Za-z_][A-Za-z_0-9]*$/;
const RESERVED_SEGMENT = /^__.*__$/s;

/**
 * Parses a dotted field path into its segments. Inside backticks a backslash
 * escapes the next character, so `` `a\`b` `` is the one segment a`b.
 */
export function parseFieldPath(s: unknown): string[] {
  if (typeof s !== "string") throw invalidArgument("field path must be a string");
  const shown = JSON.stringify(s.length > 100 ? s.slice(0, 100) + "…" : s);
  const fail = (why: string) => invalidArgument(`invalid field path ${shown}: ${why}`);
  if (s === "") throw fail("it is empty");
  if (utf8Length(s) > LIMITS.maxFieldPathBytes) throw fail(`longer than ${LIMITS.maxFieldPathBytes} bytes`);
  if (LONE_SURROGATE.test(s)) throw fail("not valid UTF-8 (lone surrogate)");

  const segments: string[] = [];
  let i = 0;
  for (;;) {
    let seg = "";
    if (s[i] === "`") {
      i++;
      for (;;) {
        if (i >= s.length) throw fail("unterminated backtick");
        const c = s[i++];
        if (c === "`") break;
        if (c === "\\") {
          if (i >= s.length) throw fail("dangling backslash");
          seg += s[i++];
        } else seg += c;
      }
      if (i < s.length && s[i] !== ".") throw fail("a quoted segment must be followed by \".\" or the end");
    } else {
      const end = s.indexOf(".", i);
      seg = s.slice(i, end === -1 ? s.length : end);
      i += seg.length;
      if (seg.includes("`")) throw fail("a backtick may only quote a whole segment");
    }
    if (seg === "") throw fail("empty segment");
    segments.push(seg);
    if (i >= s.length) break;
    i++; // the "."
    if (i >= s.length) throw fail("empty segment");
  }

  for (const seg of segments) {
    const isDocId = seg === DOCUMENT_ID_FIELD && segments.length === 1;
    if (RESERVED_SEGMENT.test(seg) && !isDocId) throw fail(`segment ${JSON.stringify(seg)} is reserved (__.*__)`);
  }
  return segments;
}

/** The canonical text of a field path: simple names bare, others in backticks. */
export function formatFieldPath(segments: readonly string[]): string {
  return segments
    .map((seg) => (SIMPLE_SEGMENT.test(seg) ? seg : "`" + seg.replace(/[\\`]/g, "\\$&") + "`"))
    .join(".");
}

/** True if `prefix` equals `path` or names one of its ancestors. */
export function isPathPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => seg === path[i]);
}

/** The value at a field path, or undefined if some segment is missing or not a map. */
export function getField(data: DocumentData, segs: readonly string[]): Value | undefined {
  let v: Value = data;
  for (const seg of segs) {
    if (!isMap(v) || !Object.prototype.hasOwnProperty.call(v, seg)) return undefined;
    v = (v as MapValue)[seg]; // tagged types are structurally MapValues too, so the guard cannot narrow
  }
  return v;
}

/**
 * Returns a copy of `data` with the field set, creating missing intermediate
 * maps and replacing intermediates that are not maps. Copies only along the
 * path; never mutates `data`.
 */
export function setField(data: DocumentData, segs: readonly string[], v: Value): DocumentData {
  if (segs.length === 0) throw invalidArgument("field path must not be empty");
  const [head, ...rest] = segs;
  if (rest.length === 0) return { ...data, [head]: v }; // a computed key defines an own property, even "__proto__"
  const child = Object.prototype.hasOwnProperty.call(data, head) ? data[head] : undefined;
  return { ...data, [head]: setField(isMap(child) ? child : {}, rest, v) };
}

/** Returns `data` without the field (an emptied parent map stays, as in Firestore); never mutates `data`. */
export function deleteField(data: DocumentData, segs: readonly string[]): DocumentData {
  if (segs.length === 0) throw invalidArgument("field path must not be empty");
  const [head, ...rest] = segs;
  if (!Object.prototype.hasOwnProperty.call(data, head)) return data;
  if (rest.length === 0) {
    const { [head]: _removed, ...out } = data;
    return out;
  }
  const child = data[head];
  if (!isMap(child)) return data;
  const next = deleteField(child, rest);
  return next === child ? data : { ...data, [head]: next };
}
