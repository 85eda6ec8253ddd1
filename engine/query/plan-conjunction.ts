/**
 * How one conjunction of the DNF is served: the documents table, an equality
 * merge over single-field indexes, one field's single-field index, or a
 * declared composite index (the rules are listed in planner.ts).
 */
import { BlazeError } from "../core/errors";
import type { CompositeIndex } from "../index/config-types";
import type { Conjunction, NormalizedQuery } from "../core/query/normalize";
import type { EntryPredicate, FieldScan, NamePredicate, SubPlan } from "./plan-types";
import { findComposite, missingIndex } from "./composite-match";
import { foldNameCursor, resolveCursor, tupleBound } from "./cursors";
import { filterPredicate, intersect, tighten } from "./entry-predicates";
import { compositeScans } from "./key-ranges";
import { isName, namePredicate } from "./name-predicate";

const predKey = (field: string, kind: string) => `${kind}:${field}`;

/** The sub-plan of one conjunction, or null if it can match nothing. */
export function planConjunction(nq: NormalizedQuery, conjunction: Conjunction, indexes: CompositeIndex[]): SubPlan | null {
  const conditions = conjunctionPredicates(conjunction);
  if (!conditions) return null;
  const preds = conditions.preds;
  let name: NamePredicate | null | "never" = conditions.name;
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

/**
 * The conjunction's filters as one predicate per field and entry kind (and
 * one on the name), intersected and tightened; null if nothing can match.
 */
export function conjunctionPredicates(conjunction: Conjunction): { name: NamePredicate | null; preds: Map<string, EntryPredicate> } | null {
  const name = namePredicate(conjunction.filter(isName));
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
  return { name, preds };
}

/**
 * A search in relevance order: the search index's matches drive the read,
 * every filter is a lookup per match.
 */
export function planSearchConjunction(conjunction: Conjunction): SubPlan | null {
  const conditions = conjunctionPredicates(conjunction);
  if (!conditions) return null;
  return {
    rule: "search",
    filters: conjunction,
    scans: [{ index: "search" }],
    residual: [...conditions.preds.values()],
    name: conditions.name,
    start: null,
    end: null,
    valueDirection: "asc",
    nameDirection: "asc",
    composite: null,
  };
}

function unindexable(nq: NormalizedQuery, why: string): BlazeError {
  return new BlazeError(
    "FAILED_PRECONDITION",
    `no index can serve this query without scanning ${nq.scope.kind === "collection" ? "the collection" : "the collection group"}: ${why}; ` +
      "order by the inequality fields before __name__",
    { reason: "unindexable" },
  );
}
