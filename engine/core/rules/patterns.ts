/**
 * Firestore-like path patterns for rules: `users/{uid}`, `users/{uid}/posts/{postId}`,
 * and one recursive wildcard `{name=**}` matching zero or more segments
 * (`{doc=**}` alone matches every document). Patterns match documents.
 *
 * A query's target is a document path with an unknown last id (`tasks/?`),
 * or, for a collection group, an unknown prefix as well (`**` + `/posts/?`):
 * a pattern matches a target only if it matches every document the target
 * could name, so a literal id never allows a list, and a collection group is
 * allowed only by a pattern that starts with a recursive wildcard, as in
 * Firestore ("rules are not filters").
 */
import { BlazeError } from "../errors";

type Segment =
  | { kind: "literal"; value: string }
  | { kind: "param"; name: string }
  | { kind: "recursive"; name: string };

export interface PathPattern {
  source: string;
  segments: Segment[];
}

/** A rule's view of the path: wildcard values, undefined where the target does not fix them. */
export type Params = Record<string, string | undefined>;

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const RECURSIVE = /^\{([A-Za-z_][A-Za-z0-9_]*)=\*\*\}$/;

export function compilePattern(source: string): PathPattern {
  const bad = (why: string) => new BlazeError("INVALID_ARGUMENT", `rules: path pattern ${JSON.stringify(source)}: ${why}`);
  const parts = source.replace(/^\/+|\/+$/g, "").split("/");
  if (parts.some((p) => p === "")) throw bad("empty segment");
  const names = new Set<string>();
  const segments = parts.map((p): Segment => {
    const rec = RECURSIVE.exec(p);
    const param = PARAM.exec(p);
    const name = rec?.[1] ?? param?.[1];
    if (name !== undefined) {
      if (names.has(name)) throw bad(`wildcard {${name}} appears twice`);
      names.add(name);
      return rec ? { kind: "recursive", name } : { kind: "param", name };
    }
    if (p.includes("{") || p.includes("}") || p.includes("*")) throw bad(`segment ${JSON.stringify(p)} is neither an id nor a wildcard`);
    return { kind: "literal", value: p };
  });
  const recursive = segments.filter((s) => s.kind === "recursive").length;
  if (recursive > 1) throw bad("at most one recursive wildcard {name=**}");
  if (recursive === 0 && segments.length % 2 !== 0) throw bad("a pattern names documents: it needs an even number of segments (collection/{id} pairs)");
  return { source, segments };
}

/** The value of one segment of a target; UNKNOWN where a query does not fix it. */
const UNKNOWN: unique symbol = Symbol("unknown");
type TargetSegment = string | typeof UNKNOWN;

/** Matches a document path; the wildcards' values, or null. */
export function matchDocument(pattern: PathPattern, path: string): Params | null {
  return matchSegments(pattern.segments, path.split("/"));
}

/** Matches every document of a collection (`users/alice/posts`): list rules of a collection query. */
export function matchCollection(pattern: PathPattern, collectionPath: string): Params | null {
  return matchSegments(pattern.segments, [...collectionPath.split("/"), UNKNOWN]);
}

/** Matches every document of a collection group: only a leading recursive wildcard can. */
export function matchCollectionGroup(pattern: PathPattern, collectionId: string): Params | null {
  const [first, ...rest] = pattern.segments;
  if (first?.kind !== "recursive") return null;
  // The recursive wildcard absorbs the unknown prefix; what follows must
  // match the end of `<prefix>/<group>/<id>`, which is at most two segments.
  if (rest.length > 2) return null;
  const tail = ([collectionId, UNKNOWN] as TargetSegment[]).slice(2 - rest.length);
  const params = matchSegments(rest, tail);
  return params && { ...params, [first.name]: undefined };
}

function matchSegments(pattern: Segment[], target: TargetSegment[]): Params | null {
  const r = pattern.findIndex((s) => s.kind === "recursive");
  if (r < 0) return pattern.length === target.length ? matchFixed(pattern, target) : null;
  const head = pattern.slice(0, r);
  const tail = pattern.slice(r + 1);
  if (target.length < head.length + tail.length) return null;
  const a = matchFixed(head, target.slice(0, head.length));
  const b = matchFixed(tail, target.slice(target.length - tail.length));
  if (!a || !b) return null;
  const middle = target.slice(head.length, target.length - tail.length);
  const rec = pattern[r] as Extract<Segment, { kind: "recursive" }>;
  const value = middle.some((s) => s === UNKNOWN) ? undefined : (middle as string[]).join("/");
  return { ...a, ...b, [rec.name]: value };
}

function matchFixed(pattern: Segment[], target: TargetSegment[]): Params | null {
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const s = pattern[i];
    const t = target[i];
    if (s.kind === "literal") {
      if (t !== s.value) return null; // an unknown id never matches a literal one
    } else {
      params[s.name] = t === UNKNOWN ? undefined : t;
    }
  }
  return params;
}
