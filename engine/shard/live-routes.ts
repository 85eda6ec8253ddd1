/**
 * The direct path (design.md, "Live queries"): a live-query object registers
 * its query with every shard, and right after a commit the shard sends it
 * the changes that can affect its result (the new state matches its filter,
 * or the old state did: the document may leave), without waiting for the
 * queue and the index.
 *
 * Best effort by design. The consumer still hands every live query every
 * applied change that concerns it, and a live query skips what it already
 * has (by version, and by the seqs its last read held), so a direct send
 * that is lost, late or out of order costs latency, never correctness; a
 * change that would need the index (a limit window left short) is left to
 * the consumer. Sends are never awaited by the write (a live query may be
 * waiting on this shard for a strong read), at most one is in flight per
 * live query, and what commits meanwhile goes in the next one.
 *
 * Registrations are leases (LIVE_ROUTE_TTL_MS) in the shard's storage,
 * renewed by the live query's resync timer: a live query that vanished
 * without unregistering stops costing anything when its lease runs out.
 */
import { parseDocumentPath } from "../core/paths";
import type { DocumentData } from "../core/values";
import type { Change } from "../core/writes";
import type { ResolvedChange } from "../index/apply";
import type { LiveRegistration } from "../index/live-registrations";
import { routeChanges } from "../pipeline/live-notify";

/** A registration lasts this long unless renewed (the live query renews every LIVE_RESYNC_MS). */
export const LIVE_ROUTE_TTL_MS = 180_000;
/** Live queries one shard sends to directly; past it a registration is refused and that query hears from the consumer only. */
export const MAX_LIVE_ROUTES = 1000;
/** Changes waiting for one live query's send in flight; past it they are dropped (the consumer brings them). */
const MAX_WAITING_CHANGES = 256;

/** `gap`: changes for this query were dropped since the last send (the live query reads again). */
export type DirectSend = (queryKey: string, changes: Change[], gap: boolean) => Promise<void>;

export class LiveRoutes {
  private routes: Map<string, LiveRegistration & { expiresAt: number }>;
  private readonly collections = new Set<string>();
  /** The earliest lease end: until then a commit need not look for expired routes. */
  private nextExpiry = Number.POSITIVE_INFINITY;
  private readonly inFlight = new Map<string, Change[]>();
  /** Live queries that missed changes since their last send. */
  private readonly gaps = new Set<string>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly send: DirectSend,
    private readonly defer: (p: Promise<unknown>) => void,
  ) {
    this.routes = new Map(
      sql
        .exec<{ query_key: string; collection_id: string; query: string; expires_at: number }>(`SELECT * FROM live_routes`)
        .toArray()
        .map((r) => [r.query_key, { query_key: r.query_key, collection_id: r.collection_id, query: r.query, expiresAt: r.expires_at }]),
    );
    this.reindex();
  }

  /** Registers or renews; false when the shard already serves MAX_LIVE_ROUTES others. */
  register(queryKey: string, collectionId: string, query: string, now: number): boolean {
    this.expire(now);
    if (!this.routes.has(queryKey) && this.routes.size >= MAX_LIVE_ROUTES) return false;
    const expiresAt = now + LIVE_ROUTE_TTL_MS;
    this.sql.exec(
      `INSERT INTO live_routes (query_key, collection_id, query, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(query_key) DO UPDATE SET expires_at = excluded.expires_at`,
      queryKey, collectionId, query, expiresAt,
    );
    this.routes.set(queryKey, { query_key: queryKey, collection_id: collectionId, query, expiresAt });
    this.collections.add(collectionId);
    this.nextExpiry = Math.min(this.nextExpiry, expiresAt);
    return true;
  }

  unregister(queryKey: string): void {
    this.sql.exec(`DELETE FROM live_routes WHERE query_key = ?`, queryKey);
    if (this.routes.delete(queryKey)) this.reindex();
  }

  /** Whether a commit to `path` may concern a live query here (then the commit keeps the document's old state). */
  wants(path: string): boolean {
    return this.collections.size > 0 && this.collections.has(parseDocumentPath(path).collectionId);
  }

  /** After a commit: sends each concerned live query its changes, in the background. */
  dispatch(changes: Change[], before: ReadonlyMap<string, DocumentData | null>, now: number): void {
    if (this.collections.size === 0) return;
    this.expire(now);
    for (const [key, cs] of this.route(changes, before)) this.enqueue(key, cs);
  }

  /** Which changes each live query must hear: its filter matches the new state or matched the old. */
  route(changes: Change[], before: ReadonlyMap<string, DocumentData | null>): Map<string, Change[]> {
    const regs = [...this.routes.values()];
    // Commits carry their data inline (only queue messages refer to it).
    const relevant = changes.filter((c): c is ResolvedChange => !c.byRef && this.wants(c.path));
    if (regs.length === 0 || relevant.length === 0) return new Map();
    const asOld = relevant.flatMap((c) => {
      const data = before.get(c.path);
      return data ? [{ ...c, op: "set" as const, data }] : [];
    });
    const real = new Map(relevant.map((c) => [c.seq, c]));
    const out = new Map<string, Map<number, Change>>();
    for (const routed of [routeChanges(regs, [], relevant), routeChanges(regs, [], asOld)]) {
      for (const [key, cs] of routed) {
        const bySeq = out.get(key) ?? new Map<number, Change>();
        // The real change, never its stand-in with the old state.
        for (const c of cs) bySeq.set(c.seq, real.get(c.seq)!);
        out.set(key, bySeq);
      }
    }
    return new Map([...out].map(([key, bySeq]) => [key, [...bySeq.values()].sort((a, b) => a.seq - b.seq)]));
  }

  private enqueue(key: string, changes: Change[]): void {
    const waiting = this.inFlight.get(key);
    if (waiting) {
      if (waiting.length + changes.length <= MAX_WAITING_CHANGES) waiting.push(...changes);
      else this.gaps.add(key);
      return;
    }
    this.inFlight.set(key, []);
    const run = async (batch: Change[]): Promise<void> => {
      const gap = this.gaps.delete(key);
      try {
        await this.send(key, batch, gap);
      } catch {
        // The consumer brings the same changes; the next send says some were missed.
        this.gaps.add(key);
      }
      const next = this.inFlight.get(key)!;
      if (next.length === 0) {
        this.inFlight.delete(key);
        return;
      }
      this.inFlight.set(key, []);
      await run(next);
    };
    this.defer(run(changes));
  }

  private expire(now: number): void {
    if (now < this.nextExpiry) return;
    let gone = false;
    for (const [key, r] of this.routes) {
      if (r.expiresAt > now) continue;
      this.routes.delete(key);
      gone = true;
    }
    if (gone) this.sql.exec(`DELETE FROM live_routes WHERE expires_at <= ?`, now);
    // Renewed leases moved the earliest end on, expired ones went: look again only then.
    this.reindex();
  }

  private reindex(): void {
    this.collections.clear();
    this.nextExpiry = Number.POSITIVE_INFINITY;
    for (const r of this.routes.values()) {
      this.collections.add(r.collection_id);
      this.nextExpiry = Math.min(this.nextExpiry, r.expiresAt);
    }
  }
}

/**
 * The live query's `direct` call, through its binding: the shard sits below
 * engine/live in the layering, so it names the object the way engine/live
 * does (by query key) instead of importing it.
 */
export async function sendDirect(env: Env, queryKey: string, changes: Change[], gap: boolean): Promise<void> {
  const stub = env.LIVE_QUERIES.get(env.LIVE_QUERIES.idFromName(queryKey)) as unknown as {
    direct(key: string, changes: Change[], gap: boolean): Promise<unknown>;
  };
  await stub.direct(queryKey, changes, gap);
}

/** Whether this shard's storage holds any direct route (so a restarted shard serves them before their next renewal). */
export function hasLiveRoutes(sql: SqlStorage): boolean {
  return sql.exec(`SELECT 1 FROM live_routes LIMIT 1`).toArray().length > 0;
}
