/**
 * The reference group-by: what `"groupBy"` means, over documents in memory.
 * The D1 executor (engine/query/group-by.ts) is tested against it.
 *
 * - The documents are those the query's filters match (matchesQuery); one
 *   missing any groupBy field belongs to no group (as an orderBy leaves it out).
 * - A group is one distinct key: the groupBy fields' values, compared by
 *   Firestore's value order (1 and 1.0 are one group, so are 0 and -0).
 * - Groups are in key order, field by field, ascending; `after` keeps those
 *   whose key comes after it (a shorter `after` skips every key it prefixes);
 *   `limit` keeps the first groups.
 * - Each group gets the query's aggregates over its documents (evaluate.ts).
 */
import { compareValues, type Value } from "../values";
import { aggregate, fieldValue, indexCanonical, matchesQuery, type AggregateResult, type QueryDocument } from "./evaluate";
import type { GroupSpec, NormalizedQuery } from "./normalize";

export interface GroupResult {
  /** The groupBy fields' values, in the query's groupBy order. */
  key: Value[];
  aggregates: AggregateResult;
}

/** Key order: field by field; a shorter key (a cursor prefix) sorts before the keys it starts. */
export function compareGroupKeys(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** True if the key comes after the cursor (a key it prefixes does not). */
export const afterCursor = (key: readonly Value[], after: readonly Value[] | null): boolean =>
  after === null || compareGroupKeys(key, after) > 0;

export function runGroupByInMemory(docs: readonly QueryDocument[], nq: NormalizedQuery & { groups: GroupSpec }): GroupResult[] {
  const { by, after, limit } = nq.groups;
  const groups: { key: Value[]; docs: QueryDocument[] }[] = [];
  for (const d of docs) {
    if (!matchesQuery(d, nq)) continue;
    const key = by.map((f) => fieldValue(d, f));
    if (key.some((v) => v === undefined)) continue;
    const k = key as Value[];
    if (!afterCursor(k, after)) continue;
    const g = groups.find((x) => compareGroupKeys(x.key, k) === 0);
    if (g) g.docs.push(d);
    else groups.push({ key: k.map(indexCanonical), docs: [d] });
  }
  groups.sort((a, b) => compareGroupKeys(a.key, b.key));
  const kept = limit === null ? groups : groups.slice(0, limit);
  return kept.map((g) => ({ key: g.key, aggregates: aggregate(g.docs, nq.aggregate ?? []) }));
}
