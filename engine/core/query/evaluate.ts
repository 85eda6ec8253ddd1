/**
 * The reference evaluator: Firestore's query semantics stated in one place,
 * over documents in memory. It is the oracle the D1 planner is tested
 * against and the matcher live queries reuse, so it is written to be
 * obviously correct, not fast.
 *
 * Semantics:
 * - A document missing a field never matches a filter on that field, and is
 *   left out by an orderBy on it.
 * - `== < <= > >=` match only values of the operand's type (all numbers are
 *   one type), compared by Firestore's value order; `== null` matches null.
 *   NaN equals only NaN and sorts before every other number; range filters
 *   never match NaN (and the normalizer refuses NaN as a range operand).
 * - `!=` and `not-in` match values of any type except equal ones, but never
 *   null or a missing field; a `not-in` list holding null matches nothing.
 * - `in` matches a value equal to one listed; `array-contains` an array with
 *   an element equal to the operand; `array-contains-any` an array with an
 *   element equal to one listed.
 * - `__name__` is the document's full path as a reference value.
 * - Order is Firestore's total cross-type order (compareValues), per orderBy
 *   entry, descending entries reversed.
 * - Cursors compare their values against a document's orderBy values in
 *   turn (a prefix decides); startAt/endAt include equal positions,
 *   startAfter/endBefore do not. limitToLast keeps the last N in order.
 * - Aggregates run over the documents the query returns (after cursors and
 *   limit): count; sum and avg over number values only, ignoring other
 *   types and missing fields; sum of nothing is 0, avg of nothing is null.
 *   IEEE rules for the rest: a NaN (or Infinity plus -Infinity) gives NaN, an
 *   overflow gives ±Infinity; results are values (tagged where JSON needs it).
 *   min and max take the field's values of any type in Firestore's order
 *   (null when no document has it).
 * - Group-by (group-by.ts) is the same aggregates per distinct key.
 * - Search: the searched fields' text matches (text-search.ts); fields not
 *   filled in from an index search every top-level field.
 */
import { getField, setField } from "../field-path";
import {
  compareValues,
  isMap,
  isNaNValue,
  numberOf,
  numberValue,
  typeRank,
  valuesEqual,
  type DocumentData,
  type Value,
} from "../values";
import {
  DOCUMENT_NAME,
  type Conjunction,
  type Cursor,
  type FieldFilter,
  type FieldRef,
  type NormalizedQuery,
  type OrderSpec,
  searchSupport,
  type QueryScope,
} from "./normalize";

export interface QueryDocument {
  path: string;
  data: DocumentData;
}

export type AggregateResult = Record<string, Value>;

export interface InMemoryResult<D extends QueryDocument> {
  docs: D[];
  aggregates?: AggregateResult;
}

/** A field's value in a document: `__name__` is the document's reference; undefined if missing. */
export function fieldValue(doc: QueryDocument, ref: FieldRef): Value | undefined {
  if (ref.field === DOCUMENT_NAME) return { $ref: doc.path };
  return getField(doc.data, ref.segments);
}

/** True if the document lies in the query's collection or collection group. */
export function inScope(path: string, scope: QueryScope): boolean {
  const segments = path.split("/");
  if (segments.length < 2 || segments.length % 2 !== 0) return false;
  if (scope.kind === "collection") return segments.slice(0, -1).join("/") === scope.path;
  return segments[segments.length - 2] === scope.collectionId;
}

const sameType = (a: Value, b: Value) => typeRank(a) === typeRank(b);
/** Same type and not NaN: what a range filter can match. */
const rangeable = (v: Value, operand: Value) => sameType(v, operand) && !isNaNValue(v);
const containsEqual = (list: Value[], v: Value) => list.some((x) => valuesEqual(x, v));

export function matchesFieldFilter(doc: QueryDocument, f: FieldFilter): boolean {
  const v = fieldValue(doc, f);
  if (v === undefined) return false;
  switch (f.op) {
    case "==":
      return sameType(v, f.value) && compareValues(v, f.value) === 0;
    case "<":
      return rangeable(v, f.value) && compareValues(v, f.value) < 0;
    case "<=":
      return rangeable(v, f.value) && compareValues(v, f.value) <= 0;
    case ">":
      return rangeable(v, f.value) && compareValues(v, f.value) > 0;
    case ">=":
      return rangeable(v, f.value) && compareValues(v, f.value) >= 0;
    case "!=":
      return v !== null && !valuesEqual(v, f.value);
    case "in":
      return containsEqual(f.value as Value[], v);
    case "not-in": {
      const list = f.value as Value[];
      if (containsEqual(list, null)) return false;
      return v !== null && !containsEqual(list, v);
    }
    case "array-contains":
      return Array.isArray(v) && containsEqual(v, f.value);
    case "array-contains-any":
      return Array.isArray(v) && v.some((e) => containsEqual(f.value as Value[], e));
  }
}

/**
 * A field filter, a conjunction (AND; [] matches everything) or a non-empty
 * DNF (OR of conjunctions). An empty NormalizedQuery.dnf matches nothing: use
 * matchesQuery, which says so.
 */
export function matchesFilter(doc: QueryDocument, filter: FieldFilter | Conjunction | Conjunction[]): boolean {
  if (!Array.isArray(filter)) return matchesFieldFilter(doc, filter);
  if (filter.length === 0) return true;
  if (Array.isArray(filter[0])) return (filter as Conjunction[]).some((c) => matchesFilter(doc, c));
  return (filter as Conjunction).every((f) => matchesFieldFilter(doc, f));
}

/** An OR of conjunctions, as NormalizedQuery.dnf: empty matches nothing. */
export const matchesDnf = (doc: QueryDocument, dnf: Conjunction[]): boolean => dnf.some((c) => matchesFilter(doc, c));

/**
 * Membership in the query's result set before cursors and limit: in scope,
 * matching the filter, and holding every orderBy field. This is what a live
 * query asks of a changed document.
 */
export function matchesQuery(doc: QueryDocument, nq: NormalizedQuery): boolean {
  return (
    inScope(doc.path, nq.scope) &&
    matchesDnf(doc, nq.dnf) &&
    // Unset only where no query can search (search() and the engine load it): then nothing to check.
    searchSupport.matches?.(doc, nq.search) !== false &&
    nq.orderBy.every((o) => fieldValue(doc, o) !== undefined)
  );
}

/** Orders documents by the orderBy entries. A missing field sorts first (callers filter those out). */
export function compareByOrder(orderBy: OrderSpec[]): (a: QueryDocument, b: QueryDocument) => number {
  return (a, b) => {
    for (const o of orderBy) {
      const va = fieldValue(a, o);
      const vb = fieldValue(b, o);
      let c = va === undefined || vb === undefined ? Number(va !== undefined) - Number(vb !== undefined) : compareValues(va, vb);
      if (o.direction === "desc") c = -c;
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** Where the cursor's position sits relative to the document in query order: <0 before, 0 at, >0 after. */
function compareCursorToDocument(cursor: Cursor, orderBy: OrderSpec[], doc: QueryDocument): number {
  for (let i = 0; i < cursor.values.length; i++) {
    const v = fieldValue(doc, orderBy[i]);
    // A missing field sorts first, as in compareByOrder (matchesQuery leaves such documents out).
    let c = v === undefined ? 1 : compareValues(cursor.values[i], v);
    if (orderBy[i].direction === "desc") c = -c;
    if (c !== 0) return c;
  }
  return 0;
}

/** True if the document lies between the query's start and end cursors. */
export function withinCursors(doc: QueryDocument, nq: NormalizedQuery): boolean {
  if (nq.startAt) {
    const c = compareCursorToDocument(nq.startAt, nq.orderBy, doc);
    if (nq.startAt.inclusive ? c > 0 : c >= 0) return false;
  }
  if (nq.endAt) {
    const c = compareCursorToDocument(nq.endAt, nq.orderBy, doc);
    if (nq.endAt.inclusive ? c < 0 : c <= 0) return false;
  }
  return true;
}

/** The select mask applied to a document's data: only the selected paths that exist. */
export function project(data: DocumentData, select: FieldRef[]): DocumentData {
  let out: DocumentData = {};
  for (const s of select) {
    const v = getField(data, s.segments);
    if (v !== undefined) out = setField(out, s.segments, v);
  }
  return out;
}

/** Aggregates over documents (the query's result window). */
export function aggregate(docs: readonly QueryDocument[], specs: NonNullable<NormalizedQuery["aggregate"]>): AggregateResult {
  const out: AggregateResult = {};
  for (const a of specs) {
    if (a.op === "count") {
      out[a.alias] = docs.length;
      continue;
    }
    if (a.op === "min" || a.op === "max") {
      out[a.alias] = extreme(docs, a, a.op);
      continue;
    }
    const numbers = docs.map((d) => numberOf(fieldValue(d, a))).filter((n): n is number => n !== undefined);
    const sum = numbers.reduce((s, n) => s + n, 0);
    out[a.alias] = a.op === "sum" ? numberValue(sum) : numbers.length === 0 ? null : numberValue(sum / numbers.length);
  }
  return out;
}

/** The documents a query returns, in order: scope, filter, orderBy existence, order, cursors, limit / limitToLast. */
export function queryWindow<D extends QueryDocument>(docs: readonly D[], nq: NormalizedQuery): D[] {
  const ordered = docs.filter((d) => matchesQuery(d, nq)).sort(compareByOrder(nq.orderBy));
  const bounded = ordered.filter((d) => withinCursors(d, nq));
  return nq.limit === null ? bounded : nq.limit.last ? bounded.slice(-nq.limit.count) : bounded.slice(0, nq.limit.count);
}

/**
 * The smallest or largest value of a field in Firestore's order, of any type;
 * null when no document has the field. Numbers come back as numbers (-0 as
 * 0: equal in that order, and the index does not tell them apart).
 */
function extreme(docs: readonly QueryDocument[], ref: FieldRef, op: "min" | "max"): Value {
  let best: Value | undefined;
  for (const d of docs) {
    const v = fieldValue(d, ref);
    if (v === undefined) continue;
    if (best === undefined || (op === "min" ? compareValues(v, best) < 0 : compareValues(v, best) > 0)) best = v;
  }
  return best === undefined ? null : indexCanonical(best);
}

/**
 * A value as the index gives it back (engine/index/decode.ts): equal in
 * Firestore's order, with -0 as 0 at any depth (the index does not tell
 * them apart), so min, max and group keys read the same from D1 and here.
 */
export function indexCanonical(v: Value): Value {
  if (Array.isArray(v)) return v.map(indexCanonical);
  const n = numberOf(v);
  if (n !== undefined) return numberValue(n === 0 ? 0 : n);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, indexCanonical(x)]));
  return v;
}

/**
 * Runs a normalized query over documents in memory: scope, filter, orderBy
 * existence, order, cursors, limit / limitToLast, then aggregates over the
 * result and the select mask on each document. Extra properties of the
 * documents (version, times) are kept.
 */
export function runQueryInMemory<D extends QueryDocument>(docs: readonly D[], nq: NormalizedQuery): InMemoryResult<D> {
  const window = queryWindow(docs, nq);
  const select = nq.select;
  const result: InMemoryResult<D> = {
    docs: select === null ? window : window.map((d) => ({ ...d, data: project(d.data, select) })),
  };
  if (nq.aggregate !== null) result.aggregates = aggregate(window, nq.aggregate);
  return result;
}
