/**
 * The D1 index schema: the single source for drizzle-kit migrations, for the
 * consumer and planner, and for analytics users (`import { documents } from
 * "blaze/engine/index/schema"` in another Worker, or plain SQL: docs/analytics.md).
 *
 * Every index shard database has all of these tables; the pipeline's
 * bookkeeping tables (watermarks, applied_ranges, dead_letters) are used in
 * the first index shard only.
 */
import { sql } from "drizzle-orm";
import { blob, check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One row per live document, readable with plain SQL. */
export const documents = sqliteTable(
  "documents",
  {
    /** Full document path, e.g. `users/alice/posts/p1`. */
    path: text("path").primaryKey(),
    /** Path of the parent collection, e.g. `users/alice/posts`. */
    collectionPath: text("collection_path").notNull(),
    /** Last segment of the collection path, e.g. `posts` (collection groups). */
    collectionId: text("collection_id").notNull(),
    /** Last segment of the path. */
    docId: text("doc_id").notNull(),
    /** The document's data as JSON (tagged values as in the HTTP API). */
    data: text("data", { mode: "json" }).notNull(),
    /** Per-document version as the API reports it. */
    version: integer("version").notNull(),
    createTime: text("create_time").notNull(),
    updateTime: text("update_time").notNull(),
    /** Shard that owns the document and that shard's sequence of this write. */
    shard: integer("shard").notNull(),
    seq: integer("seq").notNull(),
  },
  (t) => [
    index("documents_collection").on(t.collectionPath, t.docId),
    // (collection_id, path): collection-group reads, and the backfill's walk in path order.
    index("documents_group").on(t.collectionId, t.path),
    // Also documents_group_name ON (collection_id, replace(path, '/', char(1))):
    // collection-group queries in name order ("/" mapped to U+0001 orders paths
    // segment by segment, as engine/query/sql.ts does). drizzle-kit cannot
    // express an expression index, so it is a custom migration (0003).
  ],
);

/**
 * Deleted documents, so a late, older change can never resurrect them
 * (queues deliver in no order). Kept apart so `documents` holds live rows only.
 * Garbage-collected by age once the shard's watermark has passed them
 * (engine/pipeline/gc.ts): the consumer then drops every older change of
 * the shard as already applied, so nothing is left for them to stop.
 */
export const tombstones = sqliteTable(
  "tombstones",
  {
    path: text("path").primaryKey(),
    shard: integer("shard").notNull(),
    seq: integer("seq").notNull(),
    deleteTime: text("delete_time").notNull(),
  },
  (t) => [index("tombstones_delete_time").on(t.deleteTime)],
);

/**
 * Single-field index entries: one per field at every depth (`kind = 'value'`)
 * and one per distinct array element (`kind = 'element'`, for array-contains).
 * `value` is the order-preserving encoding (engine/index/encoding.ts), so a
 * filter or ordering on a field is one range scan over a BLOB, which SQLite
 * compares bytewise; `doc_key` is the encoded document name, the tie-break.
 */
export const indexEntries = sqliteTable(
  "index_entries",
  {
    collectionPath: text("collection_path").notNull(),
    collectionId: text("collection_id").notNull(),
    field: text("field").notNull(),
    kind: text("kind", { enum: ["value", "element"] }).notNull(),
    value: blob("value", { mode: "buffer" }).notNull(),
    docKey: blob("doc_key", { mode: "buffer" }).notNull(),
    docPath: text("doc_path").notNull(),
    /** Shard sequence of the document version these entries describe. */
    seq: integer("seq").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.docPath, t.field, t.kind, t.value] }),
    index("index_entries_collection").on(t.collectionPath, t.field, t.kind, t.value, t.docKey),
    index("index_entries_group").on(t.collectionId, t.field, t.kind, t.value, t.docKey),
  ],
);

/**
 * Composite index entries (declared indexes): `key` is the concatenation of the
 * indexed fields' encodings (descending fields inverted) and the document name.
 */
export const compositeEntries = sqliteTable(
  "composite_entries",
  {
    indexId: text("index_id").notNull(),
    /** Collection path for collection-scope indexes, collection id for group scope. */
    scope: text("scope").notNull(),
    key: blob("key", { mode: "buffer" }).notNull(),
    docPath: text("doc_path").notNull(),
    seq: integer("seq").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.indexId, t.scope, t.key] }),
    index("composite_entries_doc").on(t.docPath),
  ],
);

/**
 * Which document version each full-text search index holds (engine/index/search.ts).
 * Every declared search index has an FTS5 table `search_<hex of its id>`
 * (created when a consumer declares the config, not by a migration: one per
 * declared index); its rowid is this table's `id`, so a document's row is
 * found, replaced or deleted by path, under the same seq guard as index entries.
 */
export const searchRows = sqliteTable(
  "search_rows",
  {
    id: integer("id").primaryKey(),
    indexId: text("index_id").notNull(),
    path: text("path").notNull(),
    seq: integer("seq").notNull(),
  },
  (t) => [uniqueIndex("search_rows_path").on(t.indexId, t.path)],
);

/**
 * Build state of each declared composite index in this database. A new index
 * is `building` while the backfill (engine/index/backfill.ts) walks the
 * collection's existing documents in path order (`cursor_path` = last done);
 * queries use it only when `ready`. An index removed from the config is
 * `dropping` until its entries are deleted, then its row goes.
 */
export const indexBuilds = sqliteTable("index_builds", {
  indexId: text("index_id").primaryKey(),
  state: text("state", { enum: ["building", "ready", "dropping"] }).notNull(),
  cursorPath: text("cursor_path").notNull().default(""),
  updatedAt: text("updated_at").notNull(),
});

/**
 * Per document shard: every change with `seq <= applied_seq` is in the index.
 * Shards read it to free outbox rows (end-to-end acknowledgement) and queries
 * read it to wait for a write token (read-your-writes).
 */
export const watermarks = sqliteTable("watermarks", {
  shard: integer("shard").primaryKey(),
  appliedSeq: integer("applied_seq").notNull(),
  updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
});

/**
 * Ranges of sequences applied above a shard's watermark. Queue messages arrive
 * in any order; the watermark advances over contiguous ranges only.
 */
export const appliedRanges = sqliteTable(
  "applied_ranges",
  {
    shard: integer("shard").notNull(),
    fromSeq: integer("from_seq").notNull(),
    toSeq: integer("to_seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.shard, t.fromSeq, t.toSeq] })],
);

/** Messages that reached the dead-letter queue, with the reason, for operators. */
export const deadLetters = sqliteTable("dead_letters", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** Queue message id: the consumer's last-attempt record and the DLQ's are one row. */
  messageId: text("message_id").unique(),
  receivedAt: text("received_at").notNull(),
  shard: integer("shard"),
  fromSeq: integer("from_seq"),
  toSeq: integer("to_seq"),
  reason: text("reason").notNull(),
  body: text("body").notNull(),
  /** When `npm run blaze -- dlq replay` sent its changes back into the pipeline (engine/pipeline/dead-letters.ts); null until then. */
  replayedAt: text("replayed_at"),
});

/**
 * Changes the consumer gave up on (engine/pipeline/quarantine.ts): each
 * failed on its own, repeatedly, while the index took other changes. Its
 * seq counts as applied so the shard's watermark moves on; the row is the
 * gap, until a replay applies the document's current state and deletes it.
 */
export const quarantined = sqliteTable(
  "quarantined",
  {
    shard: integer("shard").notNull(),
    seq: integer("seq").notNull(),
    path: text("path").notNull(),
    reason: text("reason").notNull(),
    /** Queue deliveries of the message when it was quarantined, plus failed replays since. */
    attempts: integer("attempts").notNull(),
    /** When it was quarantined or last failed a replay (ISO). */
    at: text("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.shard, t.seq] }), index("quarantined_path").on(t.shard, t.path)],
);

/**
 * Live queries registered on this database's documents (engine/live/): the
 * consumer reads the registrations of the collections it applies in the
 * same batch as the apply, so a change committed after a registration is
 * always sent to that live query, and one committed before it is in the
 * live query's first read.
 */
export const liveQueries = sqliteTable(
  "live_queries",
  {
    queryKey: text("query_key").primaryKey(),
    collectionId: text("collection_id").notNull(),
    /** The query body (JSON): the consumer matches changes against it. */
    query: text("query").notNull().default("null"),
    registeredAt: text("registered_at").notNull(),
  },
  (t) => [index("live_queries_collection").on(t.collectionId)],
);

/**
 * The documents in each live query's result, kept in the database that
 * holds each document: the consumer sends a live query a change whose new
 * state no longer matches only if the document is listed here (it leaves).
 */
export const liveMembers = sqliteTable(
  "live_members",
  {
    queryKey: text("query_key").notNull(),
    path: text("path").notNull(),
  },
  (t) => [primaryKey({ columns: [t.queryKey, t.path] }), index("live_members_path").on(t.path)],
);

/**
 * Which index config (blaze.indexes.json) may write this database: one row.
 * A consumer isolate takes it over on its first batch when its config's hash
 * differs (generation + 1); every batch that writes the index then starts
 * with a guard that sets `current` to whether the hash is still its own, so
 * the CHECK fails the whole batch for an isolate running a replaced config
 * (engine/index/config-owner.ts).
 */
export const indexConfigOwner = sqliteTable(
  "index_config",
  {
    id: integer("id").primaryKey(),
    hash: text("hash").notNull(),
    generation: integer("generation").notNull(),
    updatedAt: text("updated_at").notNull(),
    current: integer("current").notNull().default(1),
  },
  (t) => [check("index_config_current", sql`${t.current} = 1`)],
);

/**
 * API keys (engine/auth/): only the SHA-256 of each key's secret is stored,
 * so a leaked database leaks no usable key. Used in the first index shard
 * only. A revoked key keeps its row (revoked_at set) for the audit trail.
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    /** The public part of the key (`blz_<role>_<id>_<secret>`), looked up per request. */
    id: text("id").primaryKey(),
    role: text("role", { enum: ["admin", "client"] }).notNull(),
    name: text("name").notNull().default(""),
    /** SHA-256 of the secret, lowercase hex. */
    secretHash: text("secret_hash").notNull(),
    createdAt: text("created_at").notNull(),
    revokedAt: text("revoked_at"),
  },
  (t) => [check("api_keys_role", sql`${t.role} IN ('admin', 'client')`), index("api_keys_active_role").on(t.role, t.revokedAt)],
);
