/**
 * Runs a query against the D1 index: the only module of engine/query that
 * touches D1. Plans (planner.ts), builds the statements (sql.ts), runs them
 * on every index shard that holds the collection (one `db.batch` per shard,
 * shards in parallel), and merges: rows of several scans or shards are
 * ordered by the query order, de-duplicated, and the limit applied again.
 *
 * Read-your-writes: with `after`, it first waits (bounded) until every
 * shard's watermark in the meta database has reached the token.
 */
import type { SQL } from "drizzle-orm";
import { BlazeError } from "../core/errors";
import { parseToken } from "../core/tokens";
import { PLATFORM } from "../core/limits";
import { PAGE_LIMITS } from "../core/query/limits";
import type { DocumentData, Value } from "../core/values";
import type { DocumentSnapshot } from "../core/writes";
import { assertIndexReady, type BuiltIndex } from "../index/builds";
import type { IndexConfig, SearchIndex } from "../index/config-types";
import { createSearchTable } from "../index/search";
import { compile, prepare, StatementTooLargeError } from "../index/d1";
import { indexShardsFor, type IndexTopology } from "../index/routing";
import { readWatermarks } from "../pipeline/watermarks";
import { aggregate, compareByOrder, fieldValue, project, type AggregateResult } from "../core/query/evaluate";
import type { NormalizedQuery } from "../core/query/normalize";
import { explainPlan, planQuery, type QueryPlan } from "./planner";
import { aggregateStatement, documentStatements, type AggregateRow } from "./sql";
import { numericAggregate } from "./aggregate-values";
import { runExtremes, runGroups } from "./group-by";
import type { GroupRow } from "./group-by-sql";
import type { GroupResult } from "../core/query/group-by";

export interface QueryDeps {
  /** Index shard databases, in topology order; dbs[0] is also the meta database. */
  dbs: D1Database[];
  topology: IndexTopology;
  config: IndexConfig;
  /** Holds the watermarks (the first index shard). */
  meta: D1Database;
  /** How long `after` may wait for the index (default READ_YOUR_WRITES_WAIT_MS). */
  waitMs?: number;
  /** Number of document shards, to refuse a token naming one that does not exist. */
  shardCount?: number;
  /**
   * Called when a needed composite index is not ready, before the query fails:
   * makes sure its build is declared and running even if no write has come
   * through the queue since the index was added.
   */
  onIndexNotReady?: () => Promise<void>;
  /** Documents per answer without a limit (default PAGE_LIMITS.defaultPageSize). */
  pageSize?: number;
  /** Document bytes per answer (default PAGE_LIMITS.maxPageBytes). */
  maxPageBytes?: number;
}

export interface ExplainOutput {
  plan: Record<string, unknown>;
  /** Rows D1 reports reading, over every statement. */
  rowsRead: number;
  statements: { shard: string; sql: string; params: number; rowsRead: number }[];
}

export interface QueryResult {
  docs: DocumentSnapshot[];
  aggregates?: AggregateResult;
  /** A group-by's groups, in key order. */
  groups?: GroupResult[];
  explain?: ExplainOutput;
  /** Set when the answer is one page of more: the body fields to send again to continue. */
  next?: PageContinuation;
}

/**
 * Continues a paged answer: merged into the query body (replacing its cursor
 * on that side and its limit), it asks for the documents after this page.
 */
export interface PageContinuation {
  /** After this document position, or after this group key (group-by). */
  startAfter?: Value[];
  endBefore?: Value[];
  limit?: number;
  limitToLast?: number;
}

/** Bounded wait of `after` before UNAVAILABLE. */
export const READ_YOUR_WRITES_WAIT_MS = 5000;

export async function runQuery(deps: QueryDeps, nq: NormalizedQuery): Promise<QueryResult> {
  if (nq.after !== null) await waitForIndex(deps.meta, nq.after, deps.waitMs ?? READ_YOUR_WRITES_WAIT_MS, deps.shardCount);
  // A document query without a limit reads one page, plus one row to tell whether more follow.
  const paged = nq.aggregate === null && nq.limit === null ? { ...nq, limit: { count: pageSize(deps) + 1, last: false } } : nq;
  const plan = planQuery(paged, { config: deps.config });
  const shards = indexShardsFor(deps.topology, nq.scope.collectionId).map((i) => {
    const db = deps.dbs[i];
    if (!db) throw new BlazeError("INTERNAL", `index shard ${i} (${deps.topology.bindings[i]}) has no database`);
    return { name: deps.topology.bindings[i] ?? String(i), db };
  });
  const builds: BuiltIndex[] = [...plan.indexes, ...(plan.search ? [plan.search.index] : [])];
  try {
    await Promise.all(shards.flatMap((s) => builds.map((index) => ensureReady(s.db, index))));
  } catch (e) {
    if (deps.onIndexNotReady) await deps.onIndexNotReady().catch((err) => console.error("blaze: could not start index builds", err));
    throw e;
  }

  // Statements are described only when explain asks (compiling them twice costs a little).
  const log: Log | null = nq.explain ? [] : null;
  let result: QueryResult;
  try {
    if (nq.groups !== null) {
      const answer = await runGroups(plan, nq.aggregate ?? [], nq.groups, onEveryShard(shards, log));
      result = { docs: [], groups: answer.groups, ...(answer.next ? { next: { startAfter: answer.next } } : {}) };
    } else if (nq.aggregate !== null) {
      result = { docs: [], aggregates: await runAggregate(plan, nq, shards, log) };
    } else {
      result = await runDocuments(plan, nq, shards, log, { pageSize: pageSize(deps), maxBytes: deps.maxPageBytes ?? PAGE_LIMITS.maxPageBytes });
    }
  } catch (e) {
    if (e instanceof StatementTooLargeError) {
      throw new BlazeError(
        "INVALID_ARGUMENT",
        `the query compiles to ${e.bytes} bytes of SQL, more than D1's ${PLATFORM.maxD1StatementBytes}; use fewer or shorter filter values`,
        { sqlBytes: e.bytes, limit: PLATFORM.maxD1StatementBytes },
      );
    }
    throw e;
  }
  if (log) {
    const described = explainPlan(plan);
    if (nq.groups) described.groupBy = { fields: nq.groups.by.map((f) => f.field), limit: nq.groups.limit, startAfter: nq.groups.after };
    result.explain = { plan: described, rowsRead: log.reduce((n, s) => n + s.rowsRead, 0), statements: log };
  }
  return result;
}

interface Shard {
  name: string;
  db: D1Database;
}

type Log = ExplainOutput["statements"];

interface DocumentRow {
  path: string;
  data: string;
  version: number;
  create_time: string;
  update_time: string;
  /** Bytes of `data` (budgeted statements only). */
  size?: number;
  /** bm25 of a relevance-ordered search's match: lower is better. */
  rank?: number;
}

const pageSize = (deps: QueryDeps) => deps.pageSize ?? PAGE_LIMITS.defaultPageSize;

/** Runs statements on one shard as one batch; records each in the log. */
async function runOnShard<T>(shard: Shard, queries: SQL[], log: Log | null): Promise<T[][]> {
  if (queries.length === 0) return [];
  const results = await shard.db.batch<T>(queries.map((q) => prepare(shard.db, q)));
  results.forEach((r, i) => {
    if (!log) return;
    const { sql, params } = compile(queries[i]);
    log.push({ shard: shard.name, sql, params: params.length, rowsRead: r.meta?.rows_read ?? 0 });
  });
  return results.map((r) => r.results ?? []);
}

/** One statement on every shard (each its own batch, in parallel): rows per shard. */
const onEveryShard = (shards: Shard[], log: Log | null) => async (statement: SQL) =>
  (await Promise.all(shards.map((s) => runOnShard<GroupRow>(s, [statement], log)))).map((r) => r[0]);

function snapshot(row: DocumentRow): DocumentSnapshot {
  return {
    path: row.path,
    id: row.path.slice(row.path.lastIndexOf("/") + 1),
    data: JSON.parse(row.data) as DocumentData,
    version: row.version,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}

/**
 * The query's documents: every scan's rows (each already limited in SQL)
 * merged in query order, duplicates removed, the limit applied once more.
 */
async function fetchWindow(
  plan: QueryPlan,
  nq: NormalizedQuery,
  shards: Shard[],
  log: Log | null,
  maxBytes: number | null = null,
): Promise<{ doc: DocumentSnapshot; size: number }[]> {
  const statements = documentStatements(plan, maxBytes).map((s) => s.query);
  if (statements.length === 0) return [];
  const perShard = await Promise.all(shards.map((s) => runOnShard<DocumentRow>(s, statements, log)));
  const byPath = new Map<string, { doc: DocumentSnapshot; size: number; rank: number }>();
  for (const rows of perShard.flat()) {
    for (const row of rows) {
      if (!byPath.has(row.path)) byPath.set(row.path, { doc: snapshot(row), size: row.size ?? row.data.length, rank: row.rank ?? 0 });
    }
  }
  const order = compareByOrder(nq.orderBy);
  // Relevance order: best rank first (bm25 of one document and text is the same in every scan), then the name.
  const byRank = plan.search?.relevance === true;
  const merged = [...byPath.values()].sort((a, b) => (byRank ? a.rank - b.rank : 0) || order(a.doc, b.doc));
  if (!plan.limit) return merged;
  return plan.limit.last ? merged.slice(-plan.limit.count) : merged.slice(0, plan.limit.count);
}

/**
 * One page of documents: at most the limit (or the page size without one)
 * and at most `maxBytes` of data, cut in query order (from the end for
 * limitToLast), always at least one document. A cut page says how to go on.
 */
async function runDocuments(
  plan: QueryPlan,
  nq: NormalizedQuery,
  shards: Shard[],
  log: Log | null,
  page: { pageSize: number; maxBytes: number },
): Promise<QueryResult> {
  const window = await fetchWindow(plan, nq, shards, log, page.maxBytes);
  const last = nq.limit?.last ?? false;
  const rows = last ? [...window].reverse() : window;
  const wanted = nq.limit?.count ?? page.pageSize;
  const kept: DocumentSnapshot[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (kept.length === wanted || (kept.length > 0 && bytes + r.size > page.maxBytes)) break;
    kept.push(r.doc);
    bytes += r.size;
  }
  // Rows left over (the page size's extra row, or rows past the byte budget) mean more follow.
  const more = kept.length < rows.length;
  let next: PageContinuation | undefined;
  // A relevance-ordered search has no position to continue from (normalize.ts): its answer is the best matches.
  if (more && kept.length > 0 && !nq.search?.relevance) {
    const edge = orderValues(kept[kept.length - 1], nq);
    const remaining = nq.limit ? nq.limit.count - kept.length : undefined;
    next = last ? { endBefore: edge, limitToLast: remaining } : { startAfter: edge, ...(remaining === undefined ? {} : { limit: remaining }) };
  }
  if (last) kept.reverse();
  const select = nq.select;
  const docs = select === null ? kept : kept.map((d) => ({ ...d, data: project(d.data, select) }));
  return next ? { docs, next } : { docs };
}

/** A document's position in the query order, as cursor values (`__name__` as a reference). */
function orderValues(doc: DocumentSnapshot, nq: NormalizedQuery): Value[] {
  return nq.orderBy.map((o) => fieldValue(doc, o) ?? null);
}

/**
 * Aggregates in SQL, per shard, added up (split shards hold disjoint
 * documents). A limit over several scans or shards needs the merged order
 * first: then the limited window (at most `limit` rows per statement) is
 * read and aggregated here.
 */
async function runAggregate(plan: QueryPlan, nq: NormalizedQuery, shards: Shard[], log: Log | null): Promise<AggregateResult> {
  const specs = nq.aggregate!;
  if (plan.disjunctions.length === 0) return aggregate([], specs);
  // min and max come from index entries, as a group-by's do: all of the result is one group.
  if (nq.limit === null && specs.some((a) => a.op === "min" || a.op === "max")) return runExtremes(plan, specs, onEveryShard(shards, log));
  const statement = aggregateStatement(plan);
  if (statement === null || (nq.limit !== null && shards.length > 1)) {
    return aggregate((await fetchWindow(plan, nq, shards, log)).map((r) => r.doc), specs);
  }
  const rows = (await Promise.all(shards.map((s) => runOnShard<AggregateRow>(s, [statement], log)))).map((r) => r[0][0]);
  const total = (key: string) => rows.reduce((n, r) => n + Number(r[key] ?? 0), 0);
  const out: AggregateResult = {};
  let i = 0;
  for (const a of specs) {
    if (a.op === "count") {
      out[a.alias] = total("n");
      continue;
    }
    out[a.alias] = numericAggregate(a.op as "sum" | "avg", total, i++);
  }
  return out;
}

// Once built, an index stays ready for the life of the deployment's config.
const readyIndexes = new WeakMap<D1Database, Set<string>>();

async function ensureReady(db: D1Database, index: BuiltIndex): Promise<void> {
  const ready = readyIndexes.get(db);
  if (ready?.has(index.id)) return;
  // A search index's FTS5 table exists once a consumer has declared the config;
  // a query may come first (a fresh deployment, nothing written yet): it then finds an empty one.
  if ("tokenizer" in index) await prepare(db, createSearchTable(index as SearchIndex)).run();
  await assertIndexReady(db, index);
  if (ready) ready.add(index.id);
  else readyIndexes.set(db, new Set([index.id]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Read-your-writes: polls the watermarks until each shard of the token has
 * applied its sequence, backing off from 5 ms to 100 ms; UNAVAILABLE when
 * `waitMs` runs out.
 */
export async function waitForIndex(meta: D1Database, after: string, waitMs: number, shardCount?: number): Promise<void> {
  const token = parseToken(after);
  const shards = [...token.keys()];
  // A shard that does not exist never catches up: that token is bad input.
  const unknown = shardCount === undefined ? [] : shards.filter((s) => s >= shardCount);
  if (unknown.length > 0) {
    throw new BlazeError("INVALID_ARGUMENT", `write token names shard(s) ${unknown.join(", ")}, but there are ${shardCount} shards`);
  }
  const deadline = Date.now() + waitMs;
  let delay = 5;
  for (;;) {
    const marks = await readWatermarks(meta, shards);
    const behind = shards.filter((s) => (marks.get(s) ?? 0) < token.get(s)!);
    if (behind.length === 0) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      const detail = behind.map((s) => `shard ${s} is at ${marks.get(s) ?? 0}, the token needs ${token.get(s)}`).join("; ");
      throw new BlazeError(
        "UNAVAILABLE",
        `the index has not caught up with the write token after ${waitMs} ms (${detail}); retry the query`,
        { behind: behind.map((s) => ({ shard: s, appliedSeq: marks.get(s) ?? 0, tokenSeq: token.get(s) })) },
      );
    }
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 100);
  }
}
