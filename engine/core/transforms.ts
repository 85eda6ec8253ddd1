/**
 * Applying a write to the current document, with Firestore's semantics for
 * set, set-with-merge, update and the field transforms. Pure: inputs are
 * never mutated; the result is validated (depth, size) before it is returned.
 *
 * Transforms apply after the write's data, as Firestore's backend applies
 * them: a set without merge replaces the document first, so `$increment`
 * there starts from nothing; merge and update start from the stored fields.
 */
import { invalidArgument } from "./errors";
import { formatFieldPath, getField, isPathPrefix, parseFieldPath } from "./field-path";
import {
  isMap,
  isTransform,
  numberOf,
  numberValue,
  timestampFromDate,
  validateDocumentData,
  validateFieldValue,
  valuesEqual,
  type DocumentData,
  type MapValue,
  type TransformValue,
  type Value,
} from "./values";

/** Create or replace a document; with `merge`, deep-merge into the current one. */
export function applySet(
  current: DocumentData | null,
  data: DocumentData,
  now: Date,
  opts: { merge?: boolean } = {},
): DocumentData {
  const merge = opts.merge === true;
  const input = validateDocumentData(data, { allowTransforms: true, allowDelete: merge });
  return validateDocumentData(setData(current, input, now, merge));
}

/**
 * applySet on data already validated, unvalidated result: the SDK's local
 * copy of a write it has checked (the server validates it again).
 */
export function setData(current: DocumentData | null, input: DocumentData, now: Date, merge = false): DocumentData {
  if (!merge) return resolve(input, [], {}, now) as DocumentData;
  const base = current ?? {};

  // Merge writes exactly the leaves of `data` (Firestore's field mask):
  // nested maps merge, everything else (including an empty map) replaces.
  const out = new Writer(base);
  const visit = (map: MapValue, path: string[]) => {
    for (const key of Object.keys(map)) {
      const v = map[key];
      const p = [...path, key];
      if (isMap(v) && !isTransform(v) && Object.keys(v).length > 0) visit(v, p);
      else if (isDelete(v)) out.delete(p);
      else out.set(p, resolve(v, p, base, now));
    }
  };
  visit(input, []);
  return out.root;
}

/**
 * Update fields by field path (`a.b`, `` `x.y` ``). Each value replaces the
 * field whole (maps are not merged); `{ $delete: true }` removes it.
 */
export function applyUpdate(current: DocumentData, fields: Record<string, Value>, now: Date): DocumentData {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw invalidArgument("update data must be a JSON object of field paths to values");
  }
  const entries = Object.keys(fields).map((key) => ({ key, path: parseFieldPath(key) }));
  checkNoPrefixes(entries);
  const checked: Record<string, Value> = {};
  for (const { path, key } of entries) {
    const raw = fields[key];
    put(checked, key, isDelete(raw) ? raw : validateFieldValue(raw, path, { allowTransforms: true, allowDelete: false }));
  }
  return validateDocumentData(updateData(current, checked, now));
}

/** applyUpdate on fields already validated, unvalidated result (see setData). */
export function updateData(current: DocumentData, fields: Record<string, Value>, now: Date): DocumentData {
  const out = new Writer(current);
  for (const key of Object.keys(fields)) {
    const path = parseFieldPath(key);
    const v = fields[key];
    if (isDelete(v)) out.delete(path);
    else out.set(path, resolve(v, path, current, now));
  }
  return out.root;
}

/** Firestore rejects an update that names both a field and one of its subfields. */
function checkNoPrefixes(entries: { key: string; path: string[] }[]): void {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  // After sorting, a path's descendants follow it directly.
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (isPathPrefix(a.path, b.path)) {
      const same = a.path.length === b.path.length;
      throw invalidArgument(
        same
          ? `field ${formatFieldPath(a.path)} is named twice in the update (${JSON.stringify(a.key)} and ${JSON.stringify(b.key)})`
          : `field ${formatFieldPath(a.path)} and its subfield ${formatFieldPath(b.path)} are both in the update`,
      );
    }
  }
}

function comparePaths(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

const isDelete = (v: unknown): boolean => isTransform(v) && "$delete" in v && v.$delete === true;

/** Replaces the transforms inside `v` (at `path`) by their results against `base`. */
function resolve(v: Value, path: string[], base: DocumentData, now: Date): Value {
  if (isTransform(v)) return applyTransform(v, getField(base, path), now);
  if (!isMap(v)) return v; // arrays hold no transforms (validation saw to that)
  const map = v as MapValue; // tagged types are structurally maps, so isMap cannot narrow them away
  const out: MapValue = {};
  for (const key of Object.keys(map)) put(out, key, resolve(map[key], [...path, key], base, now));
  return out;
}

function applyTransform(t: TransformValue, prev: Value | undefined, now: Date): Value {
  if ("$serverTimestamp" in t) return timestampFromDate(now);
  if ("$increment" in t) {
    // Firestore: a field that is not a number is replaced by the operand. Overflow gives Infinity.
    const by = numberOf(t.$increment)!;
    const base = numberOf(prev);
    return numberValue(base === undefined ? by : base + by);
  }
  if ("$arrayUnion" in t) {
    const out = Array.isArray(prev) ? [...prev] : [];
    for (const e of t.$arrayUnion) if (!out.some((x) => valuesEqual(x, e))) out.push(e);
    return out;
  }
  if ("$arrayRemove" in t) {
    const remove = t.$arrayRemove;
    return Array.isArray(prev) ? prev.filter((x) => !remove.some((e) => valuesEqual(x, e))) : [];
  }
  throw invalidArgument("$delete cannot be used here"); // callers handle $delete before resolving
}

/**
 * Copy-on-write edits of a document: each map on a written path is copied
 * once, so many writes cost one copy of what they touch, not one per write.
 */
class Writer {
  root: MapValue;
  private owned = new Set<MapValue>();

  constructor(base: DocumentData) {
    this.root = this.own(base);
  }

  set(path: string[], v: Value): void {
    const parent = this.parent(path, true)!;
    put(parent, path[path.length - 1], v);
  }

  delete(path: string[]): void {
    const parent = this.parent(path, false);
    if (parent) delete parent[path[path.length - 1]];
  }

  /** The owned map holding the last segment; missing or non-map intermediates become maps when `create`. */
  private parent(path: string[], create: boolean): MapValue | undefined {
    let node = this.root;
    for (const seg of path.slice(0, -1)) {
      const child = Object.prototype.hasOwnProperty.call(node, seg) ? node[seg] : undefined;
      if (isMap(child)) {
        const mine = this.owned.has(child) ? child : this.own(child);
        put(node, seg, mine);
        node = mine;
      } else if (create) {
        const fresh = this.own({});
        put(node, seg, fresh);
        node = fresh;
      } else return undefined;
    }
    return node;
  }

  private own(m: MapValue): MapValue {
    const copy = { ...m };
    this.owned.add(copy);
    return copy;
  }
}

/** Assigns an own property; plain assignment of "__proto__" would set the prototype instead. */
function put(obj: MapValue, key: string, v: Value): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
  else obj[key] = v;
}
