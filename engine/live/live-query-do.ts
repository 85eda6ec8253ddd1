/**
 * A live query: one Durable Object per distinct canonical query, shared by
 * every listener of that query (design.md, "Live queries").
 *
 * First listener: the object registers the query in every index database
 * that holds its collection (table live_queries), then reads the result
 * with a strong read. From then on the consumer hands it every applied
 * change of the collection (engine/pipeline/live-notify.ts); LiveResult
 * (engine/core/query/live-result.ts) decides what each does to the result,
 * and the index is read again only to refill a limit window, to catch up
 * after the object was evicted, or on a timer as a safety net. Listeners
 * get the full result first, then only changes, ordered per document by
 * version. The last listener leaving removes the registration.
 *
 * Exactly-once per change, within what the index can say: a change the
 * first read already holds (its seq is applied in D1) or older than what
 * the object has seen of that document is skipped.
 */
import { DurableObject } from "cloudflare:workers";
import { BlazeError, toRpcResult, type RpcResult } from "../core/errors";
import { parseQuery } from "../core/query/ast";
import { project, type AggregateResult } from "../core/query/evaluate";
import { LiveResult, type LiveChange } from "../core/query/live-result";
import { normalizeQuery, type NormalizedQuery } from "../core/query/normalize";
import type { DocumentData } from "../core/values";
import type { Change, DocumentSnapshot } from "../core/writes";
import { runBatch } from "../index/d1";
import { addLiveMembers, documentVersions, registerLiveQuery, removeLiveMembers, unregisterLiveQuery } from "../index/live-registrations";
import { indexConfig } from "../index/load-config";
import { indexDatabases, indexShardOf, indexShardsFor, parseTopology } from "../index/routing";
import { isApplied, readAppliedStates, type AppliedState } from "../pipeline/watermarks";
import { runQuery, type QueryDeps } from "../query/executor";
import { routeLiveQuery, syncToken, unrouteLiveQuery } from "../shard/client";
import { shardCount } from "../shard/routing";
import { Connections } from "../sockets/connections";
import { errorMessage, parseClientMessage, ProtocolError, type ListenerId } from "../sockets/protocol";
import { formatToken } from "../core/tokens";

/** Documents a live query without a limit may hold; past it the listener is asked for a limit. */
export const MAX_LIVE_RESULT = 1000;
/** The safety net: a live query re-reads the index this often while it has listeners. */
export const LIVE_RESYNC_MS = 60_000;
/** A live query without listeners keeps its result this long, so a client that reconnects resumes. */
export const LIVE_IDLE_MS = 30_000;
/** Change messages a live query keeps for resuming listeners (and at most this many bytes of them). */
export const RESUME_LOG = 256;
const RESUME_LOG_BYTES = 1 << 20;
/** Versions remembered of documents outside the result, to drop late, older notifications. */
const SEEN_VERSIONS = 10_000;
/**
 * Notifications a live query queues while it works through earlier ones.
 * Past it, a notification is not queued: the object re-reads the index once,
 * after what is queued, and sends its listeners the difference (a fresh
 * state, as changes). So a live query that cannot keep up holds bounded
 * memory, and the consumer, which waits for each notification, waits for at
 * most this many ahead of it (and with it the index and every other live
 * query), not for an ever longer queue.
 */
export const MAX_PENDING_NOTIFICATIONS = 32;

/** Test hook, unset in production: awaited at the start of each queued notification of a live query (by key): a slow live query. */
export const liveQueryHooks: { beforeNotification: ((key: string) => Promise<void> | undefined) | null } = { beforeNotification: null };

export class LiveQueryDO extends DurableObject<Env> {
  private readonly sockets: Connections;
  private live: LiveResult | null = null;
  /** A live aggregate's last values (aggregate queries only). */
  private aggregates: AggregateResult | null = null;
  private nq: NormalizedQuery | null = null;
  /** What the first read held, per document shard. */
  private applied = new Map<number, AppliedState>();
  private readonly seen = new Map<string, number>();
  /** The documents D1 lists as this live query's result (live_members). */
  private members = new Set<string>();
  /** One update at a time: notifications, refills and resyncs apply in turn. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Notifications queued on `chain` (at most MAX_PENDING_NOTIFICATIONS). */
  private pending = 0;
  /** A queued re-read that stands for every notification turned away since it was queued. */
  private catchUp: Promise<void> | null = null;
  /**
   * Documents whose state in the result came by the direct path and that the
   * index may not hold yet: their absence from D1 is not a sign the result is stale.
   */
  private readonly ahead = new Set<string>();
  /**
   * Resume tokens of query listeners: `<epoch>:<n>` names the n-th change
   * message this object instance sent. The last RESUME_LOG messages are kept
   * in memory, so a listener that comes back (a reconnect) gets exactly what
   * it missed; a token of another instance (the object was evicted) or past
   * the log gets a fresh snapshot flagged `fresh`.
   */
  private epoch = newEpoch();
  private sent = 0;
  private readonly log: { n: number; changes: string }[] = [];
  private logBytes = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sockets = new Connections(ctx);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS listeners (socket_id TEXT NOT NULL, listener_id TEXT NOT NULL, PRIMARY KEY (socket_id, listener_id))`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS result (path TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
  }

  // ---- sockets (from the Worker's relay) ---------------------------------

  async fetch(request: Request): Promise<Response> {
    const key = request.headers.get("X-Blaze-Query-Key");
    if (!key) return new Response("missing query key", { status: 400 });
    this.ctx.storage.kv.put("key", key);
    const pair = new WebSocketPair();
    this.sockets.accept(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    let id: ListenerId | null = null;
    try {
      const msg = parseClientMessage(raw);
      id = msg.id;
      const socketId = this.sockets.idOf(ws)!;
      if (msg.op === "unlisten") {
        this.ctx.storage.sql.exec(`DELETE FROM listeners WHERE socket_id = ? AND listener_id = ?`, socketId, JSON.stringify(id));
        await this.teardownIfIdle();
        return;
      }
      if (!("query" in msg)) throw new BlazeError("INVALID_ARGUMENT", "this socket serves query listeners");
      await this.serialised(async () => {
        this.adopt(msg.query);
        await this.ensureLive();
        this.ctx.storage.sql.exec(`INSERT OR REPLACE INTO listeners (socket_id, listener_id) VALUES (?, ?)`, socketId, JSON.stringify(id));
        if (this.query().aggregate !== null) {
          this.sockets.sendText(ws, `{"id":${JSON.stringify(id)},"type":"aggregate","data":${JSON.stringify(this.aggregates)},"initial":true}`);
        } else {
          const missed = msg.resume === undefined ? null : this.missedSince(msg.resume);
          const token = `"resume":"${this.epoch}:${this.sent}"`;
          if (missed !== null) {
            this.sockets.sendText(ws, `{"id":${JSON.stringify(id)},"type":"snapshot","changes":${missed},${token}}`);
          } else {
            const changes = this.live!.current.map((doc, i): LiveChange => ({ type: "added", doc, oldIndex: -1, newIndex: i }));
            const fresh = msg.resume === undefined ? "" : `,"fresh":true`;
            this.sockets.sendText(ws, `{"id":${JSON.stringify(id)},"type":"snapshot","changes":${this.wire(changes)},"initial":true${fresh},${token}}`);
          }
        }
        await this.scheduleResync();
      });
    } catch (e) {
      if (e instanceof ProtocolError) this.sockets.send(ws, errorMessage(e.id, e.error));
      else {
        if (!(e instanceof BlazeError)) console.error("blaze live query: listen failed", e);
        this.sockets.send(ws, errorMessage(id, e));
      }
    }
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.forgetSocket(ws);
    this.sockets.close(ws, code, reason);
    await this.teardownIfIdle();
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.forgetSocket(ws);
    await this.teardownIfIdle();
  }

  // ---- changes (from the consumer) --------------------------------------

  /** Changes of the query's collection that the index has just applied. */
  async changes(key: string, changes: Change[]): Promise<RpcResult<void>> {
    // The index already holds these changes: a re-read queued after them
    // (and not yet started) brings them too.
    if (this.catchUp) return { ok: true, value: undefined };
    if (!this.ready() && this.listenerCount() > 0) {
      // Not queued behind the catch-up reads of listens and of the alarm
      // (strong reads: they wait for the index, which waits for this call;
      // listeners retrying kept the queue full, the kill -9 test stalled).
      return toRpcResult(() => this.catchUpFromAlarm());
    }
    if (this.pending >= MAX_PENDING_NOTIFICATIONS) {
      const catchUp = this.serialised(async () => {
        this.catchUp = null;
        if (this.listenerCount() > 0) await this.resync();
      });
      this.catchUp = catchUp;
      catchUp.catch((e) => console.error("blaze live query: catch-up read failed; the resync timer tries again", e));
      return { ok: true, value: undefined };
    }
    this.pending++;
    try {
      return await toRpcResult(() => this.serialised(() => this.apply(key, changes)));
    } finally {
      this.pending--;
    }
  }

  /**
   * Changes straight from a shard, right after its commit (the direct path,
   * engine/shard/live-routes.ts), before the index has them. Best effort:
   * applied only when they need nothing from the index; otherwise, or when
   * this object is busy or not ready, dropped, since the consumer brings
   * the same changes once the index holds them.
   */
  async direct(key: string, changes: Change[], gap = false): Promise<void> {
    // The shard dropped changes for this query (a send failed, or too many waited): read again soon.
    if (gap && this.live) await this.catchUpFromAlarm();
    if (!this.live || this.catchUp || this.pending >= MAX_PENDING_NOTIFICATIONS || this.key() !== key) return;
    this.pending++;
    try {
      await this.serialised(async () => {
        const live = this.live;
        if (!live) return;
        const out: LiveChange[] = [];
        for (const c of changes) {
          if (isApplied(this.applied.get(c.shard) ?? { watermark: 0, above: [] }, c.seq, c.seq)) continue;
          if (c.version <= (live.versionOf(c.path) ?? this.seen.get(c.path) ?? 0)) continue;
          const applied = live.tryApply(c.path, c.op === "delete" ? null : toSnapshot(c));
          if (applied === null) continue; // a limit window would be left short: the consumer's turn
          this.remember(c.path, c.version);
          this.noteAhead(c.path);
          out.push(...applied);
        }
        await this.publish(out);
      });
    } catch (e) {
      console.error("blaze live query: a direct change failed; the consumer brings it", e);
    } finally {
      this.pending--;
    }
  }

  private async apply(key: string, changes: Change[]): Promise<void> {
    await liveQueryHooks.beforeNotification?.(key);
    if (this.listenerCount() === 0 && !this.ready()) {
      // A registration left behind (the object was reset): remove it.
      await this.unregister(key);
      return;
    }
    if (!this.ready()) return this.catchUpFromAlarm();
    if (this.query().aggregate !== null) {
      // The index already holds these changes: one aggregate statement
      // gives the new values (see docs/live.md for why not per change).
      this.commitAggregates(await this.readAggregates(false));
      return;
    }
    if (changes.some((c) => c.repair)) {
      // A repaired gap: its seq counted as applied when this result was
      // read, so the seq boundary cannot tell; read the query again.
      await this.publish(this.live!.reset(await this.read()));
      return;
    }
    const out: LiveChange[] = [];
    let refill = false;
    for (const c of changes) {
      if (isApplied(this.applied.get(c.shard) ?? { watermark: 0, above: [] }, c.seq, c.seq)) continue;
      const known = this.live!.versionOf(c.path) ?? this.seen.get(c.path) ?? 0;
      // The index now holds this document at least as far as the direct path brought it.
      if (c.version >= known) this.ahead.delete(c.path);
      if (c.version <= known) continue;
      this.remember(c.path, c.version);
      const r = this.live!.apply(c.path, c.op === "delete" ? null : toSnapshot(c));
      out.push(...r.changes);
      refill ||= r.refill;
    }
    if (refill) out.push(...this.live!.reset(await this.read()));
    await this.publish(out);
  }

  /**
   * Evicted (a restart): catching up is a strong read, which waits for the
   * index, which waits for the consumer call that brought these changes
   * (kill -9 test: the index stalled). The alarm catches up instead, after
   * whatever is queued; the index already holds the changes, so its read has them.
   */
  private catchUpFromAlarm(): Promise<void> {
    return this.ctx.storage.setAlarm(Date.now());
  }

  async alarm(): Promise<void> {
    if (this.listenerCount() === 0) return this.teardown();
    await this.serialised(() => this.resync());
    // Renews the shards' leases (and re-registers with a shard that lost it).
    if (this.ready()) await this.routeDirect().catch((e) => console.error("blaze live query: could not renew the direct path", e));
    await this.scheduleResync();
  }

  /** Reads the query again and sends listeners what differs from what they have. */
  private async resync(): Promise<void> {
    if (!this.ready()) return this.ensureLive();
    if (!this.live) return this.commitAggregates(await this.readAggregates(true));
    await this.readApplied();
    const fresh = await this.read();
    // A strong read holds everything committed before it: nothing is ahead of the index now.
    this.ahead.clear();
    await this.publish(this.live.reset(fresh));
  }

  /**
   * Before a read of the result: anything the index lists as applied is in
   * the result read after it, so a late notification of it is skipped.
   */
  private async readApplied(): Promise<void> {
    const shards = Array.from({ length: shardCount(this.env) }, (_, i) => i);
    this.applied = await readAppliedStates(this.deps().meta, shards);
  }

  // ---- internals -----------------------------------------------------------

  private serialised<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f, f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The query body this object serves; stored on the first listen. */
  private adopt(body: unknown): void {
    if (this.ctx.storage.kv.get("query") === undefined) this.ctx.storage.kv.put("query", JSON.stringify(body));
  }

  private query(): NormalizedQuery {
    if (this.nq) return this.nq;
    const raw = this.ctx.storage.kv.get<string>("query");
    if (raw === undefined) throw new BlazeError("FAILED_PRECONDITION", "this live query has no query yet");
    this.nq = normalizeQuery(parseQuery(JSON.parse(raw)));
    return this.nq;
  }

  /**
   * The result in memory: registered, read, and (after an eviction) the
   * listeners brought from what they last got to what the index holds now.
   */
  private async ensureLive(): Promise<void> {
    if (this.ready()) return;
    const nq = this.query();
    await this.register();
    if (nq.aggregate !== null) {
      this.aggregates = this.ctx.storage.kv.get<AggregateResult>("aggregates") ?? null;
      this.commitAggregates(await this.readAggregates(true));
      return;
    }
    await this.readApplied();
    const fresh = await this.read();
    const live = new LiveResult(nq);
    const before = this.ctx.storage.sql.exec<{ doc: string }>(`SELECT doc FROM result`).toArray().map((r) => JSON.parse(r.doc) as DocumentSnapshot);
    live.reset(before);
    this.live = live;
    // What the persisted result holds is what D1 lists as members.
    this.members = new Set(before.map((d) => d.path));
    await this.publish(live.reset(fresh));
  }

  /**
   * Sends the changes, then brings the result's member list in D1 in line.
   * A document that entered is listed first and its version read in the
   * same batch: a later change will be sent here (it is listed), and an
   * earlier one the listing missed shows as a newer version, which makes
   * the result read again.
   */
  private async publish(changes: LiveChange[]): Promise<void> {
    this.commitResult(changes);
    for (let round = 0; round < 3 && this.live; round++) {
      if (!(await this.syncMembers())) return;
      this.commitResult(this.live.reset(await this.read()));
    }
  }

  /** Lists and unlists members in D1; true if a listed document has moved on since the result saw it. */
  private async syncMembers(): Promise<boolean> {
    const live = this.live!;
    const current = new Set(live.current.map((d) => d.path));
    const added = [...current].filter((p) => !this.members.has(p));
    const removed = [...this.members].filter((p) => !current.has(p));
    if (added.length === 0 && removed.length === 0) return false;
    const { dbs, topology } = this.deps();
    const key = this.key();
    const collectionId = this.query().scope.collectionId;
    const byDb = new Map<number, { add: string[]; remove: string[] }>();
    const slot = (path: string) => {
      const i = indexShardOf(topology, collectionId, path);
      const s = byDb.get(i) ?? { add: [], remove: [] };
      byDb.set(i, s);
      return s;
    };
    for (const p of added) slot(p).add.push(p);
    for (const p of removed) slot(p).remove.push(p);
    let stale = false;
    await Promise.all(
      [...byDb].map(async ([i, { add, remove }]) => {
        const statements = [
          ...(remove.length ? [removeLiveMembers(key, remove)] : []),
          ...(add.length ? [addLiveMembers(key, add), documentVersions(add)] : []),
        ];
        const out = await runBatch<{ path: string; version: number }>(dbs[i], statements);
        if (!add.length) return;
        const versions = new Map(out[out.length - 1].map((r) => [r.path, r.version]));
        for (const p of add) {
          const indexed = versions.get(p);
          // Missing from the index, or newer there: the result is stale, unless the direct path
          // brought the document, which then also brings its later versions, in order.
          if ((indexed === undefined || indexed > (live.versionOf(p) ?? 0)) && !this.ahead.has(p)) stale = true;
        }
      }),
    );
    this.members = current;
    return stale;
  }

  /** The query's answer from the index, strongly consistent, whole documents. */
  private async read(): Promise<DocumentSnapshot[]> {
    const nq = this.query();
    const limit = nq.limit ?? { count: MAX_LIVE_RESULT + 1, last: false };
    const token = await syncToken(this.env);
    const result = await runQuery(this.deps(), {
      ...nq,
      select: null,
      aggregate: null,
      limit,
      after: token.size > 0 ? formatToken(token) : null,
      consistency: "eventual",
      explain: false,
    });
    if (!nq.limit && result.docs.length > MAX_LIVE_RESULT) {
      throw new BlazeError("RESOURCE_EXHAUSTED", `a live query without a limit may hold at most ${MAX_LIVE_RESULT} documents; add a limit`, {
        limit: MAX_LIVE_RESULT,
      });
    }
    return result.docs;
  }

  private ready(): boolean {
    return this.live !== null || (this.nq?.aggregate != null && this.aggregates !== null);
  }

  /** The aggregates from the index; `strong`: first wait for every acknowledged write. */
  private async readAggregates(strong: boolean): Promise<AggregateResult> {
    const token = strong ? await syncToken(this.env) : new Map();
    const result = await runQuery(this.deps(), {
      ...this.query(),
      after: token.size > 0 ? formatToken(token) : null,
      consistency: "eventual",
      explain: false,
    });
    return result.aggregates ?? {};
  }

  /** Keeps the new values and sends them to every listener when they changed. */
  private commitAggregates(next: AggregateResult): void {
    const text = JSON.stringify(next);
    if (this.aggregates !== null && JSON.stringify(this.aggregates) === text) return;
    const first = this.aggregates === null;
    this.aggregates = next;
    this.ctx.storage.kv.put("aggregates", next);
    if (first && this.listenerCount() === 0) return;
    this.broadcast(`,"type":"aggregate","data":${text}}`);
  }

  /** Sends one message, serialised once, to every listener; drops those that cannot take it. */
  private broadcast(tail: string): void {
    const sqlStore = this.ctx.storage.sql;
    for (const r of sqlStore.exec<{ socket_id: string; listener_id: string }>(`SELECT socket_id, listener_id FROM listeners`).toArray()) {
      const ws = this.sockets.byId(r.socket_id);
      if (!ws || !this.sockets.sendText(ws, `{"id":${r.listener_id}${tail}`)) {
        sqlStore.exec(`DELETE FROM listeners WHERE socket_id = ?`, r.socket_id);
        if (ws) this.sockets.close(ws, 1011, "could not deliver a change; listen again");
      }
    }
  }

  /** Saves the result and sends the changes to every listener, serialised once. */
  private commitResult(changes: LiveChange[]): void {
    if (changes.length === 0) return;
    const sqlStore = this.ctx.storage.sql;
    for (const c of changes) {
      if (c.newIndex < 0) sqlStore.exec(`DELETE FROM result WHERE path = ?`, c.doc.path);
      else sqlStore.exec(`INSERT OR REPLACE INTO result (path, doc) VALUES (?, ?)`, c.doc.path, JSON.stringify(c.doc));
    }
    const wire = this.wire(changes);
    this.sent++;
    this.log.push({ n: this.sent, changes: wire });
    this.logBytes += wire.length;
    while (this.log.length > RESUME_LOG || this.logBytes > RESUME_LOG_BYTES) this.logBytes -= this.log.shift()!.changes.length;
    this.broadcast(`,"type":"snapshot","changes":${wire},"resume":"${this.epoch}:${this.sent}"}`);
  }

  /** The changes sent after `token`, as one JSON array; null when this instance cannot tell (a fresh snapshot then). */
  private missedSince(token: string): string | null {
    const [epoch, n] = token.split(":");
    const after = Number(n);
    if (epoch !== this.epoch || !Number.isInteger(after) || after < 0 || after > this.sent) return null;
    if (after === this.sent) return "[]";
    if (this.log.length === 0 || this.log[0].n > after + 1) return null;
    const parts = this.log.filter((e) => e.n > after).map((e) => e.changes.slice(1, -1)).filter((p) => p.length > 0);
    return `[${parts.join(",")}]`;
  }

  /** Changes as listeners see them: the select mask applied, removed documents by name. */
  private wire(changes: LiveChange[]): string {
    const select = this.query().select;
    return JSON.stringify(
      changes.map((c) => ({
        type: c.type,
        doc: c.type === "removed" ? { path: c.doc.path, id: c.doc.id } : select ? { ...c.doc, data: project(c.doc.data, select) } : c.doc,
        oldIndex: c.oldIndex,
        newIndex: c.newIndex,
      })),
    );
  }

  private noteAhead(path: string): void {
    this.ahead.delete(path);
    this.ahead.add(path);
    if (this.ahead.size > SEEN_VERSIONS) this.ahead.delete(this.ahead.values().next().value!);
  }

  private remember(path: string, version: number): void {
    this.seen.delete(path);
    this.seen.set(path, version);
    if (this.seen.size > SEEN_VERSIONS) this.seen.delete(this.seen.keys().next().value!);
  }

  private deps(): QueryDeps {
    const topology = parseTopology(this.env);
    const dbs = indexDatabases(this.env as unknown as Record<string, unknown>, topology);
    return { dbs, topology, config: indexConfig, meta: dbs[0], shardCount: shardCount(this.env) };
  }

  private databasesOfQuery(): D1Database[] {
    const { dbs, topology } = this.deps();
    return indexShardsFor(topology, this.query().scope.collectionId).map((i) => dbs[i]);
  }

  private key(): string {
    return this.ctx.storage.kv.get<string>("key") ?? "";
  }

  private async register(): Promise<void> {
    const now = new Date().toISOString();
    const key = this.key();
    const body = this.ctx.storage.kv.get<string>("query") ?? "null";
    await Promise.all(this.databasesOfQuery().map((db) => runBatch(db, [registerLiveQuery(key, this.query().scope.collectionId, body, now)])));
    await this.routeDirect();
  }

  /**
   * Asks every shard for its commits at once (a lease, renewed by the resync
   * alarm). Aggregates are recomputed from the index, so they do not ask.
   * Registered before the first read: nothing committed after the read
   * waits for the consumer.
   */
  private async routeDirect(): Promise<void> {
    if (this.query().aggregate !== null) return;
    await routeLiveQuery(this.env, this.key(), this.query().scope.collectionId, this.ctx.storage.kv.get<string>("query") ?? "null");
  }

  private async unregister(key: string): Promise<void> {
    const { dbs } = this.deps();
    await Promise.all([...dbs.map((db) => runBatch(db, unregisterLiveQuery(key))), unrouteLiveQuery(this.env, key)]);
    this.members.clear();
    this.ahead.clear();
  }

  private listenerCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM listeners`).one().n;
  }

  private forgetSocket(ws: WebSocket): void {
    const id = this.sockets.idOf(ws);
    if (id) this.ctx.storage.sql.exec(`DELETE FROM listeners WHERE socket_id = ?`, id);
  }

  /**
   * The last listener left: the object stays live for LIVE_IDLE_MS (a client
   * that reconnects resumes from its token), then its alarm tears it down.
   */
  private async teardownIfIdle(): Promise<void> {
    if (this.listenerCount() > 0) return;
    await this.ctx.storage.setAlarm(Date.now() + LIVE_IDLE_MS);
  }

  /** The registration goes, and so does the state. */
  private async teardown(): Promise<void> {
    await this.serialised(async () => {
      if (this.listenerCount() > 0) return;
      this.epoch = newEpoch();
      this.sent = 0;
      this.log.length = 0;
      this.logBytes = 0;
      const key = this.key();
      if (key) await this.unregister(key);
      this.ctx.storage.sql.exec(`DELETE FROM result`);
      this.ctx.storage.kv.delete("query");
      this.ctx.storage.kv.delete("aggregates");
      this.aggregates = null;
      await this.ctx.storage.deleteAlarm();
      this.live = null;
      this.nq = null;
      this.seen.clear();
    });
  }

  private async scheduleResync(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + LIVE_RESYNC_MS);
  }
}

/** Names one lifetime of a live query's result, so a resume token of another cannot be taken for one of this. */
const newEpoch = () => crypto.randomUUID().slice(0, 8);

function toSnapshot(c: Change): DocumentSnapshot {
  return {
    path: c.path,
    id: c.path.slice(c.path.lastIndexOf("/") + 1),
    data: (c.data ?? {}) as DocumentData,
    version: c.version,
    createTime: c.createTime ?? c.updateTime,
    updateTime: c.updateTime,
  };
}
