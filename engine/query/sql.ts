/**
 * SQL for a query plan, built with Drizzle's `sql` template (compiled and run
 * by engine/index/d1.ts in the executor). Pure: no D1 binding here.
 *
 * One statement per scan of a plan: the scan's index range joined to
 * `documents` for the data, residual predicates as EXISTS lookups on
 * index_entries' primary key, cursors as bounds, and the limit pushed down
 * (limitToLast reads the order backwards). Aggregates are one statement
 * (COUNT / TOTAL over the matching rows) whenever that gives the exact answer.
 *
 * D1 allows 100 bound parameters per statement. Values are bound until a
 * statement has used them all; any more are written as hex literals
 * (X'..' or CAST(X'..' AS TEXT)), so no user text ever reaches the SQL.
 */
import { sql, type SQL } from "drizzle-orm";
import { LIMITS, PLATFORM } from "../core/limits";
import { utf8Encode } from "../core/values";
import { encodeDocumentName } from "../index/encoding";
import { PAGE_LIMITS } from "../core/query/limits";
import type { Direction } from "../core/query/normalize";
import { searchTable } from "../index/search";
import type { EntryPredicate, NamePredicate, QueryPlan, Scan, SearchPlan, SubPlan, TupleBound } from "./planner";

/** Binds values up to D1's limit, then inlines them as hex literals. */
export class Params {
  private bound = 0;
  constructor(private readonly max: number = PLATFORM.maxD1BoundParameters) {}

  v(x: string | number | Uint8Array): SQL {
    if (this.bound < this.max) {
      this.bound++;
      return sql`${x}`;
    }
    return sql.raw(literal(x));
  }
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function literal(x: string | number | Uint8Array): string {
  if (typeof x === "number") {
    if (!Number.isSafeInteger(x)) throw new Error(`cannot inline ${x} as an SQL literal`);
    return String(x);
  }
  if (typeof x === "string") return `CAST(X'${hex(utf8Encode(x))}' AS TEXT)`;
  return `X'${hex(x)}'`;
}

/**
 * Conjunction as a balanced tree: SQLite parses a flat `a AND b AND …` one
 * level deeper per term, and D1 refuses expression trees deeper than 100.
 */
export const and = (conds: SQL[]): SQL => {
  if (conds.length === 0) return sql`1`;
  if (conds.length <= 8) return sql.join(conds, sql` AND `);
  const mid = Math.ceil(conds.length / 2);
  return sql`(${and(conds.slice(0, mid))}) AND (${and(conds.slice(mid))})`;
};
const list = (p: Params, values: (string | Uint8Array)[]) => sql.join(values.map((v) => p.v(v)), sql`, `);
const inList = (col: SQL, values: (string | Uint8Array)[], p: Params) =>
  values.length === 1 ? sql`${col} = ${p.v(values[0])}` : sql`${col} IN (${list(p, values)})`;
const dir = (d: Direction, reverse: boolean) => sql.raw((d === "desc") !== reverse ? "DESC" : "ASC");

/** A byte condition set on one column (entry values). */
function predicateConditions(col: SQL, pred: EntryPredicate, p: Params): SQL[] {
  const out: SQL[] = [];
  if (pred.points) out.push(inList(col, pred.points, p));
  if (pred.lower) out.push(sql`${col} ${sql.raw(pred.lower.inclusive ? ">=" : ">")} ${p.v(pred.lower.bytes)}`);
  if (pred.upper) out.push(sql`${col} ${sql.raw(pred.upper.inclusive ? "<=" : "<")} ${p.v(pred.upper.bytes)}`);
  if (pred.exclude.length) out.push(sql`${col} NOT IN (${list(p, pred.exclude)})`);
  return out;
}

/** A primary-key lookup on index_entries: does this document have a matching entry? */
function residualCondition(pathCol: SQL, pred: EntryPredicate, p: Params): SQL {
  const kind = sql.raw(pred.kind === "element" ? "'element'" : "'value'");
  const conds = [sql`x.doc_path = ${pathCol}`, sql`x.field = ${p.v(pred.field)}`, sql`x.kind = ${kind}`, ...predicateConditions(sql`x.value`, pred, p)];
  return sql`EXISTS (SELECT 1 FROM index_entries x WHERE ${and(conds)})`;
}

/** An ordered plan's search: the document is among the FTS5 matches (read once per statement). */
function searchCondition(search: SearchPlan, pathCol: SQL, p: Params): SQL {
  const table = searchTable(search.index.id);
  return sql`${pathCol} IN (SELECT r.path FROM ${table} CROSS JOIN search_rows r ON r.id = ${table}.rowid WHERE ${table} MATCH ${p.v(search.match)})`;
}

/**
 * How a scan's row names its document: an encoded name (exact order), the
 * document id (one collection), or the path. Paths in one collection share
 * their prefix, so text order is name order; across a collection group the
 * path is compared with "/" mapped to U+0001, which orders it segment by
 * segment (exact unless an id holds U+0000 or U+0001).
 */
type NameColumn = { kind: "key"; expr: SQL } | { kind: "id"; expr: SQL } | { kind: "path"; expr: SQL; group: boolean };

const SEGMENT_SEPARATOR = "\u0001";

function nameOrderExpr(col: NameColumn): SQL {
  return col.kind === "path" && col.group ? sql`replace(${col.expr}, '/', char(1))` : col.expr;
}

function nameValue(col: NameColumn, path: string, forRange: boolean): string | Uint8Array {
  switch (col.kind) {
    case "key":
      return encodeDocumentName(path);
    case "id":
      return path.slice(path.lastIndexOf("/") + 1);
    case "path":
      return forRange && col.group ? path.split("/").join(SEGMENT_SEPARATOR) : path;
  }
}

function nameConditions(col: NameColumn, name: NamePredicate | null, p: Params): SQL[] {
  if (!name) return [];
  const out: SQL[] = [];
  if (name.points) out.push(inList(col.expr, name.points.map((x) => nameValue(col, x, false)), p));
  const ordered = nameOrderExpr(col);
  if (name.lower) out.push(sql`${ordered} ${sql.raw(name.lower.inclusive ? ">=" : ">")} ${p.v(nameValue(col, name.lower.path, true))}`);
  if (name.upper) out.push(sql`${ordered} ${sql.raw(name.upper.inclusive ? "<=" : "<")} ${p.v(nameValue(col, name.upper.path, true))}`);
  if (name.exclude.length) out.push(sql`${col.expr} NOT IN (${list(p, name.exclude.map((x) => nameValue(col, x, false)))})`);
  return out;
}

/**
 * A cursor on (value, name) in query order: the start bound keeps rows at or
 * after it, the end bound rows at or before it. Same directions give one
 * row-value comparison (an index range); mixed ones the expanded form.
 */
function tupleCondition(
  cols: { expr: SQL; direction: Direction; value: Uint8Array }[],
  role: "start" | "end",
  inclusive: boolean,
  p: Params,
): SQL {
  const op = (d: Direction, strict: boolean) => sql.raw(((role === "start") === (d === "asc") ? ">" : "<") + (strict ? "" : "="));
  if (cols.length === 1) return sql`${cols[0].expr} ${op(cols[0].direction, !inclusive)} ${p.v(cols[0].value)}`;
  const [a, b] = cols;
  if (a.direction === b.direction) {
    return sql`(${a.expr}, ${b.expr}) ${op(a.direction, !inclusive)} (${p.v(a.value)}, ${p.v(b.value)})`;
  }
  return sql`${a.expr} ${op(a.direction, false)} ${p.v(a.value)} AND (${a.expr} ${op(a.direction, true)} ${p.v(a.value)} OR ${b.expr} ${op(b.direction, !inclusive)} ${p.v(b.value)})`;
}

function cursorConditions(sub: SubPlan, valueCol: SQL, keyCol: SQL, p: Params): SQL[] {
  const out: SQL[] = [];
  for (const [bound, role] of [[sub.start, "start"], [sub.end, "end"]] as [TupleBound | null, "start" | "end"][]) {
    if (!bound) continue;
    const cols = [{ expr: valueCol, direction: sub.valueDirection, value: bound.value }];
    if (bound.name !== null) cols.push({ expr: keyCol, direction: sub.nameDirection, value: encodeDocumentName(bound.name) });
    out.push(tupleCondition(cols, role, bound.inclusive, p));
  }
  return out;
}

/** What a scan statement selects. */
export type Projection =
  /** Whole documents, for results; with a limit, no more than `maxBytes` of data per scan. */
  | { kind: "documents"; maxBytes: number | null }
  /** Document paths only (members of a union). */
  | { kind: "paths" }
  /** Aggregation inputs: one numeric-or-NULL column per expression. */
  | { kind: "numbers"; columns: SQL[] };

export const DOCUMENT_COLUMNS = sql.raw("d.path AS path, d.data AS data, d.version AS version, d.create_time AS create_time, d.update_time AS update_time");

function selectList(projection: Projection, pathCol: SQL): SQL {
  switch (projection.kind) {
    case "documents":
      return DOCUMENT_COLUMNS;
    case "paths":
      return sql`${pathCol} AS path`;
    case "numbers":
      return projection.columns.length === 0
        ? sql`1 AS one`
        : sql.join(projection.columns.map((c, i) => sql`${c} AS ${sql.raw(`x${i}`)}`), sql`, `);
  }
}

/**
 * One scan as a SELECT: its index range, the plan's residual, name and cursor
 * conditions, and (when `ordered`) the query's order and limit.
 */
export function scanStatement(plan: QueryPlan, sub: SubPlan, scan: Scan, projection: Projection, ordered: boolean, p: Params): SQL {
  const group = plan.scope.kind === "collectionGroup";
  const scopeValue = plan.scope.kind === "collection" ? plan.scope.path : plan.scope.collectionId;
  const reverse = plan.limit?.last ?? false;
  const joinDocs = projection.kind !== "paths";
  let from: SQL;
  let pathCol: SQL;
  const where: SQL[] = [];
  let order: OrderKey[];

  switch (scan.index) {
    case "documents": {
      from = sql`documents d`;
      pathCol = sql`d.path`;
      where.push(group ? sql`d.collection_id = ${p.v(scopeValue)}` : sql`d.collection_path = ${p.v(scopeValue)}`);
      const col: NameColumn = group ? { kind: "path", expr: sql`d.path`, group } : { kind: "id", expr: sql`d.doc_id` };
      where.push(...nameConditions(col, sub.name, p));
      order = [{ expr: nameOrderExpr(col), dir: dir(sub.nameDirection, reverse) }];
      break;
    }
    case "field": {
      // CROSS JOIN keeps SQLite reading the index range first, then the document by its key.
      from = joinDocs ? sql`index_entries e CROSS JOIN documents d ON d.path = e.doc_path` : sql`index_entries e`;
      pathCol = sql`e.doc_path`;
      where.push(group ? sql`e.collection_id = ${p.v(scopeValue)}` : sql`e.collection_path = ${p.v(scopeValue)}`);
      where.push(sql`e.field = ${p.v(scan.predicate.field)}`);
      where.push(sql`e.kind = ${sql.raw(scan.predicate.kind === "element" ? "'element'" : "'value'")}`);
      where.push(...predicateConditions(sql`e.value`, scan.predicate, p));
      if (scan.order === "value") where.push(...cursorConditions(sub, sql`e.value`, sql`e.doc_key`, p));
      where.push(...nameConditions({ kind: "key", expr: sql`e.doc_key` }, sub.name, p));
      order =
        scan.order === "value"
          ? [{ expr: sql`e.value`, dir: dir(sub.valueDirection, reverse) }, { expr: sql`e.doc_key`, dir: dir(sub.nameDirection, reverse) }]
          : [{ expr: sql`e.doc_key`, dir: dir(sub.nameDirection, reverse) }];
      break;
    }
    case "composite": {
      const c = sub.composite!;
      from = joinDocs ? sql`composite_entries c CROSS JOIN documents d ON d.path = c.doc_path` : sql`composite_entries c`;
      pathCol = sql`c.doc_path`;
      where.push(sql`c.index_id = ${p.v(c.index.id)}`, sql`c.scope = ${p.v(c.scope)}`);
      if (scan.range.lo && scan.range.lo.length > 0) where.push(sql`c.key >= ${p.v(scan.range.lo)}`);
      if (scan.range.hi) where.push(sql`c.key < ${p.v(scan.range.hi)}`);
      for (const x of scan.exclude) {
        where.push(x.hi ? sql`NOT (c.key >= ${p.v(x.lo!)} AND c.key < ${p.v(x.hi)})` : sql`c.key < ${p.v(x.lo!)}`);
      }
      where.push(...nameConditions({ kind: "path", expr: sql`c.doc_path`, group }, sub.name, p));
      order = [{ expr: sql`c.key`, dir: sql.raw(c.reversed !== reverse ? "DESC" : "ASC") }];
      break;
    }
    case "search": {
      // Search matches first (the FTS5 index), then each match's document by path.
      const s = plan.search!;
      const table = searchTable(s.index.id);
      from = sql`${table} CROSS JOIN search_rows r ON r.id = ${table}.rowid CROSS JOIN documents d ON d.path = r.path`;
      pathCol = sql`r.path`;
      where.push(sql`${table} MATCH ${p.v(s.match)}`);
      where.push(group ? sql`d.collection_id = ${p.v(scopeValue)}` : sql`d.collection_path = ${p.v(scopeValue)}`);
      const col: NameColumn = group ? { kind: "path", expr: sql`d.path`, group } : { kind: "id", expr: sql`d.doc_id` };
      where.push(...nameConditions(col, sub.name, p));
      // bm25() is lower for better matches; ties (and every row of a limitToLast-free reverse) by name.
      order = [{ expr: sql`bm25(${table})`, dir: sql.raw("ASC") }, { expr: nameOrderExpr(col), dir: sql.raw("ASC") }];
      break;
    }
  }
  if (plan.search && scan.index !== "search") where.push(searchCondition(plan.search, pathCol, p));
  for (const r of sub.residual) where.push(residualCondition(pathCol, r, p));
  const orderBy = sql.join(order.map((o) => sql`${o.expr} ${o.dir}`), sql`, `);
  // A window that cannot exceed the budget even with the largest documents needs no running sum.
  const budgeted =
    projection.kind === "documents" &&
    projection.maxBytes !== null &&
    plan.limit !== null &&
    plan.limit.count * LIMITS.maxDocumentBytes > projection.maxBytes;
  // A relevance-ordered scan also returns each row's rank, for merging scans (the first order key).
  const ranked = scan.index === "search" && projection.kind === "documents";
  if (budgeted && ordered) {
    return budgetedDocuments(from, pathCol, where, order, plan.limit!.count, projection.maxBytes!, p, ranked);
  }
  const tail = ordered && plan.limit ? sql` ORDER BY ${orderBy} LIMIT ${p.v(plan.limit.count)}` : ordered ? sql` ORDER BY ${orderBy}` : sql``;
  const rank = ranked ? sql`, ${order[0].expr} AS rank` : sql``;
  return sql`SELECT ${selectList(projection, pathCol)}${rank} FROM ${from} WHERE ${and(where)}${tail}`;
}

interface OrderKey {
  expr: SQL;
  dir: SQL;
}

/**
 * Documents in scan order, at most `limit` of them and no more data than
 * `maxBytes` (the row that crosses it is the last): the scan picks paths,
 * sizes (octet_length reads no content) and order keys; a running sum of the
 * sizes in the same order keeps the rows within the budget; only those join
 * `documents` for their data. So neither D1 nor the Worker ever holds more
 * than the budget plus one document per scan: the row that crosses the
 * budget is returned, so the caller can tell that the page was cut.
 */
function budgetedDocuments(
  from: SQL, pathCol: SQL, where: SQL[], order: OrderKey[], limit: number, maxBytes: number, p: Params, ranked = false,
): SQL {
  const keys = sql.join(order.map((o, i) => sql`${o.expr} AS ${sql.raw(`k${i}`)}`), sql`, `);
  const scanOrder = sql.join(order.map((o) => sql`${o.expr} ${o.dir}`), sql`, `);
  const keyOrder = sql.join(order.map((o, i) => sql`${sql.raw(`w.k${i}`)} ${o.dir}`), sql`, `);
  const scan = sql`SELECT ${pathCol} AS p, octet_length(d.data) AS size, ${keys} FROM ${from} WHERE ${and(where)} ORDER BY ${scanOrder} LIMIT ${p.v(limit)}`;
  const running = sql`SELECT w.p AS p, w.size AS size, w.k0 AS k0, sum(w.size) OVER (ORDER BY ${keyOrder} ROWS UNBOUNDED PRECEDING) AS running FROM (${scan}) w`;
  const rank = ranked ? sql`, r.k0 AS rank` : sql``;
  return sql`SELECT ${DOCUMENT_COLUMNS}, r.size AS size${rank} FROM (${running}) r CROSS JOIN documents d ON d.path = r.p WHERE r.running - r.size <= ${p.v(maxBytes)} ORDER BY r.running`;
}

/** A statement per scan, for a query that returns documents. */
export interface ScanStatement {
  disjunction: number;
  scan: number;
  query: SQL;
}

/** `maxBytes` null: no byte budget (aggregating a limited window needs all of it). */
export function documentStatements(plan: QueryPlan, maxBytes: number | null = PAGE_LIMITS.maxPageBytes): ScanStatement[] {
  const out: ScanStatement[] = [];
  plan.disjunctions.forEach((sub, i) =>
    sub.scans.forEach((scan, j) => {
      // Without a limit every row is returned and merged in the Worker anyway, so no sort is asked of SQLite.
      out.push({ disjunction: i, scan: j, query: scanStatement(plan, sub, scan, { kind: "documents", maxBytes }, plan.limit !== null, new Params()) });
    }),
  );
  return out;
}

// ------------------------------------------------------------------ aggregates

/**
 * A JSON path for SQLite's json functions: `$."a"."b"`. SQLite's quoted keys
 * have no escapes, so a key holding `"` or `\` gets null (walked with json_each).
 */
export function jsonPath(segments: string[]): string | null {
  if (segments.some((s) => s.includes('"') || s.includes("\\"))) return null;
  return "$" + segments.map((s) => `."${s}"`).join("");
}

/** The field's value if it is a number (JSON integer or real), else NULL: sum and avg ignore other types. */
export function numericField(segments: string[], p: Params): SQL {
  const path = jsonPath(segments);
  if (path !== null) {
    return sql`CASE WHEN json_type(d.data, ${p.v(path)}) IN ('integer', 'real') THEN json_extract(d.data, ${p.v(path)}) END`;
  }
  return walkField(segments, p, sql.raw("IN ('integer', 'real')"), (v) => v);
}

/** The tag of a `{"$double": ...}` field ("NaN", "Infinity", "-Infinity", "-0"), else NULL. */
export function doubleTagField(segments: string[], p: Params): SQL {
  const path = jsonPath(segments);
  // A user map cannot hold a "$" key, so only a tagged number has this member.
  if (path !== null) return sql`json_extract(d.data, ${p.v(`${path}."$double"`)})`;
  return walkField(segments, p, sql.raw("= 'object'"), (v) => sql`json_extract(${v}, '$."$double"')`);
}

/** The field found by walking map by map (keys SQLite's paths cannot quote); a non-map on the way ends the walk. */
function walkField(segments: string[], p: Params, lastType: SQL, select: (value: SQL) => SQL): SQL {
  const joins: SQL[] = [sql`json_each(d.data) j0`];
  const conds: SQL[] = [];
  segments.forEach((s, i) => {
    if (i > 0) joins.push(sql`json_each(CASE WHEN ${sql.raw(`j${i - 1}.type`)} = 'object' THEN ${sql.raw(`j${i - 1}.value`)} ELSE '{}' END) ${sql.raw(`j${i}`)}`);
    conds.push(sql`${sql.raw(`j${i}.key`)} = ${p.v(s)}`);
  });
  const last = segments.length - 1;
  conds.push(sql`${sql.raw(`j${last}.type`)} ${lastType}`);
  return sql`(SELECT ${select(sql.raw(`j${last}.value`))} FROM ${sql.join(joins, sql`, `)} WHERE ${and(conds)})`;
}

/** D1 allows at most 5 terms in one compound SELECT (measured locally: the 6th fails). */
export const D1_MAX_COMPOUND_TERMS = 5;

/** A UNION of path SELECTs as a tree of compounds with at most D1_MAX_COMPOUND_TERMS terms each. */
export function unionTree(selects: SQL[]): SQL {
  if (selects.length <= D1_MAX_COMPOUND_TERMS) return sql.join(selects, sql` UNION `);
  const groups: SQL[] = [];
  for (let i = 0; i < selects.length; i += D1_MAX_COMPOUND_TERMS) {
    groups.push(sql`SELECT path FROM (${sql.join(selects.slice(i, i + D1_MAX_COMPOUND_TERMS), sql` UNION `)})`);
  }
  return unionTree(groups);
}

/**
 * Row of an aggregate statement: n = COUNT(*); for the i-th numeric field
 * s<i>/c<i> = TOTAL and COUNT of its plain numbers, and nan<i>/pinf<i>/ninf<i>/t<i>
 * the counts of its NaN, Infinity, -Infinity and all tagged numbers.
 */
export type AggregateRow = Record<string, number | null>;

/**
 * One statement computing the plan's aggregates on one index shard, or null
 * when SQL alone cannot give the exact answer: a limit over several scans
 * needs the merged order, which the executor builds from the scans' rows.
 * Without a limit, several scans are one UNION of document paths (a
 * document matched twice counts once).
 */
export function aggregateStatement(plan: QueryPlan): SQL | null {
  const scans = plan.disjunctions.flatMap((sub) => sub.scans.map((scan) => ({ sub, scan })));
  if (scans.length === 0 || !plan.aggregate) return null;
  // min and max read index entries (group-by-sql.ts), or the window in the Worker under a limit.
  if (plan.aggregate.some((a) => a.op === "min" || a.op === "max")) return null;
  if (plan.limit && scans.length > 1) return null;
  const p = new Params();
  const fields = plan.aggregate.filter((a) => a.op !== "count") as { segments: string[] }[];
  // Two columns a field: its plain number (x<2i>) and its $double tag (x<2i+1>).
  const columns = fields.flatMap((a) => [numericField(a.segments, p), doubleTagField(a.segments, p)]);
  let rows: SQL;
  if (columns.length === 0) {
    // A count needs no document data: index rows (a UNION of paths counts a document once).
    rows =
      scans.length === 1
        ? scanStatement(plan, scans[0].sub, scans[0].scan, { kind: "paths" }, plan.limit !== null, p)
        : unionTree(scans.map(({ sub, scan }) => scanStatement(plan, sub, scan, { kind: "paths" }, false, p)));
  } else if (scans.length === 1) {
    rows = scanStatement(plan, scans[0].sub, scans[0].scan, { kind: "numbers", columns }, plan.limit !== null, p);
  } else {
    const union = unionTree(scans.map(({ sub, scan }) => scanStatement(plan, sub, scan, { kind: "paths" }, false, p)));
    rows = sql`SELECT ${selectList({ kind: "numbers", columns }, sql`d.path`)} FROM documents d WHERE d.path IN (${union})`;
  }
  const outputs = [
    sql`COUNT(*) AS n`,
    ...fields.map((_, i) => {
      const [x, tag] = [`x${2 * i}`, `x${2 * i + 1}`];
      return sql.raw(
        `TOTAL(${x}) AS s${i}, COUNT(${x}) AS c${i}, COUNT(${tag}) AS t${i}, ` +
          `SUM(${tag} = 'NaN') AS nan${i}, SUM(${tag} = 'Infinity') AS pinf${i}, SUM(${tag} = '-Infinity') AS ninf${i}`,
      );
    }),
  ];
  return sql`SELECT ${sql.join(outputs, sql`, `)} FROM (${rows})`;
}
