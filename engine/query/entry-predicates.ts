/**
 * Filters on one field as conditions on its single-field entries (encoded
 * bytes): points, a range and exclusions, intersected and tightened at plan
 * time so an impossible conjunction is known before any read.
 */
import { typeName, type Value } from "../core/values";
import { compareBytes, encodeValue, typeRange } from "../index/encoding";
import type { FieldFilter } from "../core/query/normalize";
import type { Bound, EntryPredicate } from "./plan-types";

const NULL_BYTES = encodeValue(null);

const NAN_BYTES = encodeValue({ $double: "NaN" });

/**
 * Where a range on the operand's type starts and ends. NaN encodes first among
 * numbers, and range filters never match it (Firestore), so a numeric range
 * starts just above NaN.
 */
function typeBounds(v: Value): [Bound, Bound] {
  const [lo, hi] = typeRange(v);
  const lower: Bound = typeName(v) === "number" ? { bytes: NAN_BYTES, inclusive: false } : { bytes: lo, inclusive: true };
  return [lower, { bytes: hi, inclusive: false }];
}

export function filterPredicate(f: FieldFilter): EntryPredicate | "never" {
  const p: EntryPredicate = { field: f.field, kind: "value", points: null, lower: null, upper: null, exclude: [] };
  const list = () => f.value as Value[];
  switch (f.op) {
    case "==":
      return { ...p, points: [encodeValue(f.value)] };
    case "in":
      return { ...p, points: list().map((v) => encodeValue(v)) };
    case "array-contains":
      return { ...p, kind: "element", points: [encodeValue(f.value)] };
    case "array-contains-any":
      return { ...p, kind: "element", points: list().map((v) => encodeValue(v)) };
    case "<":
      return { ...p, lower: typeBounds(f.value)[0], upper: { bytes: encodeValue(f.value), inclusive: false } };
    case "<=":
      return { ...p, lower: typeBounds(f.value)[0], upper: { bytes: encodeValue(f.value), inclusive: true } };
    case ">":
      return { ...p, lower: { bytes: encodeValue(f.value), inclusive: false }, upper: typeBounds(f.value)[1] };
    case ">=":
      return { ...p, lower: { bytes: encodeValue(f.value), inclusive: true }, upper: typeBounds(f.value)[1] };
    case "!=":
      // Any value above null except the operand.
      return { ...p, lower: { bytes: NULL_BYTES, inclusive: false }, exclude: [encodeValue(f.value)] };
    case "not-in":
      // A list holding null excludes every document (null is excluded anyway, and so is everything else).
      if (list().some((v) => v === null)) return "never";
      return { ...p, lower: { bytes: NULL_BYTES, inclusive: false }, exclude: list().map((v) => encodeValue(v)) };
  }
}

const bytesEqual = (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) === 0;

function tighterLower(a: Bound | null, b: Bound | null): Bound | null {
  if (!a || !b) return a ?? b;
  const c = compareBytes(a.bytes, b.bytes);
  return c > 0 || (c === 0 && !a.inclusive) ? a : b;
}

function tighterUpper(a: Bound | null, b: Bound | null): Bound | null {
  if (!a || !b) return a ?? b;
  const c = compareBytes(a.bytes, b.bytes);
  return c < 0 || (c === 0 && !a.inclusive) ? a : b;
}

export function intersect(a: EntryPredicate, b: EntryPredicate): EntryPredicate {
  const points = a.points && b.points ? a.points.filter((p) => b.points!.some((q) => bytesEqual(p, q))) : (a.points ?? b.points);
  return {
    field: a.field,
    kind: a.kind,
    points,
    lower: tighterLower(a.lower, b.lower),
    upper: tighterUpper(a.upper, b.upper),
    exclude: [...a.exclude, ...b.exclude],
  };
}

function withinBounds(x: Uint8Array, lower: Bound | null, upper: Bound | null): boolean {
  if (lower) {
    const c = compareBytes(x, lower.bytes);
    if (c < 0 || (c === 0 && !lower.inclusive)) return false;
  }
  if (upper) {
    const c = compareBytes(x, upper.bytes);
    if (c > 0 || (c === 0 && !upper.inclusive)) return false;
  }
  return true;
}

function sortedUnique(list: Uint8Array[]): Uint8Array[] {
  const sorted = [...list].sort(compareBytes);
  return sorted.filter((b, i) => i === 0 || !bytesEqual(sorted[i - 1], b));
}

/** Applies ranges and exclusions to points at plan time; "never" if nothing can match. */
export function tighten(p: EntryPredicate): EntryPredicate | "never" {
  if (p.points) {
    const points = sortedUnique(p.points).filter(
      (x) => withinBounds(x, p.lower, p.upper) && !p.exclude.some((e) => bytesEqual(e, x)),
    );
    if (points.length === 0) return "never";
    return { ...p, points, lower: null, upper: null, exclude: [] };
  }
  if (p.lower && p.upper) {
    const c = compareBytes(p.lower.bytes, p.upper.bytes);
    if (c > 0 || (c === 0 && !(p.lower.inclusive && p.upper.inclusive))) return "never";
  }
  return { ...p, exclude: sortedUnique(p.exclude).filter((x) => withinBounds(x, p.lower, p.upper)) };
}
