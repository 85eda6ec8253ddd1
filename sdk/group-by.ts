/**
 * Blaze's own group-by: `getAggregateFromServer(query, spec, { groupBy })`
 * asks the server for the aggregates per distinct key of the groupBy fields
 * (docs/queries.md, "Group-by"). One request per page of groups; nothing
 * is computed on the client.
 */
import type { QueryAst } from "../engine/core/query/ast";
import type { Value } from "../engine/core/values";
import { invalid } from "./errors";
import { aggregateBody, checkQuery, getAggregateFromServer as getAggregates, type AggregateQuerySnapshot, type AggregateSpec, type AggregateSpecData } from "./operations";
import { queryBody } from "./query";
import type { Query } from "./reference";
import { FieldPath, fieldPathText } from "./values";
import { fromWire, toWire } from "./wire";

export interface GroupByOptions {
  /** The key fields: one group per distinct combination of their values (a document missing one is in no group). */
  groupBy: string | FieldPath | (string | FieldPath)[];
  /** At most this many groups (the server's cap is 1,000); more continue from `snapshot.next`. */
  limit?: number;
  /** Groups after this key (a key from a previous answer, or a prefix of one). */
  startAfter?: unknown[];
}

export interface AggregateGroup<S extends AggregateSpec> {
  /** The groupBy fields' values, in the order asked. */
  readonly key: unknown[];
  data(): AggregateSpecData<S>;
}

export class AggregateGroupsSnapshot<S extends AggregateSpec, T = any> {
  readonly type = "AggregateGroupsSnapshot" as const;
  /** @internal */
  constructor(
    readonly query: Query<T>,
    /** In key order (Firestore's value order, field by field). */
    readonly groups: AggregateGroup<S>[],
    /** The last key when more groups follow: pass it as `startAfter`; null when this was the last page. */
    readonly next: unknown[] | null,
  ) {}
}

interface WireGroups {
  groups: { key: Value[]; aggregates: Record<string, Value> }[];
  next?: { startAfter: Value[] };
}

/**
 * Firestore's getAggregateFromServer, and with `{ groupBy }` Blaze's
 * group-by: one result per distinct key (the SDK exports this one).
 */
export function getAggregateFromServer<S extends AggregateSpec, T>(q: Query<T>, aggregateSpec: S): Promise<AggregateQuerySnapshot<S, T>>;
export function getAggregateFromServer<S extends AggregateSpec, T>(q: Query<T>, aggregateSpec: S, options: GroupByOptions): Promise<AggregateGroupsSnapshot<S, T>>;
export function getAggregateFromServer<S extends AggregateSpec, T>(
  q: Query<T>,
  aggregateSpec: S,
  options?: GroupByOptions,
): Promise<AggregateQuerySnapshot<S, T> | AggregateGroupsSnapshot<S, T>> {
  if (options === undefined) return getAggregates(q, aggregateSpec);
  checkQuery(q, "getAggregateFromServer");
  return getAggregateGroups(q, aggregateSpec, options);
}

async function getAggregateGroups<S extends AggregateSpec, T>(q: Query<T>, spec: S, options: GroupByOptions): Promise<AggregateGroupsSnapshot<S, T>> {
  const method = "getAggregateFromServer";
  const fields = (Array.isArray(options.groupBy) ? options.groupBy : [options.groupBy]).map((f) => fieldPathText(f, method));
  if (fields.length === 0) throw invalid(`Function ${method}() needs at least one groupBy field.`);
  const s = q._state;
  if (s.orderBy.length > 0 || s.limit !== undefined || s.limitToLast !== undefined || s.start || s.end) {
    throw invalid(`Function ${method}() with groupBy takes a query without orderBy, limits or cursors: groups come in key order; use the limit and startAfter options.`);
  }
  const body: QueryAst = { ...queryBody(s), aggregate: aggregateBody(spec, method) as QueryAst["aggregate"], groupBy: fields };
  if (options.limit !== undefined) body.limit = options.limit;
  if (options.startAfter !== undefined) body.startAfter = options.startAfter.map((v) => toWire(v, { method, sentinels: false }));
  const { body: answer } = await q.firestore._request<WireGroups>("POST", "/v1/query", body);
  const groups = answer.groups.map((g): AggregateGroup<S> => {
    const values: Record<string, unknown> = {};
    for (const alias of Object.keys(spec)) values[alias] = fromWire(g.aggregates[alias] ?? null, q.firestore);
    return { key: g.key.map((v) => fromWire(v, q.firestore)), data: () => ({ ...values }) as AggregateSpecData<S> };
  });
  const next = answer.next ? answer.next.startAfter.map((v) => fromWire(v, q.firestore)) : null;
  return new AggregateGroupsSnapshot<S, T>(q, groups, next);
}
