/**
 * The query planner: a NormalizedQuery in, a QueryPlan out (which index each
 * disjunction reads, its ranges as encoded bytes, the residual predicates,
 * the order and the limit). Pure: no D1, no Workers types; sql.ts turns a
 * plan into statements and executor.ts runs them.
 *
 * Index rules (Firestore's, restated for Blaze's D1 tables):
 * - No filter and order by `__name__` only: the documents table in name order.
 * - Equality filters only (`==`, `in`, `array-contains`, `array-contains-any`)
 *   and order by `__name__`: single-field indexes. One equality drives (its
 *   entries are read in document-name order, one scan per `in` value), the
 *   others are checked by primary-key lookups (EXISTS) on index_entries.
 * - Ranges, inequalities and orderBy on one field, with no equality on
 *   another field: that field's single-field index, read in (value, name) order.
 * - Anything else: a declared composite index whose fields are the equality
 *   fields (any order; `arrayConfig: CONTAINS` for array-contains) then the
 *   orderBy fields with the query's directions, or all of them reversed. The
 *   scan is an equality prefix plus a range on the first orderBy field; the
 *   other inequality fields are residual lookups. With no such index declared
 *   the query fails with FAILED_PRECONDITION and the definition to add.
 * - An orderBy field with an `==` filter is constant in the result, so it
 *   drops out of the order an index must provide (as in Firestore).
 * - `==`, `<`, `<=`, `>`, `>=` match only the operand's type: a range is
 *   bounded by the type's tag bytes. `!=` and `not-in` match every type above
 *   null. A document without the field has no entry, so it never matches.
 * - Cursors become bounds on (value, name) or on the composite key.
 */
import { BlazeError } from "../core/errors";
import { compareValues, type Value } from "../core/values";
import { fieldDirection, nameDirection, prefixUpperBound } from "../index/composite";
import { indexesFor, isExempt as configIsExempt } from "../index/config";
import type { CompositeIndex, CompositeIndexField, IndexConfig } from "../index/config-types";
import { compareBytes, concatBytes, encodeDocumentName, encodeValue, invertBytes } from "../index/encoding";
import {
  DOCUMENT_NAME,
  type AggregateSpec,
  type Conjunction,
  type Cursor,
  type Direction,
  type FieldFilter,
  type FieldRef,
  type NormalizedQuery,
  type OrderSpec,
  type QueryScope,
} from "./normalize";

export interface PlanContext {
  config: IndexConfig;
  /** Single-field exemptions; defaults to the config's fieldOverrides. */
  isExempt?(collectionId: string, fieldPath: string): boolean;
}

/** One end of a byte range; `bytes` is a complete encoding or a type's tag byte. */
export interface Bound {
  bytes: Uint8Array;
  inclusive: boolean;
}

/** A condition on one field's single-field entries of one kind (ascending encodings). */
export interface EntryPredicate {
  field: string;
  kind: "value" | "element";
  /** The entry is one of these (sorted); when set, the range and exclusions are already applied to them. */
  points: Uint8Array[] | null;
  lower: Bound | null;
  upper: Bound | null;
  exclude: Uint8Array[];
}

export interface NameBound {
  path: string;
  inclusive: boolean;
}

/** A condition on the document name (full paths). */
export interface NamePredicate {
  points: string[] | null;
  lower: NameBound | null;
  upper: NameBound | null;
  exclude: string[];
}

/** The documents table in name order. */
export interface DocumentsScan {
  index: "documents";
}

/** One field's single-field entries, read in (value, name) or in name order. */
export interface FieldScan {
  index: "field";
  predicate: EntryPredicate;
  order: "value" | "name";
}

/** A byte range of composite keys: `lo <= key < hi` (null: unbounded). */
export interface KeyRange {
  lo: Uint8Array | null;
  hi: Uint8Array | null;
}

/** A range of one composite index's keys within the query's scope. */
export interface CompositeScan {
  index: "composite";
  range: KeyRange;
  /** Key ranges left out (`!=` / `not-in` on the ranged field). */
  exclude: KeyRange[];
}

export type Scan = DocumentsScan | FieldScan | CompositeScan;

/** A cursor on a single-field scan ordered by value: (value, name) in query order. */
export interface TupleBound {
  value: Uint8Array;
  name: string | null;
  inclusive: boolean;
}

export type Rule = "documents" | "equality" | "single-field" | "composite";

/** How one conjunction of the DNF is read. */
export interface SubPlan {
  rule: Rule;
  filters: FieldFilter[];
  /** Each scan is one statement; their rows are merged in query order. */
  scans: Scan[];
  /** Checked per row by primary-key lookups on index_entries. */
  residual: EntryPredicate[];
  /** Filters and name-ordered cursors on the document name. */
  name: NamePredicate | null;
  /** Cursors of a value-ordered field scan (other scans fold them into name or key bounds). */
  start: TupleBound | null;
  end: TupleBound | null;
  /** Directions of the scan's order in query order (documents and field scans). */
  valueDirection: Direction;
  nameDirection: Direction;
  /** The composite index read, and whether it is read backwards. */
  composite: { index: CompositeIndex; reversed: boolean; scope: string } | null;
}

export interface QueryPlan {
  scope: QueryScope;
  orderBy: OrderSpec[];
  limit: NormalizedQuery["limit"];
  select: FieldRef[] | null;
  aggregate: AggregateSpec[] | null;
  /** Conjunctions that can match; none means the result is empty. */
  disjunctions: SubPlan[];
  /** Composite indexes the plan reads (the executor checks they are built). */
  indexes: CompositeIndex[];
}

/** A composite index definition as written in blaze.indexes.json. */
export interface IndexDefinition {
  collectionGroup: string;
  queryScope: "COLLECTION" | "COLLECTION_GROUP";
  fields: ({ fieldPath: string; order: "ASCENDING" | "DESCENDING" } | { fieldPath: string; arrayConfig: "CONTAINS" })[];
}

// ------------------------------------------------------------------ planning

export function planQuery(nq: NormalizedQuery, ctx: PlanContext): QueryPlan {
  const collectionId = nq.scope.collectionId;
  const exempt = ctx.isExempt ?? ((cid: string, field: string) => configIsExempt(ctx.config, cid, field));
  const indexes = indexesFor(ctx.config, collectionId).filter(
    (i) => i.queryScope === (nq.scope.kind === "collection" ? "COLLECTION" : "COLLECTION_GROUP"),
  );
  const disjunctions: SubPlan[] = [];
  for (const conjunction of nq.dnf) {
    const sub = planConjunction(nq, conjunction, indexes);
    if (!sub) continue;
    for (const p of [...sub.scans.flatMap((s) => (s.index === "field" ? [s.predicate] : [])), ...sub.residual]) {
      if (exempt(collectionId, p.field)) throw exemptionError(collectionId, p.field);
    }
    disjunctions.push(sub);
  }
  const used = new Map<string, CompositeIndex>();
  for (const d of disjunctions) if (d.composite) used.set(d.composite.index.id, d.composite.index);
  return {
    scope: nq.scope,
    orderBy: nq.orderBy,
    limit: nq.limit,
    select: nq.select,
    aggregate: nq.aggregate,
    disjunctions,
    indexes: [...used.values()],
  };
}

const isName = (f: { field: string }) => f.field === DOCUMENT_NAME;
const predKey = (field: string, kind: string) => `${kind}:${field}`;

/** The sub-plan of one conjunction, or null if it can match nothing. */
function planConjunction(nq: NormalizedQuery, conjunction: Conjunction, indexes: CompositeIndex[]): SubPlan | null {
  let name = namePredicate(conjunction.filter(isName));
  if (name === "never") return null;

  const preds = new Map<string, EntryPredicate>();
  for (const f of conjunction) {
    if (isName(f)) continue;
    const p = filterPredicate(f);
    if (p === "never") return null;
    const key = predKey(p.field, p.kind);
    const prev = preds.get(key);
    preds.set(key, prev ? intersect(prev, p) : p);
  }
  for (const [key, p] of preds) {
    const t = tighten(p);
    if (t === "never") return null;
    preds.set(key, t);
  }
  const valuePred = (field: string) => preds.get(predKey(field, "value"));

  // A field with one possible value (== or a one-value in) is constant in the result.
  const constants = new Map<string, Uint8Array>();
  for (const p of preds.values()) if (p.kind === "value" && p.points?.length === 1) constants.set(p.field, p.points[0]);

  const nameAt = nq.orderBy.findIndex(isName);
  const effective = nq.orderBy.slice(0, nameAt + 1).filter((o) => !constants.has(o.field));
  const orderFields = effective.slice(0, -1);
  const nameOrder = effective[effective.length - 1];
  // Fields ordered after __name__ do not order anything but must exist.
  const existence: EntryPredicate[] = nq.orderBy
    .slice(nameAt + 1)
    .filter((o) => !valuePred(o.field) && !preds.get(predKey(o.field, "element")))
    .map((o) => ({ field: o.field, kind: "value", points: null, lower: null, upper: null, exclude: [] }));

  const base = {
    filters: conjunction,
    valueDirection: orderFields[0]?.direction ?? nameOrder.direction,
    nameDirection: nameOrder.direction,
    start: null,
    end: null,
    composite: null,
  };

  if (orderFields.length === 0) {
    const start = resolveCursor(nq.startAt, "start", nq.orderBy, constants);
    const end = resolveCursor(nq.endAt, "end", nq.orderBy, constants);
    if (start.kind === "none" || end.kind === "none") return null;
    for (const [bound, role] of [[start, "start"], [end, "end"]] as const) {
      if (bound.kind !== "bound") continue;
      name = foldNameCursor(name, bound, role, nameOrder.direction);
      if (name === "never") return null;
    }
    if (preds.size === 0) {
      return { ...base, rule: "documents", scans: [{ index: "documents" }], residual: existence, name };
    }
    // Equalities only: the one with fewest points drives, the rest are lookups.
    const drivers = [...preds.values()].filter((p) => p.points !== null);
    if (drivers.length === 0) throw unindexable(nq, "its inequality fields are ordered after __name__");
    drivers.sort((a, b) => a.points!.length - b.points!.length || (a.kind === "value" ? -1 : 1) - (b.kind === "value" ? -1 : 1));
    const driver = drivers[0];
    return {
      ...base,
      rule: "equality",
      scans: driver.points!.map((p): FieldScan => ({ index: "field", predicate: { ...driver, points: [p] }, order: "name" })),
      residual: [...[...preds.values()].filter((p) => p !== driver), ...existence],
      name,
    };
  }

  // Equality slots a composite index would need: points on fields that are not ordered.
  // An array-contains on an ordered field stays a lookup: an index cannot hold a field twice.
  const ordered = new Set(orderFields.map((o) => o.field));
  const slots = [...preds.values()].filter(
    (p) =>
      p.points !== null &&
      !ordered.has(p.field) &&
      !(p.kind === "element" && valuePred(p.field)?.points),
  );
  const start = resolveCursor(nq.startAt, "start", nq.orderBy, constants);
  const end = resolveCursor(nq.endAt, "end", nq.orderBy, constants);
  if (start.kind === "none" || end.kind === "none") return null;

  if (orderFields.length === 1 && slots.length === 0) {
    const field = orderFields[0].field;
    const predicate: EntryPredicate = valuePred(field) ?? { field, kind: "value", points: null, lower: null, upper: null, exclude: [] };
    return {
      ...base,
      rule: "single-field",
      scans: [{ index: "field", predicate, order: "value" }],
      residual: [...[...preds.values()].filter((p) => p !== predicate), ...existence],
      name,
      start: start.kind === "bound" ? tupleBound(start) : null,
      end: end.kind === "bound" ? tupleBound(end) : null,
    };
  }

  const lastOrder = orderFields[orderFields.length - 1];
  if (nameOrder.direction !== lastOrder.direction) {
    throw new BlazeError(
      "FAILED_PRECONDITION",
      `this query orders __name__ ${nameOrder.direction} after ${lastOrder.field} ${lastOrder.direction}; ` +
        "a composite index orders the document name like its last field, so give __name__ the direction of the last orderBy field",
      { reason: "name-direction" },
    );
  }
  const match = findComposite(indexes, slots, orderFields);
  if (!match) throw missingIndex(nq.scope, slots, orderFields);
  const { index, slotPreds, reversed } = match;
  const first = valuePred(orderFields[0].field);
  const scope = nq.scope.kind === "collection" ? nq.scope.path : nq.scope.collectionId;
  const scans = compositeScans(index, reversed, slotPreds, orderFields[0], first, nq, constants);
  if (scans.length === 0) return null;
  const consumed = new Set<EntryPredicate>([...slotPreds, ...(first ? [first] : [])]);
  return {
    ...base,
    rule: "composite",
    scans,
    residual: [...[...preds.values()].filter((p) => !consumed.has(p)), ...existence],
    name,
    composite: { index, reversed, scope },
  };
}

// ------------------------------------------------------------------ predicates

const NULL_BYTES = encodeValue(null);

/** The encodings of a type lie in [tag & 0xF0, (tag & 0xF0) + 0x10): booleans 0x20..0x2F, numbers 0x30.., ... */
function typeBounds(v: Value): [Uint8Array, Uint8Array] {
  const low = encodeValue(v)[0] & 0xf0;
  return [Uint8Array.of(low), Uint8Array.of(low + 0x10)];
}

function filterPredicate(f: FieldFilter): EntryPredicate | "never" {
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
      return { ...p, lower: { bytes: typeBounds(f.value)[0], inclusive: true }, upper: { bytes: encodeValue(f.value), inclusive: false } };
    case "<=":
      return { ...p, lower: { bytes: typeBounds(f.value)[0], inclusive: true }, upper: { bytes: encodeValue(f.value), inclusive: true } };
    case ">":
      return { ...p, lower: { bytes: encodeValue(f.value), inclusive: false }, upper: { bytes: typeBounds(f.value)[1], inclusive: false } };
    case ">=":
      return { ...p, lower: { bytes: encodeValue(f.value), inclusive: true }, upper: { bytes: typeBounds(f.value)[1], inclusive: false } };
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

function intersect(a: EntryPredicate, b: EntryPredicate): EntryPredicate {
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
function tighten(p: EntryPredicate): EntryPredicate | "never" {
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

// ------------------------------------------------------------------ the document name

const compareNames = (a: string, b: string) => compareValues({ $ref: a }, { $ref: b });
const refPath = (v: Value) => (v as { $ref: string }).$ref;

function namePredicate(filters: FieldFilter[]): NamePredicate | null | "never" {
  if (filters.length === 0) return null;
  let p: NamePredicate = { points: null, lower: null, upper: null, exclude: [] };
  for (const f of filters) {
    const one = refPath(f.value);
    const many = () => (f.value as Value[]).map(refPath);
    switch (f.op) {
      case "==":
      case "in": {
        const list = f.op === "==" ? [one] : many();
        p.points = p.points ? p.points.filter((x) => list.includes(x)) : list;
        break;
      }
      case "<":
      case "<=":
        p.upper = tighterName(p.upper, { path: one, inclusive: f.op === "<=" }, -1);
        break;
      case ">":
      case ">=":
        p.lower = tighterName(p.lower, { path: one, inclusive: f.op === ">=" }, 1);
        break;
      case "!=":
        p.exclude.push(one);
        break;
      case "not-in":
        p.exclude.push(...many());
        break;
      default:
        throw new BlazeError("INVALID_ARGUMENT", `'${f.op}' is not supported on __name__`);
    }
  }
  return tightenName(p);
}

/** The tighter of two name bounds; `side` 1 for lower bounds, -1 for upper. */
function tighterName(a: NameBound | null, b: NameBound, side: 1 | -1): NameBound {
  if (!a) return b;
  const c = compareNames(a.path, b.path) * side;
  return c > 0 || (c === 0 && !a.inclusive) ? a : b;
}

function nameWithin(path: string, p: NamePredicate): boolean {
  if (p.lower) {
    const c = compareNames(path, p.lower.path);
    if (c < 0 || (c === 0 && !p.lower.inclusive)) return false;
  }
  if (p.upper) {
    const c = compareNames(path, p.upper.path);
    if (c > 0 || (c === 0 && !p.upper.inclusive)) return false;
  }
  return !p.exclude.includes(path);
}

function tightenName(p: NamePredicate): NamePredicate | "never" {
  if (p.points) {
    const points = [...new Set(p.points)].filter((x) => nameWithin(x, p)).sort(compareNames);
    return points.length === 0 ? "never" : { points, lower: null, upper: null, exclude: [] };
  }
  if (p.lower && p.upper) {
    const c = compareNames(p.lower.path, p.upper.path);
    if (c > 0 || (c === 0 && !(p.lower.inclusive && p.upper.inclusive))) return "never";
  }
  return { ...p, exclude: [...new Set(p.exclude)].sort(compareNames) };
}

// ------------------------------------------------------------------ cursors

interface CursorComponent {
  order: OrderSpec;
  value: Value;
}

type CursorBound =
  | { kind: "all" }
  | { kind: "none" }
  | { kind: "bound"; components: CursorComponent[]; inclusive: boolean };

/**
 * A cursor over the orderBy, as a bound over the fields a scan really orders
 * by. Positions on fixed fields (constant in the result, or fixed in this
 * scan) compare at plan time: they either decide for every document or
 * pass the decision on to the next position.
 */
function resolveCursor(
  cursor: Cursor | null,
  role: "start" | "end",
  orderBy: OrderSpec[],
  fixed: Map<string, Uint8Array>,
): CursorBound {
  if (!cursor) return { kind: "all" };
  const components: CursorComponent[] = [];
  for (let i = 0; i < cursor.values.length; i++) {
    const order = orderBy[i];
    const c = isName(order) ? undefined : fixed.get(order.field);
    if (c === undefined) {
      components.push({ order, value: cursor.values[i] });
      continue;
    }
    // Where the documents' fixed value sits relative to the cursor's, in query order.
    let cmp = compareBytes(c, encodeValue(cursor.values[i]));
    if (order.direction === "desc") cmp = -cmp;
    if (cmp === 0) continue;
    const included = role === "start" ? cmp > 0 : cmp < 0;
    if (components.length === 0) return { kind: included ? "all" : "none" };
    return { kind: "bound", components, inclusive: included };
  }
  if (components.length === 0) return { kind: cursor.inclusive ? "all" : "none" };
  return { kind: "bound", components, inclusive: cursor.inclusive };
}

/** A name-ordered scan: the cursor is a bound on the name. */
function foldNameCursor(
  name: NamePredicate | null,
  bound: Extract<CursorBound, { kind: "bound" }>,
  role: "start" | "end",
  direction: Direction,
): NamePredicate | "never" {
  const b: NameBound = { path: refPath(bound.components[0].value), inclusive: bound.inclusive };
  const p: NamePredicate = name ? { ...name } : { points: null, lower: null, upper: null, exclude: [] };
  if ((role === "start") === (direction === "asc")) p.lower = tighterName(p.lower, b, 1);
  else p.upper = tighterName(p.upper, b, -1);
  return tightenName(p);
}

function tupleBound(bound: Extract<CursorBound, { kind: "bound" }>): TupleBound {
  const [first, second] = bound.components;
  return { value: encodeValue(first.value), name: second ? refPath(second.value) : null, inclusive: bound.inclusive };
}

// ------------------------------------------------------------------ composite indexes

interface CompositeMatch {
  index: CompositeIndex;
  /** The equality predicate of each leading index field, in index order. */
  slotPreds: EntryPredicate[];
  reversed: boolean;
}

const orderName = (d: Direction): "ASCENDING" | "DESCENDING" => (d === "asc" ? "ASCENDING" : "DESCENDING");

function findComposite(indexes: CompositeIndex[], slots: EntryPredicate[], orderFields: OrderSpec[]): CompositeMatch | null {
  for (const index of indexes) {
    if (index.fields.length !== slots.length + orderFields.length) continue;
    const slotPreds: EntryPredicate[] = [];
    const lead = index.fields.slice(0, slots.length);
    for (const f of lead) {
      const p = slots.find((s) => s.field === f.fieldPath && (s.kind === "element") === (f.arrayConfig === "CONTAINS"));
      if (!p || slotPreds.includes(p)) break;
      slotPreds.push(p);
    }
    if (slotPreds.length !== slots.length) continue;
    const tail = index.fields.slice(slots.length);
    const same = tail.every((f, i) => f.fieldPath === orderFields[i].field && f.order === orderName(orderFields[i].direction));
    const flipped = tail.every(
      (f, i) => f.fieldPath === orderFields[i].field && f.order === orderName(orderFields[i].direction === "asc" ? "desc" : "asc"),
    );
    if (same || flipped) return { index, slotPreds, reversed: !same };
  }
  return null;
}

/** The definition a query needs: equality fields (sorted) then the orderBy fields. */
export function requiredIndex(scope: QueryScope, slots: EntryPredicate[], orderFields: OrderSpec[]): IndexDefinition {
  const eq = [...slots].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : a.kind < b.kind ? 1 : -1));
  return {
    collectionGroup: scope.collectionId,
    queryScope: scope.kind === "collection" ? "COLLECTION" : "COLLECTION_GROUP",
    fields: [
      ...eq.map((s) =>
        s.kind === "element"
          ? { fieldPath: s.field, arrayConfig: "CONTAINS" as const }
          : { fieldPath: s.field, order: "ASCENDING" as const },
      ),
      ...orderFields.map((o) => ({ fieldPath: o.field, order: orderName(o.direction) })),
    ],
  };
}

function missingIndex(scope: QueryScope, slots: EntryPredicate[], orderFields: OrderSpec[]): BlazeError {
  const def = requiredIndex(scope, slots, orderFields);
  return new BlazeError(
    "FAILED_PRECONDITION",
    `this query needs a composite index that is not declared; add this to "indexes" in blaze.indexes.json: ${JSON.stringify(def)}`,
    { index: def },
  );
}

function exemptionError(collectionId: string, field: string): BlazeError {
  return new BlazeError(
    "FAILED_PRECONDITION",
    `this query needs the single-field index of ${field} in collection group ${collectionId}, ` +
      "but that field is exempt from single-field indexing (fieldOverrides in blaze.indexes.json)",
    { exemption: { collectionGroup: collectionId, fieldPath: field } },
  );
}

function unindexable(nq: NormalizedQuery, why: string): BlazeError {
  return new BlazeError(
    "FAILED_PRECONDITION",
    `no index can serve this query without scanning ${nq.scope.kind === "collection" ? "the collection" : "the collection group"}: ${why}; ` +
      "order by the inequality fields before __name__",
    { reason: "unindexable" },
  );
}

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
function compositeScans(
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

// ------------------------------------------------------------------ explain

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function describeFilter(f: FieldFilter): string {
  return `${f.field} ${f.op} ${JSON.stringify(f.value)}`;
}

function describePredicate(p: EntryPredicate): Record<string, unknown> {
  const out: Record<string, unknown> = { field: p.field, entries: p.kind };
  if (p.points) out.points = p.points.map(hex);
  if (p.lower) out.from = { hex: hex(p.lower.bytes), inclusive: p.lower.inclusive };
  if (p.upper) out.to = { hex: hex(p.upper.bytes), inclusive: p.upper.inclusive };
  if (p.exclude.length) out.exclude = p.exclude.map(hex);
  if (!p.points && !p.lower && !p.upper) out.exists = true;
  return out;
}

function describeScan(s: Scan): Record<string, unknown> {
  switch (s.index) {
    case "documents":
      return { index: "documents" };
    case "field":
      return { index: "single-field", order: s.order === "value" ? "value, __name__" : "__name__", ...describePredicate(s.predicate) };
    case "composite":
      return {
        index: "composite",
        from: s.range.lo ? hex(s.range.lo) : null,
        before: s.range.hi ? hex(s.range.hi) : null,
        ...(s.exclude.length ? { exclude: s.exclude.map((r) => ({ from: r.lo ? hex(r.lo) : null, before: r.hi ? hex(r.hi) : null })) } : {}),
      };
  }
}

/** A JSON description of the plan, for `"explain": true`. */
export function explainPlan(plan: QueryPlan): Record<string, unknown> {
  return {
    scope: plan.scope.kind === "collection" ? { collection: plan.scope.path } : { collectionGroup: plan.scope.collectionId },
    orderBy: plan.orderBy.map((o) => [o.field, o.direction]),
    limit: plan.limit,
    ...(plan.select ? { select: plan.select.map((s) => s.field) } : {}),
    ...(plan.aggregate ? { aggregate: plan.aggregate.map((a) => (a.op === "count" ? [a.alias, a.op] : [a.alias, a.op, a.field])) } : {}),
    disjunctions: plan.disjunctions.map((d) => ({
      rule: d.rule,
      filters: d.filters.map(describeFilter),
      ...(d.composite
        ? {
            index: {
              id: d.composite.index.id,
              queryScope: d.composite.index.queryScope,
              fields: d.composite.index.fields.map((f) => [f.fieldPath, f.arrayConfig ?? f.order]),
              scope: d.composite.scope,
              reversed: d.composite.reversed,
            },
          }
        : {}),
      scans: d.scans.map(describeScan),
      ...(d.residual.length ? { residual: d.residual.map(describePredicate) } : {}),
      ...(d.name ? { name: d.name } : {}),
      ...(d.start ? { start: { value: hex(d.start.value), name: d.start.name, inclusive: d.start.inclusive } } : {}),
      ...(d.end ? { end: { value: hex(d.end.value), name: d.end.name, inclusive: d.end.inclusive } } : {}),
    })),
  };
}
