/**
 * The shard Durable Object: the source of truth for the documents whose path
 * hashes to it. A thin adapter: storage lives in DocStore, the outbox drain in
 * pipeline/drain, two-phase commit in Coordinator, listeners in DocListeners.
 *
 * RPC methods take the shard number, since a Durable Object does not know the
 * name it was addressed by; the first call records it.
 */
import { ANONYMOUS, type AuthContext } from "../core/auth";
import { projectRules } from "../auth/load-rules";
import { writeGuard } from "./write-rules";
import { DurableObject } from "cloudflare:workers";
import { BlazeError, toRpcResult, unwrap, type RpcResult } from "../core/errors";
import { LIMITS } from "../core/limits";
import type { Change, DocumentSnapshot, Write, WriteResult } from "../core/writes";
import { absorbApplied, drainOutbox, noteApplied } from "../pipeline/drain";
import type { ChangeMessage } from "../pipeline/messages";
import { readAppliedState } from "../pipeline/watermarks";
import { Connections } from "../sockets/connections";
import { Coordinator, type BatchOutcome, type Participant, type ShardWrites } from "./coordinator";
import { DocListeners } from "./doc-listeners";
import { FlowControl, flowTargetMs } from "./flow-control";
import { DocStore, type Committed, type KeyedCommit, type PreparedResult } from "./doc-store";
import type { DocsPage } from "../index/verify";
import { hasLiveRoutes, LiveRoutes, sendDirect } from "./live-routes";
import { OneAtATime, type Idempotency } from "./idempotency";
import { metaDatabase } from "../index/routing";
import { AUTH_HEADER, shardCount, shardOf, shardStub, type ShardStatus } from "./routing";

/** Test hooks: make the next N calls of a step fail, as a crash would. */
export interface Faults {
  failQueueSend: number;
  failPrepare: number;
  failCommit: number;
  /** The alarm handler throws before doing anything, as a crash would (the runtime retries it). */
  failAlarm: number;
  /** Replaces OUTBOX_RESEND_MS for this object (tests of the resend rule). */
  resendAfterMs: number | null;
  /** Replace LIMITS.maxUnappliedChangesPerShard and maxUnappliedBytesPerShard for this object (tests of the bound). */
  maxUnapplied: number | null;
  maxUnappliedBytes: number | null;
  /** Replaces INDEX_FLOW_CONTROL_MS for this object (tests of flow control; 0: off). */
  flowTargetMs: number | null;
  /** Replaces LIMITS.idempotencyWindowMs for this object (tests of key expiry). */
  idempotencyWindowMs: number | null;
  /**
   * Restart the object once, right after a durable commit and before the
   * answer: "commit" after a write or batch, "commit-point" when a
   * multi-shard batch this object coordinates reaches its commit point.
   */
  restartAt: "commit" | "commit-point" | null;
}

/** Changes this object has sent to the queue since it started, first sends and resends apart. */
export interface OutboxCounters {
  sent: number;
  resent: number;
}

const HOUR = 3_600_000;
/** Document data per verifier page: well within an RPC's size limit (32 MiB). */
const VERIFY_PAGE_BYTES = 8 * 1024 * 1024;
/**
 * A busy shard (writes arriving closer together than this, on average) drains
 * at most this often, so each queue message carries several changes: queue
 * messages and consumer runs cost far more than the changes in them. An idle
 * shard drains at once, keeping index lag low when writes are paced.
 */
const DRAIN_COALESCE_MS = 200;
/** The retry delay a write refused by INDEX_LAG_LIMIT is told to wait. */
const INDEX_LAG_RETRY_MS = 1000;


export class ShardDO extends DurableObject<Env> {
  private store: DocStore | null = null;
  private listenersCache: DocListeners | null = null;
  /** Live queries served by the direct path; created on the first registration or, after a restart, with the store. */
  private routes: LiveRoutes | null = null;
  private readonly sockets: Connections;
  private sendFailures = 0;
  /** The alarm as set in storage (ms epoch), read once at start-up. */
  private alarmAt: number | null = null;
  private draining: Promise<number | null> | null = null;
  /** Paces writes while the index is far behind (./flow-control.ts). */
  private readonly flow = new FlowControl({
    targetMs: () => this.faults.flowTargetMs ?? flowTargetMs(this.env.INDEX_FLOW_CONTROL_MS),
    sendsFailing: () => this.sendFailures > 0,
    refresh: async () => {
      const store = this.store;
      if (store) absorbApplied(store, await readAppliedState(metaDatabase(this.env), store.shard), Date.now());
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
  });
  private drainAgain = false;
  /** Ends a drain's coalescing wait early (a strong read is waiting). */
  private wakeDrain: (() => void) | null = null;
  private lastDrainAt = 0;
  /** Moving average of the time between commits, to tell a busy shard from an idle one. */
  private commitGapMs = Number.POSITIVE_INFINITY;
  private lastCommitAt = 0;
  /** Keyed batches this object is coordinating now. */
  private readonly keyedBatches = new OneAtATime<BatchOutcome>();
  readonly faults: Faults = { failQueueSend: 0, failPrepare: 0, failCommit: 0, failAlarm: 0, resendAfterMs: null, maxUnapplied: null, maxUnappliedBytes: null, flowTargetMs: null, idempotencyWindowMs: null, restartAt: null };
  readonly outboxCounters: OutboxCounters = { sent: 0, resent: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sockets = new Connections(ctx);
    const known = ctx.storage.kv.get<number>("shard");
    if (typeof known === "number") this.openStore(known);
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---- documents ---------------------------------------------------------

  async get(shard: number, path: string): Promise<RpcResult<DocumentSnapshot | null>> {
    return this.rpc(shard, async (store) => {
      await this.resolveLocks([path], "read");
      return store.snapshot(path);
    });
  }

  /** Applies writes that all belong to this shard, atomically; a repeat of a key answers its first outcome. The rules judge each write as `auth`. */
  async commit(shard: number, writes: Write[], auth: AuthContext, idem?: Idempotency): Promise<RpcResult<WriteResult[]>> {
    return this.rpc(shard, async (store) => {
      const keyed = this.keyed(idem);
      const prior = keyed && store.keys.find<WriteResult[]>(keyed.idem, keyed.notBefore);
      if (prior) return prior;
      this.checkIndexLag(store);
      await this.flow.pace(store);
      await this.resolveLocks(writes.map((w) => w.path), "write");
      // Again after the waits: other writes may have committed meanwhile, and the bounds must hold.
      this.checkIndexLag(store);
      const committed = store.commit(writes, new Date(), writeGuard(projectRules, auth), keyed);
      this.afterCommit(committed);
      await this.injectRestart("commit");
      return committed.results;
    });
  }

  /** The current state of a document as a change, for the consumer's by-reference fetch. */
  async fetchChange(shard: number, path: string): Promise<RpcResult<Change>> {
    return this.rpc(shard, async (store) => {
      const d = store.getDoc(path);
      if (!d) throw new BlazeError("NOT_FOUND", `shard ${shard} has no record of ${path}`);
      return {
        shard, seq: d.seq, path, op: d.deleted ? "delete" : "set", version: d.version, updateTime: d.updateTime, existed: true,
        ...(d.deleted ? {} : { data: d.data!, createTime: d.createTime ?? d.updateTime }),
      };
    });
  }

  /** A page of documents in path order, for the index verifier (DocStore.docsPage). */
  async docsPage(shard: number, after: string, limit: number, collectionId?: string): Promise<RpcResult<DocsPage>> {
    return this.rpc(shard, async (store) => store.docsPage(after, limit, VERIFY_PAGE_BYTES, collectionId));
  }

  /**
   * A dead-letter replay: sends the outbox rows in `fromSeq..toSeq` again now
   * (those the index still lacks; applied ones are gone from the outbox).
   * Answers how many there were.
   */
  async resendRange(shard: number, fromSeq: number, toSeq: number): Promise<RpcResult<number>> {
    return this.rpc(shard, async (store) => {
      const n = store.unsendRange(fromSeq, toSeq);
      if (n > 0) {
        const nextAt = await this.drain();
        if (nextAt !== null) this.scheduleAlarm(nextAt);
      }
      return n;
    });
  }

  /**
   * Garbage collection (engine/pipeline/gc.ts): frees the outbox rows the
   * index has applied (read from D1, as a drain does), then drops change-log
   * rows committed before `before` (ms epoch). How many log rows went.
   */
  async trimLog(shard: number, before: number): Promise<RpcResult<number>> {
    return this.rpc(shard, async (store) => {
      const applied = await readAppliedState(metaDatabase(this.env), store.shard);
      noteApplied(store, applied.watermark, Date.now());
      return store.trimChangeLog(new Date(before).toISOString());
    });
  }

  /** The consumer applied everything up to `watermark`: free outbox rows. */
  async acked(shard: number, watermark: number): Promise<RpcResult<void>> {
    return this.rpc(shard, async (store) => noteApplied(store, watermark, Date.now()));
  }

  async lastSeq(shard: number): Promise<RpcResult<number>> {
    return this.rpc(shard, async (store) => store.lastSeq());
  }

  /**
   * A strong read's sync point: the last committed seq. A drain waiting out
   * its coalescing window goes at once, since a reader now waits for it.
   */
  /**
   * For GET /v1/status: the head seq, the outbox, and when the first change
   * after the index's `watermark` (read from D1 by the caller) was committed.
   */
  async status(shard: number, watermark: number): Promise<RpcResult<ShardStatus>> {
    return this.rpc(shard, async (store) => ({
      headSeq: store.lastSeq(),
      outboxDepth: store.outboxStats().count,
      oldestUnappliedAt: store.committedAfter(watermark),
    }));
  }

  async syncPoint(shard: number): Promise<RpcResult<number>> {
    return this.rpc(shard, async (store) => {
      this.wakeDrain?.();
      return store.lastSeq();
    });
  }

  // ---- multi-shard batches (two-phase commit) ---------------------------

  async runBatch(shard: number, txnId: string, groups: ShardWrites[], auth: AuthContext, idem?: Idempotency): Promise<RpcResult<BatchOutcome>> {
    return this.rpc(shard, async () => {
      try {
        // A repeat of a keyed batch still running here waits for it (its
        // prepare would meet the first one's locks), then is answered from its record.
        const outcome = await this.keyedBatches.run(idem?.key, () => this.coordinator().run(txnId, shard, groups, Date.now(), auth, this.keyed(idem)));
        await this.injectRestart("commit");
        return outcome;
      } finally {
        this.scheduleAlarm(Date.now() + 1000);
      }
    });
  }

  async prepare(shard: number, txnId: string, coordinator: number, writes: Write[], auth: AuthContext): Promise<RpcResult<PreparedResult[]>> {
    return this.rpc(shard, async (store) => {
      if (this.faults.failPrepare > 0) {
        this.faults.failPrepare--;
        throw new Error("injected fault: prepare");
      }
      this.checkIndexLag(store);
      // Each participant paces before it takes its locks (at most FLOW_MAX_WAIT_MS, under the prepare timeout).
      await this.flow.pace(store);
      this.checkIndexLag(store);
      const planned = store.prepare(txnId, coordinator, writes, new Date(), writeGuard(projectRules, auth));
      this.scheduleAlarm(Date.now() + this.prepareTimeoutMs());
      return planned;
    });
  }

  async commitPrepared(shard: number, txnId: string): Promise<RpcResult<WriteResult[]>> {
    return this.rpc(shard, async (store) => {
      if (this.faults.failCommit > 0) {
        this.faults.failCommit--;
        throw new Error("injected fault: commit");
      }
      const committed = store.commitPrepared(txnId);
      // Nothing prepared and no outcome kept: only the coordinator's redrive of
      // a committed batch asks this, long after this shard applied it (lock
      // resolution) and pruned the outcome. Nothing is left to do.
      if (!committed) return [];
      this.afterCommit(committed);
      return committed.results;
    });
  }

  async abortPrepared(shard: number, txnId: string): Promise<RpcResult<void>> {
    return this.rpc(shard, async (store) => store.abortPrepared(txnId));
  }

  async decide(shard: number, txnId: string): Promise<RpcResult<"committed" | "aborted" | "pending">> {
    return this.rpc(shard, async () => this.coordinator().decide(txnId, Date.now(), this.prepareTimeoutMs()));
  }

  // ---- WebSocket document listeners -------------------------------------

  async fetch(request: Request): Promise<Response> {
    const shard = Number(request.headers.get("X-Blaze-Shard"));
    this.storeFor(shard);
    const auth = request.headers.get(AUTH_HEADER);
    const pair = new WebSocketPair();
    this.sockets.accept(pair[1], auth ? (JSON.parse(auth) as AuthContext) : ANONYMOUS);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.listeners()?.onMessage(ws, message);
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const id = this.sockets.idOf(ws);
    if (id) this.listeners()?.forgetSocket(id);
    this.sockets.close(ws, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    const id = this.sockets.idOf(ws);
    if (id) this.listeners()?.forgetSocket(id);
  }

  // ---- alarm: outbox drain, transaction recovery ------------------------

  async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.faults.failAlarm > 0) {
      this.faults.failAlarm--;
      throw new Error("injected fault: alarm");
    }
    const store = this.store;
    if (!store) return;
    const now = Date.now();
    const next: number[] = [];

    const drainNext = await this.drain();
    if (drainNext !== null) next.push(drainNext);

    for (const lock of store.stalePrepared(now - this.prepareTimeoutMs())) {
      await this.resolveTxn(lock.txnId, lock.coordinator).catch(() => undefined);
    }
    if (store.hasPrepared()) next.push(now + this.prepareTimeoutMs());
    if (await this.coordinator().redrive(now, this.prepareTimeoutMs())) next.push(now + 1000);
    store.pruneOutcomes(now - HOUR);
    store.keys.prune(now - this.idempotencyWindowMs(), LIMITS.idempotencyKeysPerShard);
    this.coordinator().prune(now - HOUR);

    if (next.length > 0) this.scheduleAlarm(Math.max(Math.min(...next), now));
  }

  /**
   * Drains the outbox; one drain at a time. Writes that commit while a drain
   * is sending make it go round once more, so under load one message carries
   * many changes. Returns when the outbox needs the next look (or null).
   */
  private drain(): Promise<number | null> {
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = (async () => {
      const busy = this.commitGapMs < DRAIN_COALESCE_MS;
      const wait = busy ? this.lastDrainAt + DRAIN_COALESCE_MS - Date.now() : 0;
      if (wait > 0) {
        await new Promise<void>((r) => {
          this.wakeDrain = r;
          setTimeout(r, wait);
        });
        this.wakeDrain = null;
      }
      let nextAt: number | null;
      do {
        this.drainAgain = false;
        nextAt = await this.drainOnce();
      } while (this.drainAgain);
      return nextAt;
    })().finally(() => {
      this.draining = null;
      this.lastDrainAt = Date.now();
    });
    return this.draining;
  }

  private async drainOnce(): Promise<number | null> {
    const store = this.store!;
    const now = Date.now();
    const drained = await drainOutbox(store, {
      queue: this.queue(),
      readApplied: () => readAppliedState(metaDatabase(this.env), store.shard).catch(() => null),
      now,
      resendAfterMs: this.resendAfterMs(),
    });
    this.outboxCounters.sent += drained.sent;
    this.outboxCounters.resent += drained.resent;
    if (drained.failed > 0) {
      this.sendFailures++;
      return now + Math.min(100 * 2 ** this.sendFailures, 60_000);
    }
    this.sendFailures = 0;
    return drained.nextAt;
  }

  // ---- the direct path to live queries -----------------------------------

  /** A live query asks for this shard's commits at once (a lease; engine/shard/live-routes.ts). False: full. */
  async routeLive(shard: number, queryKey: string, collectionId: string, query: string): Promise<RpcResult<boolean>> {
    return this.rpc(shard, async () => this.liveRoutes().register(queryKey, collectionId, query, Date.now()));
  }

  async unrouteLive(shard: number, queryKey: string): Promise<RpcResult<void>> {
    return this.rpc(shard, async () => this.liveRoutes().unregister(queryKey));
  }

  private openStore(shard: number): DocStore {
    this.store = new DocStore(this.ctx.storage, shard);
    // Routes registered before a restart are served at once, not from their next renewal.
    if (hasLiveRoutes(this.ctx.storage.sql)) this.liveRoutes();
    return this.store;
  }

  private liveRoutes(): LiveRoutes {
    if (!this.routes) {
      const store = this.store!;
      this.routes = new LiveRoutes(this.ctx.storage.sql, (key, changes, gap) => sendDirect(this.env, key, changes, gap), (p) => this.ctx.waitUntil(p));
      const routes = this.routes;
      store.keepBefore = (path) => routes.wants(path);
    }
    return this.routes;
  }

  // ---- internals ---------------------------------------------------------

  private afterCommit({ changes, before }: Pick<Committed, "changes" | "before">): void {
    if (changes.length === 0) return;
    const now = Date.now();
    const gap = this.lastCommitAt ? now - this.lastCommitAt : Number.POSITIVE_INFINITY;
    this.commitGapMs = Number.isFinite(this.commitGapMs) ? 0.8 * this.commitGapMs + 0.2 * gap : gap;
    this.lastCommitAt = now;
    this.listeners()?.broadcast(changes);
    this.routes?.dispatch(changes, before, now);
    // A durable alarm first, set in the same turn as the commit (so the
    // runtime confirms both before the client hears of the write): if the
    // object dies before the drain below, the alarm drains after a restart.
    this.scheduleAlarm(Date.now() + this.resendAfterMs());
    // Then drain right away in the background.
    this.drain()
      .then((nextAt) => nextAt !== null && this.scheduleAlarm(nextAt))
      .catch((e) => console.error(`blaze shard ${this.store?.shard}: drain failed`, e));
  }

  /**
   * Backpressure: a write to a shard whose changes the index is further
   * behind than INDEX_LAG_LIMIT (off unless set) is refused with
   * RESOURCE_EXHAUSTED and a retry delay, so an import is paced by the index
   * instead of outrunning it. LIMITS.maxUnappliedChangesPerShard and
   * maxUnappliedBytesPerShard always apply: they bound the outbox and the
   * change log (in rows and in bytes) while the index is stuck.
   */
  private checkIndexLag(store: DocStore): void {
    const configured = Number(this.env.INDEX_LAG_LIMIT ?? 0);
    const hard = this.faults.maxUnapplied ?? LIMITS.maxUnappliedChangesPerShard;
    const limit = configured > 0 ? Math.min(configured, hard) : hard;
    const { changes: lag, bytes } = store.indexLag();
    const maxBytes = this.faults.maxUnappliedBytes ?? LIMITS.maxUnappliedBytesPerShard;
    if (bytes > maxBytes) {
      throw new BlazeError(
        "RESOURCE_EXHAUSTED",
        `the index has not applied ${bytes} bytes of changes on shard ${store.shard} (the most a shard holds unapplied is ${maxBytes}); retry after ${INDEX_LAG_RETRY_MS} ms`,
        { shard: store.shard, lag, bytes, maxBytes, retryAfterMs: INDEX_LAG_RETRY_MS },
      );
    }
    if (lag <= limit) return;
    const which = limit === hard ? "the most a shard holds unapplied" : "INDEX_LAG_LIMIT";
    throw new BlazeError(
      "RESOURCE_EXHAUSTED",
      `the index is ${lag} changes behind on shard ${store.shard} (${which} is ${limit}); retry after ${INDEX_LAG_RETRY_MS} ms`,
      { shard: store.shard, lag, limit, retryAfterMs: INDEX_LAG_RETRY_MS },
    );
  }

  /** Moves the alarm earlier if needed. Synchronous: `alarmAt` mirrors storage. */
  private scheduleAlarm(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    void this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
  }

  private resendAfterMs(): number {
    return this.faults.resendAfterMs ?? Number(this.env.OUTBOX_RESEND_MS ?? 10_000);
  }

  /**
   * Prepared writes lock their paths. Before touching a locked path, ask the
   * coordinator: a committed batch is applied here first (so a read never
   * misses a committed write), an aborted one is dropped.
   */
  private async resolveLocks(paths: string[], _why: "read" | "write"): Promise<void> {
    const store = this.store!;
    for (const lock of store.locksOn(paths)) {
      try {
        await this.resolveTxn(lock.txnId, lock.coordinator);
      } catch (e) {
        console.warn(`blaze shard ${store.shard}: could not resolve batch ${lock.txnId}`, e);
        throw new BlazeError("UNAVAILABLE", "a batch holding this document could not be resolved yet; retry shortly", { txnId: lock.txnId });
      }
    }
  }

  private async resolveTxn(txnId: string, coordinator: number): Promise<void> {
    const store = this.store!;
    const decision =
      coordinator === store.shard
        ? this.coordinator().decide(txnId, Date.now(), this.prepareTimeoutMs())
        : unwrap(await shardStub(this.env, coordinator).decide(coordinator, txnId));
    if (decision === "committed") {
      const committed = store.commitPrepared(txnId);
      if (committed) this.afterCommit(committed);
    } else if (decision === "aborted") {
      store.abortPrepared(txnId);
    }
  }

  private coordinator(): Coordinator {
    const self = this;
    const participant = (shard: number): Participant => {
      if (shard === self.store!.shard) {
        return {
          prepare: async (txnId, coordinator, writes, auth) => unwrap(await self.prepare(shard, txnId, coordinator, writes, auth)),
          commit: async (txnId) => unwrap(await self.commitPrepared(shard, txnId)),
          abort: async (txnId) => unwrap(await self.abortPrepared(shard, txnId)),
        };
      }
      const stub = shardStub(self.env, shard);
      return {
        prepare: async (txnId, coordinator, writes, auth) => unwrap(await stub.prepare(shard, txnId, coordinator, writes, auth)),
        commit: async (txnId) => unwrap(await stub.commitPrepared(shard, txnId)),
        abort: async (txnId) => unwrap(await stub.abortPrepared(shard, txnId)),
      };
    };
    return new Coordinator(this.ctx.storage, participant, { atCommitPoint: () => this.injectRestart("commit-point") });
  }

  private listeners(): DocListeners | null {
    if (!this.store) return null;
    const count = shardCount(this.env);
    this.listenersCache ??= new DocListeners(this.ctx.storage.sql, this.sockets, this.store, (p) => shardOf(p, count), projectRules);
    return this.listenersCache;
  }

  private queue(): Queue<ChangeMessage> {
    const real = this.env.CHANGES as Queue<ChangeMessage>;
    const faults = this.faults;
    return {
      send: (body, opts) => real.send(body, opts),
      sendBatch: async (messages, opts) => {
        if (faults.failQueueSend > 0) {
          faults.failQueueSend--;
          throw new Error("injected fault: queue send");
        }
        return real.sendBatch(messages, opts);
      },
    } as Queue<ChangeMessage>;
  }

  private idempotencyWindowMs(): number {
    return this.faults.idempotencyWindowMs ?? LIMITS.idempotencyWindowMs;
  }

  private keyed(idem: Idempotency | undefined): KeyedCommit | undefined {
    return idem && { idem, notBefore: Date.now() - this.idempotencyWindowMs() };
  }

  /** The restart fault: once the commit is on disk, the object is reset before it answers. */
  private async injectRestart(at: Faults["restartAt"]): Promise<void> {
    if (this.faults.restartAt !== at) return;
    this.faults.restartAt = null;
    await this.ctx.storage.sync();
    this.ctx.abort(`injected fault: restart after ${at}`);
  }

  private prepareTimeoutMs(): number {
    return Number(this.env.PREPARE_TIMEOUT_MS ?? 5_000);
  }

  private storeFor(shard: number): DocStore {
    if (!Number.isInteger(shard) || shard < 0) throw new BlazeError("INTERNAL", `bad shard number ${shard}`);
    if (!this.store) {
      this.ctx.storage.kv.put("shard", shard);
      return this.openStore(shard);
    } else if (this.store.shard !== shard) {
      throw new BlazeError("INTERNAL", `shard object ${this.store.shard} was addressed as shard ${shard}`);
    }
    return this.store;
  }

  /** Runs an RPC body; a BlazeError comes back as a value (RpcResult), anything else throws. */
  private async rpc<T>(shard: number, body: (store: DocStore) => Promise<T>): Promise<RpcResult<T>> {
    return toRpcResult(() => body(this.storeFor(shard)));
  }
}
