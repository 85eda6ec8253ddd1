/**
 * Aggregate values from the partial sums SQL returns (sql.ts and
 * group-by-sql.ts name the columns): shared by plain and grouped aggregates,
 * whose partials from several index shards are added up first.
 */
import { numberValue, type Value } from "../core/values";

/**
 * sum or avg of the i-th numeric aggregate; `total(column)` is the column
 * added over the rows that make up the answer (one per index shard).
 */
export function numericAggregate(op: "sum" | "avg", total: (column: string) => number, i: number): Value {
  // JS arithmetic gives IEEE's answer: NaN wins, Infinity plus -Infinity is NaN.
  const sum =
    total(`s${i}`) +
    (total(`nan${i}`) > 0 ? NaN : 0) +
    (total(`pinf${i}`) > 0 ? Infinity : 0) +
    (total(`ninf${i}`) > 0 ? -Infinity : 0);
  const count = total(`c${i}`) + total(`t${i}`);
  return op === "sum" ? numberValue(sum) : count === 0 ? null : numberValue(sum / count);
}
