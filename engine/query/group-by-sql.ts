/**
 * The SQL of a group-by (and of min/max over a whole result): one statement
 * per index shard, computed by D1 over the index, never by reading
 * documents into the Worker.
 *
 * The matching documents are the plan's scans as a set of paths (one scan,
 * or a UNION of several, as the plain aggregates use). Each groupBy field
 * joins its single-field entry (`kind = 'value'`, one per document and
 * field, found by the primary key), whose BLOB is the value's
 * order-preserving encoding: GROUP BY those BLOBs groups by Firestore
 * equality (1 and 1.0 encode alike) and ORDER BY them is key order. min and
 * max are MIN/MAX over the field's entry, so they follow Firestore's order
 * across types too; sum and avg read the numbers from the document data in
 * SQL, exactly as the plain aggregates do. The key cursor is a row-value
 * comparison on the key's prefix, and LIMIT takes one group more than asked
 * so the executor can tell that more follow.
 *
 * A query with no filter and no sum or avg reads the first groupBy field's entries directly,
 * in index order (collection or group, field, kind, value): no sort, no
 * path set.
 */
import { sql, type SQL } from "drizzle-orm";
import type { AggregateSpec, FieldRef, GroupSpec } from "../core/query/normalize";
import { encodeValue } from "../index/encoding";
import type { QueryPlan } from "./plan-types";
import { and, doubleTagField, jsonPath, numericField, Params, scanStatement, unionTree } from "./sql";

/** Output columns: k<i> hex keys; n; s/c/t/nan/pinf/ninf<i> per sum or avg; y<j> hex per min or max. */
export type GroupRow = Record<string, number | string | null>;

export interface GroupColumns {
  /** Distinct fields of sum and avg (both of one field share its columns), in the order of their s<i>.. columns. */
  numeric: FieldRef[];
  /** min and max, in the order of their y<j> columns. */
  extremes: AggregateSpec[];
}

export function groupColumns(specs: readonly AggregateSpec[]): GroupColumns {
  const numeric = new Map<string, FieldRef>();
  for (const a of specs) if (a.op === "sum" || a.op === "avg") numeric.set(a.field, { field: a.field, segments: a.segments });
  return { numeric: [...numeric.values()], extremes: specs.filter((a) => a.op === "min" || a.op === "max") };
}

/** The s<i>.. columns a sum or avg reads. */
export const numericColumn = (columns: GroupColumns, field: string) => columns.numeric.findIndex((f) => f.field === field);

const col = (name: string) => sql.raw(name);

/** True when the plan reads the whole scope: no filter, no name bounds, no residual. */
function wholeScope(plan: QueryPlan): boolean {
  if (plan.disjunctions.length !== 1) return false;
  const sub = plan.disjunctions[0];
  return sub.rule === "documents" && sub.filters.length === 0 && sub.name === null && sub.residual.length === 0;
}

/**
 * One statement computing the groups (or, with no groupBy fields, the one
 * row of aggregates) on one index shard. `limit`: groups wanted, plus one is read.
 */
export function groupStatement(plan: QueryPlan, specs: readonly AggregateSpec[], groups: GroupSpec | null, limit: number | null): SQL {
  const p = new Params();
  const by = groups?.by ?? [];
  const { numeric, extremes } = groupColumns(specs);
  const entry = (alias: string, path: SQL, field: string) =>
    sql`${col(alias)}.doc_path = ${path} AND ${col(alias)}.field = ${p.v(field)} AND ${col(alias)}.kind = 'value'`;

  if (wholeScope(plan)) {
    const scope = plan.scope;
    if (numeric.length > 0) {
      // Document data is read anyway: walk the scope's documents in their own index order (rows
      // close together), each key found by its entry's primary key, a covering index.
      const cond = scope.kind === "collection" ? sql`d.collection_path = ${p.v(scope.path)}` : sql`d.collection_id = ${p.v(scope.collectionId)}`;
      return finish(sql`documents d`, sql`d.path`, [cond], { keysFrom: 0, documents: true });
    }
    if (by.length > 0) {
      // Only index rows: the first key's entries are the rows, read in value order.
      const cond = scope.kind === "collection" ? sql`g0.collection_path = ${p.v(scope.path)}` : sql`g0.collection_id = ${p.v(scope.collectionId)}`;
      return finish(sql`index_entries g0`, sql`g0.doc_path`, [cond, sql`g0.field = ${p.v(by[0].field)}`, sql`g0.kind = 'value'`], { keysFrom: 1, documents: false });
    }
  }
  const scans = plan.disjunctions.flatMap((sub) => sub.scans.map((scan) => scanStatement(plan, sub, scan, { kind: "paths" }, false, p)));
  return finish(sql`(${scans.length === 1 ? scans[0] : unionTree(scans)}) m`, sql`m.path`, [], { keysFrom: 0, documents: false });

  /**
   * The joins after the row source, the inner SELECT, the grouping. `keysFrom`: the
   * first key joined (the source holds the ones before); `documents`: the source is `documents d`.
   */
  function finish(source: SQL, pathCol: SQL, where: SQL[], from: { keysFrom: number; documents: boolean }): SQL {
    const joins: SQL[] = [];
    by.slice(from.keysFrom).forEach((f, i) => {
      const alias = `g${i + from.keysFrom}`;
      joins.push(sql` CROSS JOIN index_entries ${col(alias)} ON ${entry(alias, pathCol, f.field)}`);
    });
    if (numeric.length > 0 && !from.documents) joins.push(sql` CROSS JOIN documents d ON d.path = ${pathCol}`);
    const extremeAlias = new Map<string, string>();
    for (const a of extremes) {
      const field = (a as { field: string }).field;
      if (extremeAlias.has(field)) continue;
      const alias = `a${extremeAlias.size}`;
      extremeAlias.set(field, alias);
      joins.push(sql` LEFT JOIN index_entries ${col(alias)} ON ${entry(alias, pathCol, field)}`);
    }
    const inner: SQL[] = by.map((_, i) => sql`${col(`g${i}`)}.value AS ${col(`k${i}`)}`);
    // Per numeric field, x<2i> and x<2i+1>: with a plain JSON path, the raw value and its
    // JSON type (two lookups a row; the outer SELECT tells numbers and tagged numbers apart);
    // else the number and the tag, walked (sql.ts).
    const outerNumber: string[] = [];
    const outerTag: string[] = [];
    numeric.forEach(({ segments }, i) => {
      const [x, t] = [`x${2 * i}`, `x${2 * i + 1}`];
      const path = jsonPath(segments);
      if (path === null) {
        inner.push(sql`${numericField(segments, p)} AS ${col(x)}`, sql`${doubleTagField(segments, p)} AS ${col(t)}`);
        outerNumber.push(x);
        outerTag.push(t);
        return;
      }
      inner.push(sql`json_extract(d.data, ${p.v(path)}) AS ${col(x)}`, sql`json_type(d.data, ${p.v(path)}) AS ${col(t)}`);
      outerNumber.push(`(CASE WHEN ${t} IN ('integer', 'real') THEN ${x} END)`);
      // A user map cannot hold a "$" key, so only a tagged number has this member.
      outerTag.push(`(CASE WHEN ${t} = 'object' THEN json_extract(${x}, '$."$double"') END)`);
    });
    extremes.forEach((a, j) => inner.push(sql`${col(`${extremeAlias.get((a as { field: string }).field)}.value`)} AS ${col(`y${j}`)}`));
    if (inner.length === 0) inner.push(sql`1 AS one`);

    const after = groups?.after;
    if (after && after.length > 0) {
      const keys = after.map((_, i) => col(`g${i}.value`));
      const values = after.map((v) => p.v(encodeValue(v)));
      where.push(sql`(${sql.join(keys, sql`, `)}) > (${sql.join(values, sql`, `)})`);
    }
    const rows = sql`SELECT ${sql.join(inner, sql`, `)} FROM ${source}${sql.join(joins, sql``)}${where.length ? sql` WHERE ${and(where)}` : sql``}`;

    const outputs: SQL[] = [...by.map((_, i) => col(`hex(k${i}) AS k${i}`)), sql`COUNT(*) AS n`];
    numeric.forEach((_, i) => {
      const [x, tag] = [outerNumber[i], outerTag[i]];
      outputs.push(
        col(
          `TOTAL(${x}) AS s${i}, COUNT(${x}) AS c${i}, COUNT(${tag}) AS t${i}, ` +
            `SUM(${tag} = 'NaN') AS nan${i}, SUM(${tag} = 'Infinity') AS pinf${i}, SUM(${tag} = '-Infinity') AS ninf${i}`,
        ),
      );
    });
    extremes.forEach((a, j) => outputs.push(col(`hex(${a.op === "min" ? "MIN" : "MAX"}(y${j})) AS y${j}`)));
    if (by.length === 0) return sql`SELECT ${sql.join(outputs, sql`, `)} FROM (${rows})`;
    const keys = sql.join(by.map((_, i) => col(`k${i}`)), sql`, `);
    const tail = limit === null ? sql`` : sql` LIMIT ${p.v(limit + 1)}`;
    return sql`SELECT ${sql.join(outputs, sql`, `)} FROM (${rows}) GROUP BY ${keys} ORDER BY ${keys}${tail}`;
  }
}
