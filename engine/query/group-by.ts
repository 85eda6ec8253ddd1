/**
 * Runs a group-by (or min/max over a whole result) on the index shards and
 * merges their answers: each shard returns its first groups in key order
 * with partial sums (group-by-sql.ts); a group found on several shards is
 * one group whose partials are added (count, sums) or compared (min, max
 * as index bytes), then the merged groups are put in key order and cut at
 * the limit. Each shard's first `limit + 1` groups hold the merged first
 * `limit + 1`: a shard has no more keys before a given one than all shards.
 *
 * More groups than asked: with a `limit`, `next` is the last key to pass as
 * `startAfter`; without one, more than QUERY_LIMITS.maxGroups groups is
 * RESOURCE_EXHAUSTED (an answer must stay bounded).
 */
import type { SQL } from "drizzle-orm";
import { BlazeError } from "../core/errors";
import type { GroupResult } from "../core/query/group-by";
import type { AggregateResult } from "../core/query/evaluate";
import { QUERY_LIMITS } from "../core/query/limits";
import type { AggregateSpec, GroupSpec } from "../core/query/normalize";
import type { Value } from "../core/values";
import { decodeValue, hexToBytes } from "../index/decode";
import { numericAggregate } from "./aggregate-values";
import { groupColumns, groupStatement, numericColumn, type GroupRow } from "./group-by-sql";
import type { QueryPlan } from "./plan-types";

/** Runs one statement on every index shard of the query; rows per shard. */
export type RunOnShards = (statement: SQL) => Promise<GroupRow[][]>;

export interface GroupsAnswer {
  groups: GroupResult[];
  /** The last group's key: more groups follow it (pass it as startAfter). */
  next?: Value[];
}

interface Partial {
  keys: string[];
  totals: Map<string, number>;
  /** Index bytes as uppercase hex: string order is byte order. */
  extremes: (string | null)[];
}

export async function runGroups(plan: QueryPlan, specs: readonly AggregateSpec[], groups: GroupSpec, run: RunOnShards): Promise<GroupsAnswer> {
  if (plan.disjunctions.length === 0) return { groups: [] };
  const wanted = groups.limit ?? QUERY_LIMITS.maxGroups;
  const merged = merge(await run(groupStatement(plan, specs, groups, wanted)), groups.by.length, specs);
  const kept = merged.slice(0, wanted);
  const results = kept.map((g) => ({ key: g.keys.map((k) => decodeValue(hexToBytes(k))), aggregates: finish(g, specs) }));
  if (merged.length <= wanted) return { groups: results };
  if (groups.limit === null) {
    throw new BlazeError(
      "RESOURCE_EXHAUSTED",
      `the query has more than ${QUERY_LIMITS.maxGroups} groups; give a limit (at most ${QUERY_LIMITS.maxGroups}) and page with startAfter, or filter further`,
      { maxGroups: QUERY_LIMITS.maxGroups },
    );
  }
  return { groups: results, next: results[results.length - 1].key };
}

/** The aggregates of the whole result when they include min or max (no groups: one row per shard). */
export async function runExtremes(plan: QueryPlan, specs: readonly AggregateSpec[], run: RunOnShards): Promise<AggregateResult> {
  const merged = merge(await run(groupStatement(plan, specs, null, null)), 0, specs);
  return finish(merged[0], specs);
}

function merge(perShard: GroupRow[][], keyCount: number, specs: readonly AggregateSpec[]): Partial[] {
  const { extremes } = groupColumns(specs);
  const byKey = new Map<string, Partial>();
  for (const row of perShard.flat()) {
    const keys = Array.from({ length: keyCount }, (_, i) => String(row[`k${i}`]));
    const id = keys.join(".");
    let g = byKey.get(id);
    if (!g) {
      g = { keys, totals: new Map(), extremes: extremes.map(() => null) };
      byKey.set(id, g);
    }
    for (const [column, v] of Object.entries(row)) {
      if (/^(n|[sct]\d+|nan\d+|pinf\d+|ninf\d+)$/.test(column)) g.totals.set(column, (g.totals.get(column) ?? 0) + Number(v ?? 0));
    }
    extremes.forEach((a, j) => {
      // hex(NULL) is '': no document of the group has the field.
      const v = row[`y${j}`] === "" || row[`y${j}`] === null ? null : String(row[`y${j}`]);
      const cur = g.extremes[j];
      if (v !== null && (cur === null || (a.op === "min" ? v < cur : v > cur))) g.extremes[j] = v;
    });
  }
  // The rows are already in key order per shard; the merge needs it across them.
  return [...byKey.values()].sort((a, b) => compareHexKeys(a.keys, b.keys));
}

/** Key order on hex index bytes: field by field (prefix-free encodings, so string order is value order). */
function compareHexKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

function finish(g: Partial, specs: readonly AggregateSpec[]): AggregateResult {
  const total = (column: string) => g.totals.get(column) ?? 0;
  const columns = groupColumns(specs);
  const out: AggregateResult = {};
  let j = 0;
  for (const a of specs) {
    if (a.op === "count") out[a.alias] = total("n");
    else if (a.op === "sum" || a.op === "avg") out[a.alias] = numericAggregate(a.op, total, numericColumn(columns, a.field));
    else {
      const hex = g.extremes[j++];
      out[a.alias] = hex === null ? null : decodeValue(hexToBytes(hex));
    }
  }
  return out;
}
