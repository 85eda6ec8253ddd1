/**
 * Which declared composite index serves a conjunction, and when none does,
 * the definition to add (the FAILED_PRECONDITION "needs a composite index").
 */
import { BlazeError } from "../core/errors";
import type { CompositeIndex } from "../index/config-types";
import type { Direction, OrderSpec, QueryScope } from "../core/query/normalize";
import type { EntryPredicate, IndexDefinition } from "./plan-types";

interface CompositeMatch {
  index: CompositeIndex;
  /** The equality predicate of each leading index field, in index order. */
  slotPreds: EntryPredicate[];
  reversed: boolean;
}

const orderName = (d: Direction): "ASCENDING" | "DESCENDING" => (d === "asc" ? "ASCENDING" : "DESCENDING");

export function findComposite(indexes: CompositeIndex[], slots: EntryPredicate[], orderFields: OrderSpec[]): CompositeMatch | null {
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

export function missingIndex(scope: QueryScope, slots: EntryPredicate[], orderFields: OrderSpec[]): BlazeError {
  const def = requiredIndex(scope, slots, orderFields);
  return new BlazeError(
    "FAILED_PRECONDITION",
    `this query needs a composite index that is not declared; add this to "indexes" in blaze.indexes.json: ${JSON.stringify(def)}`,
    { index: def },
  );
}
