/**
 * The one place SQL built with Drizzle's `sql` template meets the D1 binding:
 * compile with Drizzle's SQLite dialect, then prepare/bind/batch on D1
 * directly (Drizzle's own batch cannot take raw `sql` queries with params).
 */
import type { SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { PLATFORM } from "../core/limits";

const dialect = new SQLiteSyncDialect();

/** A statement D1 would refuse for its SQL text size; callers decide whose fault it is. */
export class StatementTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`statement is ${bytes} bytes of SQL; D1 allows ${PLATFORM.maxD1StatementBytes}`);
    this.name = "StatementTooLargeError";
  }
}

export function compile(query: SQL): { sql: string; params: unknown[] } {
  const q = dialect.sqlToQuery(query);
  if (q.params.length > PLATFORM.maxD1BoundParameters) {
    // Production D1 rejects these; local D1 does not, so catch it here.
    throw new Error(`statement binds ${q.params.length} parameters; D1 allows ${PLATFORM.maxD1BoundParameters}`);
  }
  // SQL text is ASCII apart from string literals, which sql.ts never inlines (hex).
  if (q.sql.length > PLATFORM.maxD1StatementBytes) throw new StatementTooLargeError(q.sql.length);
  return { sql: q.sql, params: q.params.map(toD1Param) };
}

export function prepare(db: D1Database, query: SQL): D1PreparedStatement {
  const { sql, params } = compile(query);
  return db.prepare(sql).bind(...params);
}

/** Runs statements as one atomic D1 batch; returns each statement's rows. */
export async function runBatch<T = Record<string, unknown>>(db: D1Database, queries: SQL[]): Promise<T[][]> {
  if (queries.length === 0) return [];
  const results = await db.batch<T>(queries.map((q) => prepare(db, q)));
  return results.map((r) => r.results ?? []);
}

export async function all<T = Record<string, unknown>>(db: D1Database, query: SQL): Promise<T[]> {
  return (await prepare(db, query).all<T>()).results;
}

/** D1 binds ArrayBuffer/Uint8Array as BLOB; Node Buffers are Uint8Arrays. */
function toD1Param(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}
