/**
 * The key ranges of a composite index scan: equality prefixes, the range on
 * the first ordered field and the cursors, as byte bounds on the keys.
 */
import { fieldDirection, nameDirection, prefixUpperBound } from "../index/composite";
import type { CompositeIndex, CompositeIndexField } from "../index/config-types";
import { compareBytes, concatBytes, encodeDocumentName, encodeValue, invertBytes } from "../index/encoding";
import type { NormalizedQuery, OrderSpec } from "../core/query/normalize";
import type { Bound, CompositeScan, EntryPredicate, KeyRange } from "./plan-types";
import { resolveCursor, type CursorComponent } from "./cursors";
import { isName, refPath } from "./name-predicate";

/** The smallest key above every key that starts with `prefix`; null if none exists. */
const after = (prefix: Uint8Array) => prefixUpperBound(prefix);

function clampLo(r: KeyRange, lo: Uint8Array | null): KeyRange {
  if (lo === null) return { lo: r.lo, hi: Uint8Array.of() }; // nothing lies above the top: empty
  return { lo: r.lo && compareBytes(r.lo, lo) >= 0 ? r.lo : lo, hi: r.hi };
}

function clampHi(r: KeyRange, hi: Uint8Array | null): KeyRange {
  if (hi === null) return r;
  return { lo: r.lo, hi: r.hi && compareBytes(r.hi, hi) <= 0 ? r.hi : hi };
}

const isEmpty = (r: KeyRange) => r.hi !== null && r.lo !== null && compareBytes(r.lo, r.hi) >= 0;

/** A slot's bytes: ascending encodings, inverted for a descending field. */
const slotBytes = (ascending: Uint8Array, field: CompositeIndexField) =>
  fieldDirection(field) === "desc" ? invertBytes(ascending) : ascending;

/**
 * The key ranges of a composite scan: one per combination of equality points
 * (and of points on the first ordered field), each narrowed by the range on
 * the first ordered field and by the cursors.
 */
export function compositeScans(
  index: CompositeIndex,
  reversed: boolean,
  slotPreds: EntryPredicate[],
  firstOrder: OrderSpec,
  first: EntryPredicate | undefined,
  nq: NormalizedQuery,
  constants: Map<string, Uint8Array>,
): CompositeScan[] {
  let prefixes: { bytes: Uint8Array; fixed: Map<string, Uint8Array> }[] = [{ bytes: Uint8Array.of(), fixed: constants }];
  slotPreds.forEach((p, i) => {
    const f = index.fields[i];
    prefixes = prefixes.flatMap((pre) => p.points!.map((x) => ({ bytes: concatBytes(pre.bytes, slotBytes(x, f)), fixed: pre.fixed })));
  });
  const k = slotPreds.length;
  const orderField = index.fields[k];
  if (first?.points) {
    prefixes = prefixes.flatMap((pre) =>
      first.points!.map((x) => ({
        bytes: concatBytes(pre.bytes, slotBytes(x, orderField)),
        fixed: new Map([...pre.fixed, [firstOrder.field, x]]),
      })),
    );
  }
  const scans: CompositeScan[] = [];
  for (const pre of prefixes) {
    let range: KeyRange = { lo: pre.bytes, hi: after(pre.bytes) };
    const exclude: KeyRange[] = [];
    if (first && !first.points) {
      range = slotRange(range, pre.bytes, first, orderField);
      for (const x of first.exclude) {
        const at = concatBytes(pre.bytes, slotBytes(x, orderField));
        exclude.push({ lo: at, hi: after(at) });
      }
    }
    let empty = false;
    for (const role of ["start", "end"] as const) {
      const bound = resolveCursor(role === "start" ? nq.startAt : nq.endAt, role, nq.orderBy, pre.fixed);
      if (bound.kind === "none") empty = true;
      if (bound.kind !== "bound") continue;
      const p = concatBytes(pre.bytes, ...bound.components.map((c) => componentBytes(index, c)));
      // In key order: the start of an unreversed scan is a lower bound.
      const lower = (role === "start") !== reversed;
      const atOrAfter = lower ? bound.inclusive : !bound.inclusive; // key >= p, else key >= after(p)
      range = lower ? clampLo(range, atOrAfter ? p : after(p)) : clampHi(range, atOrAfter ? p : after(p));
    }
    if (empty || isEmpty(range)) continue;
    scans.push({ index: "composite", range, exclude });
  }
  return scans;
}

/** A cursor position's bytes in the key: a field in its index direction, the name like the last field. */
function componentBytes(index: CompositeIndex, c: CursorComponent): Uint8Array {
  if (isName(c.order)) {
    const name = encodeDocumentName(refPath(c.value));
    return nameDirection(index) === "desc" ? invertBytes(name) : name;
  }
  const f = index.fields.find((x) => x.fieldPath === c.order.field && !x.arrayConfig)!;
  return encodeValue(c.value, fieldDirection(f));
}

/**
 * Narrows a key range by a range on the slot after `prefix`. Bounds are in
 * ascending terms; a descending slot holds inverted bytes, so its lower
 * bound becomes an upper one. `key < after(p + x)` means "slot <= x".
 */
function slotRange(range: KeyRange, prefix: Uint8Array, p: EntryPredicate, field: CompositeIndexField): KeyRange {
  const desc = fieldDirection(field) === "desc";
  const at = (b: Bound) => concatBytes(prefix, desc ? invertBytes(b.bytes) : b.bytes);
  let r = range;
  if (p.lower) {
    const x = at(p.lower);
    r = desc ? clampHi(r, p.lower.inclusive ? after(x) : x) : clampLo(r, p.lower.inclusive ? x : after(x));
  }
  if (p.upper) {
    const x = at(p.upper);
    r = desc ? clampLo(r, p.upper.inclusive ? x : after(x)) : clampHi(r, p.upper.inclusive ? after(x) : x);
  }
  return r;
}
