/**
 * The query planner: a NormalizedQuery in, a QueryPlan out (which index each
 * disjunction reads, its ranges as encoded bytes, the residual predicates,
 * the order and the limit). Pure: no D1, no Workers types; sql.ts turns a
 * plan into statements and executor.ts runs them.
 *
 * Here: the whole query (exemptions, the indexes used). A conjunction's rule
 * is chosen in plan-conjunction.ts, from predicates on fields
 * (entry-predicates.ts) and on the name (name-predicate.ts), cursors
 * (cursors.ts), the composite index that fits (composite-match.ts) and its
 * key ranges (key-ranges.ts). The plan's types are in plan-types.ts.
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
 * - A search (docs/search.md) in relevance order is read from its search
 *   index's FTS5 table, best matches first, every filter a lookup; with an
 *   orderBy, the plan is the one without the search, and the search is a
 *   condition of every scan (the FTS5 matches, read once per statement).
 */
import { BlazeError } from "../core/errors";
import { indexesFor, isExempt as configIsExempt } from "../index/config";
import type { CompositeIndex } from "../index/config-types";
import type { NormalizedQuery } from "../core/query/normalize";
import type { PlanContext, QueryPlan, SearchPlan, SubPlan } from "./plan-types";
import { planConjunction, planSearchConjunction } from "./plan-conjunction";
import { searchIndexFor, searchMatch } from "./search-index-match";

export type {
  Bound,
  CompositeScan,
  DocumentsScan,
  EntryPredicate,
  FieldScan,
  IndexDefinition,
  KeyRange,
  NameBound,
  NamePredicate,
  PlanContext,
  QueryPlan,
  Rule,
  Scan,
  SearchPlan,
  SearchScan,
  SubPlan,
  TupleBound,
} from "./plan-types";
export { requiredIndex } from "./composite-match";
export { explainPlan } from "./explain";

export function planQuery(nq: NormalizedQuery, ctx: PlanContext): QueryPlan {
  const collectionId = nq.scope.collectionId;
  const exempt = ctx.isExempt ?? ((cid: string, field: string) => configIsExempt(ctx.config, cid, field));
  const indexes = indexesFor(ctx.config, collectionId).filter(
    (i) => i.queryScope === (nq.scope.kind === "collection" ? "COLLECTION" : "COLLECTION_GROUP"),
  );
  const search = nq.search ? planSearch(nq, ctx) : undefined;
  const disjunctions: SubPlan[] = [];
  // A search that can match nothing (no term) reads nothing.
  for (const conjunction of search === null ? [] : nq.dnf) {
    const sub = search?.relevance ? planSearchConjunction(conjunction) : planConjunction(nq, conjunction, indexes);
    if (!sub) continue;
    for (const p of [...sub.scans.flatMap((s) => (s.index === "field" ? [s.predicate] : [])), ...sub.residual]) {
      if (exempt(collectionId, p.field)) throw exemptionError(collectionId, p.field);
    }
    disjunctions.push(sub);
  }
  // Group keys, min and max are read from the fields' single-field entries.
  const entryFields = [...(nq.groups?.by ?? []), ...(nq.aggregate ?? []).filter((a) => a.op === "min" || a.op === "max")];
  for (const f of entryFields) {
    const field = (f as { field: string }).field;
    if (exempt(collectionId, field)) throw exemptionError(collectionId, field);
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
    ...(search ? { search } : {}),
  };
}

/** The search index and MATCH expression of a search; null when its text has no term. */
function planSearch(nq: NormalizedQuery, ctx: PlanContext): SearchPlan | null {
  const spec = nq.search!;
  const index = searchIndexFor(ctx.config, nq.scope, spec);
  const match = searchMatch(index, spec);
  return match === null ? null : { index, match, relevance: spec.relevance };
}

export function exemptionError(collectionId: string, field: string): BlazeError {
  return new BlazeError(
    "FAILED_PRECONDITION",
    `this query needs the single-field index of ${field} in collection group ${collectionId}, ` +
      "but that field is exempt from single-field indexing (fieldOverrides in blaze.indexes.json)",
    { exemption: { collectionGroup: collectionId, fieldPath: field } },
  );
}
