/**
 * The shard's storage: documents, change log, outbox and two-phase-commit
 * state in the Durable Object's SQLite. Every method is synchronous; each
 * commit runs in one storage transaction, so a document, its change-log row
 * and its outbox row are written together or not at all.
 */
import { BlazeError } from "../core/errors";
import { parseDocumentPath } from "../core/paths";
import type { DocsPage, TruthDoc } from "../index/verify";
import type { DocumentData } from "../core/values";
import type { Change, DocumentSnapshot, Write, WriteResult } from "../core/writes";
import type { IndexProgress, ResendClock } from "../pipeline/drain";
import { IdempotencyStore, type Idempotency } from "./idempotency";
import { planWrite, type PlannedWrite, type StoredDoc, type WriteGuard } from "./plan-write";
import { migrateShardSchema } from "./schema";

/**
 * When a sent outbox row falls due again: max(sent_at, progress time) plus
 * the base wait doubled per earlier send (engine/pipeline/drain.ts). A row
 * below the highest applied seq (a gap) waits on the watermark's progress,
 * any other on any progress. Arguments: resendArgs().
 */
const RESEND_DUE_AT = `(MAX(sent_at, CASE WHEN seq < ? THEN ? ELSE ? END) + ? * (1 << MIN(MAX(attempts - 1, 0), ?)))`;

function resendArgs(c: Omit<ResendClock, "now">): number[] {
  return [c.progress.highest, c.progress.watermarkAt, c.progress.appliedAt, c.baseMs, c.maxDoublings];
}

/** How many recent changes stay in the log for listener resume. */
export const RESUME_WINDOW = 10_000;

interface DocRow extends Record<string, SqlStorageValue> {
  path: string;
  data: string | null;
  version: number;
  create_time: string | null;
  update_time: string;
  seq: number;
  deleted: number;
}

interface ChangeRow extends Record<string, SqlStorageValue> {
  seq: number;
  path: string;
  op: string;
  version: number;
  data: string | null;
  create_time: string | null;
  update_time: string;
  existed: number;
}

export interface Lock {
  txnId: string;
  coordinator: number;
  preparedAt: number;
}

/** What a prepared write will be once committed (its seq comes at commit). */
export type PreparedResult = Omit<WriteResult, "token">;

export interface Committed {
  changes: Change[];
  results: WriteResult[];
  /** The data before this commit (null: absent) of the paths `keepBefore` asked for. */
  before: Map<string, DocumentData | null>;
}

/** A keyed write: its key, and the oldest outcome that still answers a repeat (ms epoch). */
export interface KeyedCommit {
  idem: Idempotency;
  notBefore: number;
}

export class DocStore {
  private readonly sql: SqlStorage;
  readonly keys: IdempotencyStore;

  /** Paths whose state before a commit is kept in `Committed.before` (the direct path to live queries needs it). */
  keepBefore: ((path: string) => boolean) | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    readonly shard: number,
  ) {
    this.sql = storage.sql;
    migrateShardSchema(this.sql);
    this.keys = new IdempotencyStore(this.sql);
  }

  getDoc(path: string): StoredDoc | null {
    const row = this.sql.exec<DocRow>(`SELECT * FROM docs WHERE path = ?`, path).toArray()[0];
    return row ? toStoredDoc(row) : null;
  }

  /** The live document as reads return it, or null. */
  snapshot(path: string): DocumentSnapshot | null {
    const d = this.getDoc(path);
    return d && !d.deleted ? toSnapshot(d) : null;
  }

  /**
   * A page of documents (deleted ones too) in path order after `after`, for
   * the index verifier: at most `limit` of them and about `maxBytes` of data,
   * of one collection id if given. `last` is the last path looked at (the
   * next page's `after`); `done` when no path follows it.
   */
  docsPage(after: string, limit: number, maxBytes: number, collectionId?: string): DocsPage {
    const docs: TruthDoc[] = [];
    let last: string | null = null;
    let bytes = 0;
    // Rows looked at per page, when a collection filter skips most of them.
    const scan = collectionId === undefined ? limit : limit * 20;
    const rows = this.sql.exec<DocRow>(`SELECT * FROM docs WHERE path > ? ORDER BY path LIMIT ?`, after, scan + 1).toArray();
    let done = true;
    for (let i = 0; i < rows.length; i++) {
      if (i === scan || docs.length === limit || bytes >= maxBytes) {
        done = false;
        break;
      }
      const r = rows[i];
      last = r.path;
      if (collectionId !== undefined && parseDocumentPath(r.path).collectionId !== collectionId) continue;
      bytes += r.data?.length ?? 0;
      docs.push({ path: r.path, seq: r.seq, deleted: r.deleted === 1, version: r.version, data: r.data, createTime: r.create_time, updateTime: r.update_time });
    }
    return { docs, last, done, head: this.lastSeq() };
  }

  lastSeq(): number {
    const row = this.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE key = 'last_seq'`).toArray()[0];
    return row ? Number(row.value) : 0;
  }

  /** Transactions holding locks on any of these paths. */
  locksOn(paths: string[]): Lock[] {
    const locks = new Map<string, Lock>();
    for (const path of new Set(paths)) {
      for (const r of this.sql.exec<{ txn_id: string; coordinator: number; prepared_at: number }>(
        `SELECT txn_id, coordinator, prepared_at FROM prepared WHERE path = ?`,
        path,
      )) {
        locks.set(r.txn_id, { txnId: r.txn_id, coordinator: r.coordinator, preparedAt: r.prepared_at });
      }
    }
    return [...locks.values()];
  }

  /**
   * Applies writes atomically: all commit, or the first error rolls all back.
   * A keyed commit records its results under the key in the same transaction;
   * a repeat of the key gets them back and changes nothing.
   */
  commit(writes: Write[], now: Date, guard?: WriteGuard, keyed?: KeyedCommit): Committed {
    return this.storage.transactionSync(() => {
      const prior = keyed && this.keys.find<WriteResult[]>(keyed.idem, keyed.notBefore);
      if (prior) return { changes: [], results: prior, before: new Map() };
      const locked = this.locksOn(writes.map((w) => w.path));
      if (locked.length > 0) {
        throw new BlazeError("ABORTED", "a document is locked by a batch in progress; retry the write", {
          paths: writes.map((w) => w.path),
        });
      }
      const committed = this.applyPlanned(this.planAll(writes, now, guard));
      if (keyed) this.keys.record(keyed.idem, committed.results, now.getTime());
      return committed;
    });
  }

  /**
   * Phase one of a multi-shard batch: check preconditions, compute the new
   * documents, and lock their paths until commitPrepared or abortPrepared.
   */
  prepare(txnId: string, coordinator: number, writes: Write[], now: Date, guard?: WriteGuard): PreparedResult[] {
    return this.storage.transactionSync(() => {
      if (this.outcome(txnId)) throw new BlazeError("ABORTED", `transaction ${txnId} already finished`);
      const others = this.locksOn(writes.map((w) => w.path)).filter((l) => l.txnId !== txnId);
      if (others.length > 0) {
        throw new BlazeError("ABORTED", "a document is locked by another batch in progress; retry the batch");
      }
      this.sql.exec(`DELETE FROM prepared WHERE txn_id = ?`, txnId);
      const planned = this.planAll(writes, now, guard);
      planned.forEach((p, idx) => {
        this.sql.exec(
          `INSERT INTO prepared (txn_id, idx, path, write, coordinator, prepared_at) VALUES (?, ?, ?, ?, ?, ?)`,
          txnId, idx, p.path, JSON.stringify(p), coordinator, now.getTime(),
        );
      });
      // Versions are final once the paths are locked; only the seq waits for the commit.
      return planned.map((p) => ({ path: p.path, version: p.version, updateTime: p.updateTime }));
    });
  }

  /** Phase two: apply what was prepared. Repeating it returns the same results. */
  commitPrepared(txnId: string): Committed | null {
    return this.storage.transactionSync(() => {
      const done = this.outcome(txnId);
      if (done) {
        if (done.outcome !== "committed") throw new BlazeError("ABORTED", `transaction ${txnId} was aborted`);
        return { changes: [], results: done.results, before: new Map() };
      }
      const rows = this.sql
        .exec<{ write: string }>(`SELECT write FROM prepared WHERE txn_id = ? ORDER BY idx`, txnId)
        .toArray();
      if (rows.length === 0) return null;
      const committed = this.applyPlanned(rows.map((r) => JSON.parse(r.write) as PlannedWrite));
      this.sql.exec(`DELETE FROM prepared WHERE txn_id = ?`, txnId);
      this.recordOutcome(txnId, "committed", committed.results);
      return committed;
    });
  }

  abortPrepared(txnId: string): void {
    this.storage.transactionSync(() => {
      if (this.outcome(txnId)?.outcome === "committed") return;
      this.sql.exec(`DELETE FROM prepared WHERE txn_id = ?`, txnId);
      this.recordOutcome(txnId, "aborted", []);
    });
  }

  /** Prepared transactions older than `before` (ms epoch), to resolve. */
  stalePrepared(before: number): Lock[] {
    return this.sql
      .exec<{ txn_id: string; coordinator: number; prepared_at: number }>(
        `SELECT txn_id, MIN(coordinator) AS coordinator, MIN(prepared_at) AS prepared_at
           FROM prepared GROUP BY txn_id HAVING MIN(prepared_at) < ?`,
        before,
      )
      .toArray()
      .map((r) => ({ txnId: r.txn_id, coordinator: r.coordinator, preparedAt: r.prepared_at }));
  }

  hasPrepared(): boolean {
    return this.sql.exec(`SELECT 1 FROM prepared LIMIT 1`).toArray().length > 0;
  }

  outcome(txnId: string): { outcome: "committed" | "aborted"; results: WriteResult[] } | null {
    const row = this.sql
      .exec<{ outcome: string; results: string }>(`SELECT outcome, results FROM outcomes WHERE txn_id = ?`, txnId)
      .toArray()[0];
    return row ? { outcome: row.outcome as "committed" | "aborted", results: JSON.parse(row.results) } : null;
  }

  pruneOutcomes(before: number): void {
    this.sql.exec(`DELETE FROM outcomes WHERE at < ?`, before);
  }

  // ---- change log and outbox -------------------------------------------

  /** Changes after `afterSeq` in commit order, for one path or all. */
  changesAfter(afterSeq: number, opts: { path?: string; limit?: number } = {}): Change[] {
    const limit = opts.limit ?? 1000;
    const rows = opts.path
      ? this.sql.exec<ChangeRow>(`SELECT * FROM changes WHERE path = ? AND seq > ? ORDER BY seq LIMIT ?`, opts.path, afterSeq, limit)
      : this.sql.exec<ChangeRow>(`SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit);
    return rows.toArray().map((r) => this.toChange(r));
  }

  /** Lowest sequence still in the log (resume is possible from oldest - 1). */
  oldestRetainedSeq(): number {
    const row = this.sql.exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM changes`).toArray()[0];
    return row?.s ?? this.lastSeq() + 1;
  }

  /** Outbox rows never sent (or whose send failed), by seq. */
  unsentOutbox(limit: number): Change[] {
    return this.sql
      .exec<ChangeRow>(
        `SELECT c.* FROM outbox o JOIN changes c ON c.seq = o.seq WHERE o.sent_at IS NULL ORDER BY o.seq LIMIT ?`,
        limit,
      )
      .toArray()
      .map((r) => this.toChange(r));
  }

  /** Sent rows due again (the rule is in engine/pipeline/drain.ts), by seq. */
  dueForResend(clock: ResendClock, limit: number): number[] {
    return this.sql
      .exec<{ seq: number }>(
        `SELECT seq FROM outbox WHERE sent_at IS NOT NULL AND ${RESEND_DUE_AT} <= ? ORDER BY seq LIMIT ?`,
        ...resendArgs(clock), clock.now, limit,
      )
      .toArray()
      .map((r) => r.seq);
  }

  nextResendAt(clock: Omit<ResendClock, "now">): number | null {
    return this.sql
      .exec<{ t: number | null }>(`SELECT MIN(${RESEND_DUE_AT}) AS t FROM outbox WHERE sent_at IS NOT NULL`, ...resendArgs(clock))
      .one().t;
  }

  changesBySeq(seqs: number[]): Change[] {
    if (seqs.length === 0) return [];
    // One JSON parameter: any number of seqs in one statement.
    return this.sql
      .exec<ChangeRow>(`SELECT * FROM changes WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq`, JSON.stringify(seqs))
      .toArray()
      .map((r) => this.toChange(r));
  }

  markSent(seqs: number[], at: number): void {
    if (seqs.length === 0) return;
    this.sql.exec(
      `UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE seq IN (SELECT value FROM json_each(?))`,
      at, JSON.stringify(seqs),
    );
  }

  /** Outbox rows in `fromSeq..toSeq` (a dead-letter replay): marked unsent, so the next drain sends them. How many. */
  unsendRange(fromSeq: number, toSeq: number): number {
    this.sql.exec(`UPDATE outbox SET sent_at = NULL WHERE seq BETWEEN ? AND ?`, fromSeq, toSeq);
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox WHERE seq BETWEEN ? AND ?`, fromSeq, toSeq).one().n;
  }

  /** A failed send: the rows are due again at the next drain; the wait of their next send does not grow. */
  markUnsent(seqs: number[]): void {
    if (seqs.length === 0) return;
    this.sql.exec(`UPDATE outbox SET sent_at = NULL WHERE seq IN (SELECT value FROM json_each(?))`, JSON.stringify(seqs));
  }

  indexProgress(): IndexProgress | null {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'index_progress'`).toArray()[0];
    return row ? (JSON.parse(row.value) as IndexProgress) : null;
  }

  setIndexProgress(progress: IndexProgress): void {
    this.sql.exec(
      `INSERT INTO meta (key, value) VALUES ('index_progress', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      JSON.stringify(progress),
    );
  }

  /**
   * The index has applied every change up to `watermark`: free those outbox
   * rows, and trim the log to the resume window (never below the outbox).
   */
  ackThrough(watermark: number): void {
    this.storage.transactionSync(() => {
      const freed = this.sql
        .exec<{ b: number }>(
          `SELECT COALESCE(SUM(length(CAST(c.data AS BLOB))), 0) AS b FROM outbox o JOIN changes c ON c.seq = o.seq WHERE o.seq <= ?`,
          watermark,
        )
        .one().b;
      if (freed > 0) this.addUnappliedBytes(-freed);
      this.sql.exec(`DELETE FROM outbox WHERE seq <= ?`, watermark);
    });
    const keepFrom = Math.min(watermark + 1, this.lastSeq() - RESUME_WINDOW + 1);
    this.sql.exec(`DELETE FROM changes WHERE seq < ?`, keepFrom);
  }

  /**
   * Garbage collection (engine/pipeline/gc.ts): drops the log's oldest
   * changes committed before `before` (ISO time), as a prefix of the log (so
   * `oldestRetainedSeq` still tells which resume tokens can be served) and
   * never an outbox row. How many went.
   */
  trimChangeLog(before: string): number {
    const keepFrom = this.sql
      .exec<{ s: number }>(
        `SELECT MIN(COALESCE((SELECT MIN(seq) FROM changes WHERE update_time >= ?), ?), COALESCE((SELECT MIN(seq) FROM outbox), ?)) AS s`,
        before, this.lastSeq() + 1, this.lastSeq() + 1,
      )
      .one().s;
    return this.sql.exec(`DELETE FROM changes WHERE seq < ?`, keepFrom).rowsWritten;
  }

  /**
   * How far the index is behind as this shard knows it: the outbox holds
   * every change not yet known applied, so it spans from its lowest seq to
   * the last commit. Two index lookups, cheap enough for every write.
   */
  indexLag(): { changes: number; bytes: number; oldestSeq: number | null } {
    const lo = this.oldestOutboxSeq();
    if (lo === null) return { changes: 0, bytes: 0, oldestSeq: null };
    return { changes: this.lastSeq() - lo + 1, bytes: this.unappliedBytes(), oldestSeq: lo };
  }

  /** The lowest seq in the outbox (the oldest change not known applied), or null when it is empty. */
  oldestOutboxSeq(): number | null {
    return this.sql.exec<{ lo: number | null }>(`SELECT MIN(seq) AS lo FROM outbox`).one().lo;
  }

  /**
   * Bytes of document data the outbox's changes hold in the change log, kept
   * as a running total (meta.unapplied_bytes): added at commit, taken off
   * when the index acknowledges, so the write path never sums the outbox.
   */
  unappliedBytes(): number {
    const row = this.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE key = 'unapplied_bytes'`).toArray()[0];
    return Math.max(0, Number(row?.value ?? 0));
  }

  private addUnappliedBytes(delta: number): void {
    this.sql.exec(
      `INSERT INTO meta (key, value) VALUES ('unapplied_bytes', MAX(0, ?)) ON CONFLICT(key) DO UPDATE SET value = MAX(0, value + ?)`,
      delta, delta,
    );
  }

  /** When the change after `seq` was committed (ms epoch), or null if none is logged. */
  committedAfter(seq: number): number | null {
    const row = this.sql.exec<{ t: string }>(`SELECT update_time AS t FROM changes WHERE seq > ? ORDER BY seq LIMIT 1`, seq).toArray()[0];
    return row ? Date.parse(row.t) : null;
  }

  outboxStats(): { count: number } {
    return { count: this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).one().n };
  }

  // ---- internals ---------------------------------------------------------

  /** Plans writes in order; later writes to the same path see earlier ones. */
  private planAll(writes: Write[], now: Date, guard?: WriteGuard): PlannedWrite[] {
    const overlay = new Map<string, StoredDoc | null>();
    return writes.map((w) => {
      const current = overlay.has(w.path) ? overlay.get(w.path)! : this.getDoc(w.path);
      const planned = planWrite(current, w, now, undefined, guard);
      overlay.set(w.path, afterPlanned(current, planned));
      return planned;
    });
  }

  private applyPlanned(planned: PlannedWrite[]): Committed {
    const before = this.lastSeq();
    let seq = before;
    const changes: Change[] = [];
    const results: WriteResult[] = [];
    const kept = new Map<string, DocumentData | null>();
    for (const p of planned) {
      if (p.op === "noop") {
        results.push({ path: p.path, version: p.version, updateTime: p.updateTime, token: `${this.shard}:${seq}` });
        continue;
      }
      if (this.keepBefore?.(p.path) && !kept.has(p.path)) {
        const old = this.getDoc(p.path);
        kept.set(p.path, old && !old.deleted ? old.data : null);
      }
      seq += 1;
      const data = p.op === "set" ? JSON.stringify(p.data) : null;
      const createTime = p.op === "set" ? p.createTime : null;
      this.sql.exec(
        `INSERT INTO docs (path, data, version, create_time, update_time, seq, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(path) DO UPDATE SET data = excluded.data, version = excluded.version,
           create_time = excluded.create_time, update_time = excluded.update_time, seq = excluded.seq, deleted = excluded.deleted`,
        p.path, data, p.version, createTime, p.updateTime, seq, p.op === "delete" ? 1 : 0,
      );
      this.sql.exec(
        `INSERT INTO changes (seq, path, op, version, data, create_time, update_time, existed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        seq, p.path, p.op, p.version, data, createTime, p.updateTime, p.existed ? 1 : 0,
      );
      this.sql.exec(`INSERT INTO outbox (seq) VALUES (?)`, seq);
      changes.push({
        shard: this.shard, seq, path: p.path, op: p.op, version: p.version, updateTime: p.updateTime, existed: p.existed,
        ...(p.op === "set" ? { data: p.data, createTime: p.createTime } : {}),
      });
      results.push({ path: p.path, version: p.version, updateTime: p.updateTime, token: `${this.shard}:${seq}` });
    }
    this.sql.exec(`INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, seq);
    // One statement per commit, over the rows it logged (bytes as SQLite counts them when they are freed).
    const added = this.sql
      .exec<{ b: number }>(`SELECT COALESCE(SUM(length(CAST(data AS BLOB))), 0) AS b FROM changes WHERE seq > ?`, before)
      .one().b;
    if (added > 0) this.addUnappliedBytes(added);
    return { changes, results, before: kept };
  }

  private recordOutcome(txnId: string, outcome: string, results: WriteResult[]): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO outcomes (txn_id, outcome, results, at) VALUES (?, ?, ?, ?)`,
      txnId, outcome, JSON.stringify(results), Date.now(),
    );
  }

  private toChange(r: ChangeRow): Change {
    return {
      shard: this.shard, seq: r.seq, path: r.path, op: r.op as Change["op"], version: r.version, updateTime: r.update_time,
      existed: r.existed === 1,
      ...(r.op === "set" ? { data: JSON.parse(r.data!) as DocumentData, createTime: r.create_time! } : {}),
    };
  }
}

function afterPlanned(current: StoredDoc | null, p: PlannedWrite): StoredDoc | null {
  if (p.op === "noop") return current;
  return {
    path: p.path,
    data: p.op === "set" ? p.data : null,
    version: p.version,
    createTime: p.op === "set" ? p.createTime : null,
    updateTime: p.updateTime,
    seq: current?.seq ?? 0,
    deleted: p.op === "delete",
  };
}

function toStoredDoc(r: DocRow): StoredDoc {
  return {
    path: r.path,
    data: r.data === null ? null : (JSON.parse(r.data) as DocumentData),
    version: r.version,
    createTime: r.create_time,
    updateTime: r.update_time,
    seq: r.seq,
    deleted: r.deleted === 1,
  };
}

export function toSnapshot(d: StoredDoc): DocumentSnapshot {
  return {
    path: d.path,
    id: d.path.slice(d.path.lastIndexOf("/") + 1),
    data: d.data ?? {},
    version: d.version,
    createTime: d.createTime ?? d.updateTime,
    updateTime: d.updateTime,
  };
}

/** A change as a listener's document snapshot (null for deletes). */
export function changeToSnapshot(c: Change): DocumentSnapshot | null {
  if (c.op === "delete" || !c.data) return null;
  return toSnapshot({
    path: c.path, data: c.data, version: c.version, createTime: c.createTime ?? c.updateTime,
    updateTime: c.updateTime, seq: c.seq, deleted: false,
  });
}
