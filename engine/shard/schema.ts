/**
 * The shard Durable Object's own SQLite schema (not D1). Versioned with
 * `PRAGMA user_version`-style bookkeeping in `meta`, applied on construction.
 *
 * - docs:     current state per path; deleted documents stay as tombstones
 *             (deleted = 1) so versions keep growing across delete/re-create.
 * - changes:  the shard's change log, one row per committed write, by seq.
 *             Needed by the outbox (until D1 applied it) and for listener
 *             resume (a window of recent changes).
 * - outbox:   changes not yet known to be applied in D1 (end-to-end ack).
 * - prepared: writes of a batch prepared by two-phase commit (they lock
 *             their paths until the coordinator's decision is applied).
 * - txns:     coordinator records of multi-shard batches this shard runs.
 * - outcomes: what recent transactions did here, so a repeated commit or
 *             abort message is answered the same way.
 * - listeners: document listeners registered on this shard's sockets.
 * - idempotency: outcomes of keyed writes (engine/shard/idempotency.ts).
 * - live_routes: live queries that want this shard's commits at once, as
 *             leases (the direct path, engine/shard/live-routes.ts).
 */
const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE docs (
       path TEXT PRIMARY KEY, data TEXT, version INTEGER NOT NULL,
       create_time TEXT, update_time TEXT NOT NULL, seq INTEGER NOT NULL,
       deleted INTEGER NOT NULL DEFAULT 0)`,
    `CREATE TABLE changes (
       seq INTEGER PRIMARY KEY, path TEXT NOT NULL, op TEXT NOT NULL,
       version INTEGER NOT NULL, data TEXT, create_time TEXT,
       update_time TEXT NOT NULL, existed INTEGER NOT NULL)`,
    `CREATE INDEX changes_path ON changes(path, seq)`,
    `CREATE TABLE outbox (seq INTEGER PRIMARY KEY, attempts INTEGER NOT NULL DEFAULT 0, sent_at INTEGER)`,
    `CREATE TABLE prepared (
       txn_id TEXT NOT NULL, idx INTEGER NOT NULL, path TEXT NOT NULL,
       write TEXT NOT NULL, coordinator INTEGER NOT NULL, prepared_at INTEGER NOT NULL,
       PRIMARY KEY (txn_id, idx))`,
    `CREATE INDEX prepared_path ON prepared(path)`,
    `CREATE TABLE txns (
       txn_id TEXT PRIMARY KEY, state TEXT NOT NULL, participants TEXT NOT NULL,
       pending TEXT NOT NULL, created_at INTEGER NOT NULL)`,
    `CREATE TABLE outcomes (txn_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, results TEXT, at INTEGER NOT NULL)`,
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value)`,
    // Document listeners of this shard's hibernated sockets.
    `CREATE TABLE listeners (
       socket_id TEXT NOT NULL, listener_id TEXT NOT NULL, path TEXT NOT NULL,
       PRIMARY KEY (socket_id, listener_id))`,
    `CREATE INDEX listeners_path ON listeners(path)`,
  ],
  [
    `CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, outcome TEXT NOT NULL, at INTEGER NOT NULL)`,
    `CREATE INDEX idempotency_at ON idempotency(at)`,
  ],
  [
    `CREATE TABLE live_routes (
       query_key TEXT PRIMARY KEY, collection_id TEXT NOT NULL, query TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  ],
];

export function migrateShardSchema(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS schema_version (v INTEGER NOT NULL)`);
  const row = sql.exec<{ v: number }>(`SELECT v FROM schema_version`).toArray()[0];
  let v = row?.v ?? 0;
  if (!row) sql.exec(`INSERT INTO schema_version (v) VALUES (0)`);
  for (; v < MIGRATIONS.length; v++) {
    for (const stmt of MIGRATIONS[v]) sql.exec(stmt);
    sql.exec(`UPDATE schema_version SET v = ?`, v + 1);
  }
}
