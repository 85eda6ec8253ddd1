/**
 * onSnapshot over one WebSocket per database (GET /v1/listen, docs/live.md).
 *
 * Every document and query listener of a database shares the socket. When it
 * drops, the SDK reconnects with exponential backoff and jitter and listens
 * again: a document listener with its last `resume` token (the shard replays
 * exactly what it missed), a query listener afresh, its new first snapshot
 * diffed against what the app last saw, so docChanges() stays a correct edit
 * of the previous snapshot. A listener-level UNAVAILABLE (the Worker lost the
 * shard or live query behind it) is retried the same way; other errors end
 * that listener and reach its error callback.
 *
 * Heartbeat: a socket can die without a close event (a laptop sleeps, a NAT
 * forgets the flow). When no frame has arrived for `heartbeatMs`, the SDK
 * sends `{"op":"ping"}` (the Worker answers `{"type":"pong"}`); when nothing
 * arrives for another `heartbeatMs`, it drops the socket and reconnects.
 *
 * Credentials (docs/security.md, "WebSockets") go in the socket's first
 * message, never in its URL; shortly before the token expires the SDK asks
 * the app's token function again and sends the fresh one in-band, so the
 * listeners live on. A token for another user (the server refuses it,
 * FAILED_PRECONDITION) or none (signed out) reconnects the socket instead.
 */
import { backoff } from "./backoff";
import type { Blaze, SocketLike } from "./database";

type Credentials = Awaited<ReturnType<Blaze["_credentials"]>>;
import { BlazeError, fromErrorBody, invalid } from "./errors";
import { queryBody } from "./query";
import { DocumentReference, Query } from "./reference";
import { DocumentSnapshot, QuerySnapshot, docSnapshot, type DocumentChange, type WireDoc } from "./snapshot";
import { aggregateBody, aggregateSnapshot, type AggregateQuerySnapshot, type AggregateSpec } from "./operations";
import { isPending, pendingOf, type PendingWrites, type ViewDoc } from "./pending-writes";
import { normalizeQuery, type NormalizedQuery } from "../engine/core/query/normalize";
import { valuesEqual, type Value } from "../engine/core/values";

export type Unsubscribe = () => void;

/** Server frames of docs/live.md (the engine's sockets/protocol.ts; the SDK imports only engine/core). */
interface DocChange {
  type: "added" | "modified" | "removed";
  doc: WireDoc | { path: string; id: string };
  oldIndex: number;
  newIndex: number;
}
type ServerMessage =
  | { id: string | number; type: "snapshot"; changes: DocChange[]; resume?: string; initial?: true; fresh?: true }
  | { id: string | number; type: "aggregate"; data: Record<string, Value>; initial?: true }
  | { id: string | number | null; type: "error"; error: { code: string; message: string; details?: unknown } };

export interface SnapshotListenOptions {
  /** Also a snapshot when only metadata changes: the server confirmed a pending write (hasPendingWrites turns false). */
  readonly includeMetadataChanges?: boolean;
}

export interface Observer<T> {
  next?: (value: T) => void;
  error?: (error: BlazeError) => void;
  complete?: () => void;
}

/** Reconnect delays: 250 ms doubling to 30 s, each scaled by a random 50-100% (jitter). */
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
const reconnectDelay = (attempt: number) => backoff(attempt, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
/** Default `heartbeatMs`: a dead connection is noticed within 2-3 times this. */
export const HEARTBEAT_MS = 10_000;

interface Listener {
  /** The listen frame, without `op` and `id`. */
  frame(): Record<string, unknown>;
  /** The socket was lost or the listener must be listened again. */
  reset(): void;
  /** A snapshot (documents, queries) or an aggregate message (live aggregates), each only to its own kind. */
  onSnapshot(msg: Exclude<ServerMessage, { type: "error" }>): void;
  onError(err: BlazeError): void;
  /** Re-listen attempts since the last snapshot (listener-level UNAVAILABLE). */
  retries: number;
}

function defaultSocket(url: string): Promise<SocketLike> {
  const WS = (globalThis as { WebSocket?: new (url: string) => WebSocket }).WebSocket;
  if (!WS) return Promise.reject(new BlazeError("unimplemented", "no global WebSocket here: pass initializeBlaze({ webSocket }) (Node 20: the ws package)"));
  return new Promise((resolve, reject) => {
    const ws = new WS(url);
    ws.addEventListener("open", () => resolve(ws as unknown as SocketLike));
    ws.addEventListener("error", () => reject(new BlazeError("unavailable", `could not open ${url}`)));
  });
}

export class ListenSocket {
  private readonly listeners = new Map<number, Listener>();
  private nextId = 1;
  private socket: SocketLike | null = null;
  private connecting = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  /** A frame arrived since the last heartbeat tick. */
  private heard = false;
  /** A ping went out at the last tick. */
  private pinged = false;
  /** Sends the next token before the one in use expires. */
  private refresh: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly db: Blaze) {}

  add(l: Listener): number {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const id = this.nextId++;
    this.listeners.set(id, l);
    if (this.socket) this.sendListen(id, l);
    else this.connect();
    return id;
  }

  remove(id: number): void {
    if (!this.listeners.delete(id)) return;
    if (this.socket) this.trySend({ op: "unlisten", id });
    if (this.listeners.size === 0 && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.listeners.size === 0) this.drop(1000, "idle");
      }, this.db._settings.listenIdleMs ?? 5000);
    }
  }

  /** Closes the socket without reconnecting (no listeners need it). */
  private drop(code: number, reason: string): void {
    const s = this.socket;
    this.socket = null;
    this.stopHeartbeat();
    try {
      s?.close(code, reason);
    } catch {
      // already closed
    }
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.drop(1000, "terminated");
  }

  private connect(): void {
    if (this.connecting || this.socket || this.closed || this.timer) return;
    this.connecting = true;
    const open = this.db._settings.webSocket ?? defaultSocket;
    let credentials: Credentials;
    this.db._credentials().then((c) => ((credentials = c), open(this.db._url.replace(/^http/, "ws") + "/v1/listen"))).then(
      (s) => {
        this.connecting = false;
        if (this.closed) return s.close(1000, "terminated");
        this.socket = s;
        s.addEventListener("message", (e) => this.onMessage(s, e.data));
        s.addEventListener("close", () => this.onLost(s));
        s.addEventListener("error", () => this.onLost(s));
        this.startHeartbeat(s);
        // First, so the listens behind it are judged as this caller.
        this.authenticate(s, credentials);
        for (const [id, l] of this.listeners) this.sendListen(id, l);
        // The server is reachable again: writes queued offline need not wait for their next try.
        this.db._writes?.wake();
      },
      () => {
        this.connecting = false;
        this.scheduleReconnect();
      },
    );
  }

  /** Sends the credentials in-band, and asks for the next token before this one expires (exp read, not verified). */
  private authenticate(s: SocketLike, { key, token }: Credentials): void {
    if (key || token) this.trySend({ op: "auth", key: key || undefined, token: token || undefined });
    let exp = 0;
    try {
      exp = JSON.parse(atob(token!.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000 - Date.now();
    } catch {
      // no token, or not a JWT: nothing to refresh
    }
    if (exp > 0) {
      this.refresh = setTimeout(
        () =>
          // The app's token function failing: reconnect, which asks it again with backoff.
          this.db._credentials().then((next) => {
            if (this.socket !== s || next.token === token) return;
            if (next.token) this.authenticate(s, { key: null, token: next.token });
            else this.reconnect(s);
          }, () => this.reconnect(s)),
        Math.max(exp - 60_000, exp / 2),
      );
    }
  }

  /** Gives the socket up and opens another (its listeners listen again there). */
  private reconnect(s: SocketLike): void {
    this.onLost(s);
    try {
      s.close(4000, "reconnecting");
    } catch {
      // already gone
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, reconnectDelay(this.attempt++));
  }

  private startHeartbeat(s: SocketLike): void {
    const every = this.db._settings.heartbeatMs ?? HEARTBEAT_MS;
    if (!(every > 0)) return;
    this.heard = true;
    this.pinged = false;
    this.heartbeat = setInterval(() => this.beat(s), every);
  }

  /** The socket is going: its heartbeat and its token refresh stop. */
  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    clearTimeout(this.refresh);
  }

  /** One heartbeat tick: quiet since the last one, ping; quiet since the ping, the connection is dead. */
  private beat(s: SocketLike): void {
    if (this.socket !== s) return this.stopHeartbeat();
    if (this.heard) {
      this.heard = false;
      this.pinged = false;
    } else if (this.pinged) {
      this.reconnect(s);
    } else {
      this.pinged = true;
      this.trySend({ op: "ping" });
    }
  }

  private onLost(s: SocketLike): void {
    if (this.socket !== s) return;
    this.socket = null;
    this.stopHeartbeat();
    for (const l of this.listeners.values()) l.reset();
    this.scheduleReconnect();
  }

  private trySend(frame: object): void {
    try {
      this.socket?.send(JSON.stringify(frame));
    } catch {
      // The close event follows and brings every listener back.
    }
  }

  private sendListen(id: number, l: Listener): void {
    this.trySend({ op: "listen", id, ...l.frame() });
  }

  private onMessage(s: SocketLike, data: unknown): void {
    if (this.socket !== s) return;
    this.heard = true;
    if (typeof data !== "string") return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    const id = typeof msg.id === "number" ? msg.id : null;
    // A refreshed token for another user: listen again on a new socket, as that user.
    if (msg.type === "error" && msg.id === null && msg.error.code === "FAILED_PRECONDITION") return this.reconnect(s);
    const l = id === null ? undefined : this.listeners.get(id);
    if (!l || id === null) return; // unlistened meanwhile, or a frame-level error
    if (msg.type !== "error") {
      this.attempt = 0;
      l.retries = 0;
      l.onSnapshot(msg);
      return;
    }
    const err = fromErrorBody(msg.error);
    if (err.code === "unavailable") {
      // The Worker lost what served this listener: listen again (from its resume token).
      // Only on this same socket: after a reconnect every listener was listened
      // again already, and a second listen of the id would be ALREADY_EXISTS.
      l.reset();
      setTimeout(() => {
        if (this.listeners.get(id) === l && this.socket === s) this.sendListen(id, l);
      }, reconnectDelay(l.retries++));
      return;
    }
    this.listeners.delete(id);
    l.onError(err);
  }
}

function socketOf(db: Blaze): ListenSocket {
  db._checkOpen();
  if (!db._socket) db._socket = new ListenSocket(db);
  return db._socket as ListenSocket;
}

/** Applies one docChanges() entry to an ordered array; returns the document the change is about. */
function applyChange(docs: WireDoc[], c: DocChange): WireDoc {
  if (c.type === "removed") return docs.splice(c.oldIndex, 1)[0] ?? (c.doc as WireDoc);
  if (c.type === "modified") docs.splice(c.oldIndex, 1);
  docs.splice(c.newIndex, 0, c.doc as WireDoc);
  return c.doc as WireDoc;
}

type WireChange = { type: DocChange["type"]; doc: ViewDoc; oldIndex: number; newIndex: number };

/** Same content for docChanges(): the same server version, or, when either side is local, the same data. */
function sameContent(a: ViewDoc, b: ViewDoc): boolean {
  if (isPending(a) || isPending(b)) return valuesEqual(a.data, b.data);
  return a.version === b.version && a.updateTime === b.updateTime;
}

/**
 * The changes that turn `before` into `after`, in Firestore's order: removals
 * first (front to back, indexes shifting), then the added and modified
 * documents in the order of `after`, each inserted after the settled
 * documents that precede it; applying them in order to `before` gives
 * `after`. A document with the same content whose place among the others
 * holds is not listed (Firestore lists content changes, not moves); if only
 * its hasPendingWrites changed, it goes to `meta`.
 */
export function diffResults(before: readonly ViewDoc[], after: readonly ViewDoc[], meta: WireChange[] = []): WireChange[] {
  const changes: WireChange[] = [];
  const at = new Map(after.map((d, i) => [d.path, i]));
  const cur = before.slice();
  for (let i = 0; i < cur.length; ) {
    if (at.has(cur[i].path)) i++;
    else changes.push({ type: "removed", doc: cur.splice(i, 1)[0], oldIndex: i, newIndex: -1 });
  }
  // Settled: unchanged and still in order among themselves.
  const settled = new Set<string>();
  let last = -1;
  for (const d of cur) {
    const i = at.get(d.path)!;
    const doc = after[i];
    if (i > last && sameContent(d, doc)) {
      settled.add(d.path);
      last = i;
      if (isPending(d) !== isPending(doc)) meta.push({ type: "modified", doc, oldIndex: i, newIndex: i });
    }
  }
  after.forEach((d, i) => {
    if (settled.has(d.path)) return;
    const from = cur.findIndex((x) => x.path === d.path);
    if (from >= 0) cur.splice(from, 1);
    let to = 0;
    for (let k = cur.length; k--; ) {
      if (settled.has(cur[k].path) && at.get(cur[k].path)! < i) {
        to = k + 1;
        break;
      }
    }
    cur.splice(to, 0, d);
    settled.add(d.path);
    changes.push(from < 0 ? { type: "added", doc: d, oldIndex: -1, newIndex: to } : { type: "modified", doc: d, oldIndex: from, newIndex: to });
  });
  return changes;
}

class DocListener<T> implements Listener {
  retries = 0;
  private resume: string | undefined;
  /** The server's copy (undefined until the server answers). */
  private server: WireDoc | null | undefined;
  /** What the app was last shown (undefined: nothing yet), with this client's pending writes applied. */
  private shown: ViewDoc | null | undefined;
  private shownPending = false;

  constructor(
    private readonly ref: DocumentReference<T>,
    private readonly next: (s: DocumentSnapshot<T>) => void,
    readonly onError: (e: BlazeError) => void,
    private readonly pending: PendingWrites,
    private readonly metadataChanges: boolean,
  ) {}

  frame() {
    return { doc: this.ref.path, ...(this.resume ? { resume: this.resume } : {}) };
  }

  reset(): void {}

  versionOf(path: string): number | undefined {
    return path === this.ref.path ? this.server?.version : undefined;
  }

  onSnapshot(msg: Extract<ServerMessage, { type: "snapshot" }>): void {
    if (msg.resume) this.resume = msg.resume;
    let doc = msg.initial ? null : this.server!;
    for (const c of msg.changes) doc = c.type === "removed" ? null : (c.doc as WireDoc);
    this.server = doc;
    this.render();
  }

  /** Shows the server's copy with the pending writes applied, if it differs from what the app has. */
  render(): void {
    if (this.server === undefined) return;
    const local = this.pending.overlay(this.ref.path, this.server);
    const view = local === undefined ? this.server : local;
    const pending = local !== undefined;
    const was = this.shown;
    const changed = was === undefined || (view && was ? !sameContent(view, was) : view !== was);
    const metaChanged = pending !== this.shownPending;
    this.shown = view;
    this.shownPending = pending;
    if (!changed && !(this.metadataChanges && metaChanged)) return;
    this.next(new DocumentSnapshot<T>(this.ref, view, pending));
  }
}

class QueryListener<T> implements Listener {
  retries = 0;
  /** The server's answer, kept up to date by its changes. */
  private docs: WireDoc[] | null = null;
  /** What the app was last shown: the server's answer with the pending writes applied. */
  private shown: ViewDoc[] | null = null;
  private readonly body: object;
  private readonly nq: NormalizedQuery | null;

  constructor(
    private readonly query: Query<T>,
    private readonly next: (s: QuerySnapshot<T>) => void,
    readonly onError: (e: BlazeError) => void,
    private readonly pending: PendingWrites,
    private readonly metadataChanges: boolean,
  ) {
    const body = queryBody(query._state);
    this.body = body;
    // A query the engine refuses is the server's to report, through the error callback.
    try {
      this.nq = normalizeQuery(body);
    } catch {
      this.nq = null;
    }
  }

  /** The live query's resume token: a re-listen gets only what was missed, or a fresh answer flagged `initial`. */
  private resume: string | undefined;

  frame() {
    return { query: this.body, ...(this.resume ? { resume: this.resume } : {}) };
  }

  /** After a re-listen without a usable token the first snapshot is a fresh answer: render() diffs it against what the app has. */
  reset(): void {}

  versionOf(path: string): number | undefined {
    return this.docs?.find((d) => d.path === path)?.version;
  }

  onSnapshot(msg: Extract<ServerMessage, { type: "snapshot" }>): void {
    if (msg.resume) this.resume = msg.resume;
    const docs: WireDoc[] = msg.initial || this.docs === null ? [] : this.docs;
    for (const c of msg.changes) applyChange(docs, c);
    this.docs = docs;
    this.render();
  }

  /** Shows the server's answer with the pending writes applied, if it differs from what the app has. */
  render(): void {
    if (this.docs === null) return;
    const view = this.view();
    const first = this.shown === null;
    const before = this.shown ?? [];
    const meta: WireChange[] = [];
    const changes = diffResults(before, view, meta);
    this.shown = view.slice();
    if (first || changes.length > 0 || (this.metadataChanges && meta.length > 0)) this.emit(changes, meta);
  }

  /** The server's answer with the pending writes applied. */
  private view(): ViewDoc[] {
    return this.nq ? this.pending.queryView(this.nq, this.docs!) : this.docs!;
  }

  private emit(changes: WireChange[], meta: WireChange[]): void {
    const q = this.query;
    const change = (c: WireChange): DocumentChange<T> => ({ type: c.type, doc: docSnapshot(q, c.doc), oldIndex: c.oldIndex, newIndex: c.newIndex });
    this.next(new QuerySnapshot<T>(q, this.shown!.map((d) => docSnapshot(q, d)), changes.map(change), meta.map(change)));
  }
}

/** A live aggregate: the server sends the values first, then again whenever they change. */
class AggregateListener<S extends AggregateSpec, T> implements Listener {
  retries = 0;
  private last: string | null = null;
  private readonly body: object;

  constructor(
    private readonly query: Query<T>,
    private readonly spec: S,
    private readonly next: (s: AggregateQuerySnapshot<S, T>) => void,
    readonly onError: (e: BlazeError) => void,
  ) {
    this.body = { ...queryBody(query._state), aggregate: aggregateBody(spec, "onAggregateSnapshot") };
  }

  frame() {
    return { query: this.body };
  }

  reset(): void {}

  onSnapshot(msg: Extract<ServerMessage, { type: "aggregate" }>): void {
    // After a re-listen the first values may be the ones the app already has.
    const text = JSON.stringify(msg.data);
    if (text === this.last) return;
    this.last = text;
    this.next(aggregateSnapshot(this.query, this.spec, msg.data));
  }
}

/**
 * Blaze's own: a live aggregate (`count()`, `sum()`, `average()` over a
 * query's filters). The callback gets the values at once, then again each
 * time they change. Firestore has no equivalent.
 */
export function onAggregateSnapshot<S extends AggregateSpec, T>(
  query: Query<T>,
  aggregateSpec: S,
  onNext: ((snapshot: AggregateQuerySnapshot<S, T>) => void) | Observer<AggregateQuerySnapshot<S, T>>,
  onError?: (error: BlazeError) => void,
): Unsubscribe {
  if (!(query instanceof Query)) badTarget();
  const observer: Observer<AggregateQuerySnapshot<S, T>> =
    typeof onNext === "function" ? { next: onNext, error: onError } : (onNext as Observer<AggregateQuerySnapshot<S, T>>);
  let active = true;
  const socket = socketOf(query.firestore);
  const id = socket.add(
    new AggregateListener(
      query,
      aggregateSpec,
      (s) => active && observer.next?.(s),
      (e) => {
        if (!active) return;
        active = false;
        if (observer.error) observer.error(e);
        else console.error("Uncaught error in snapshot listener:", e);
      },
    ),
  );
  return () => {
    active = false;
    socket.remove(id);
  };
}

function isPartialObserver(o: unknown): o is Observer<unknown> {
  return typeof o === "object" && o !== null && ["next", "error", "complete"].some((k) => typeof (o as Record<string, unknown>)[k] === "function");
}

export function onSnapshot<T>(reference: DocumentReference<T>, observer: Observer<DocumentSnapshot<T>>): Unsubscribe;
export function onSnapshot<T>(reference: DocumentReference<T>, options: SnapshotListenOptions, observer: Observer<DocumentSnapshot<T>>): Unsubscribe;
export function onSnapshot<T>(
  reference: DocumentReference<T>,
  onNext: (snapshot: DocumentSnapshot<T>) => void,
  onError?: (error: BlazeError) => void,
  onCompletion?: () => void,
): Unsubscribe;
export function onSnapshot<T>(
  reference: DocumentReference<T>,
  options: SnapshotListenOptions,
  onNext: (snapshot: DocumentSnapshot<T>) => void,
  onError?: (error: BlazeError) => void,
  onCompletion?: () => void,
): Unsubscribe;
export function onSnapshot<T>(query: Query<T>, observer: Observer<QuerySnapshot<T>>): Unsubscribe;
export function onSnapshot<T>(query: Query<T>, options: SnapshotListenOptions, observer: Observer<QuerySnapshot<T>>): Unsubscribe;
export function onSnapshot<T>(
  query: Query<T>,
  onNext: (snapshot: QuerySnapshot<T>) => void,
  onError?: (error: BlazeError) => void,
  onCompletion?: () => void,
): Unsubscribe;
export function onSnapshot<T>(
  query: Query<T>,
  options: SnapshotListenOptions,
  onNext: (snapshot: QuerySnapshot<T>) => void,
  onError?: (error: BlazeError) => void,
  onCompletion?: () => void,
): Unsubscribe;
export function onSnapshot(target: DocumentReference<any> | Query<any>, ...args: unknown[]): Unsubscribe {
  let i = 0;
  let metadataChanges = false;
  if (typeof args[0] === "object" && args[0] !== null && !isPartialObserver(args[0])) {
    metadataChanges = (args[i++] as SnapshotListenOptions).includeMetadataChanges === true;
  }
  const observer: Observer<any> = isPartialObserver(args[i])
    ? (args[i] as Observer<any>)
    : { next: args[i] as Observer<any>["next"], error: args[i + 1] as Observer<any>["error"], complete: args[i + 2] as Observer<any>["complete"] };
  if (typeof observer.next !== "function" && !isPartialObserver(observer)) throw invalid("onSnapshot() needs a callback or an observer");

  let active = true;
  const next = (s: unknown) => {
    if (active) observer.next?.(s);
  };
  const error = (e: BlazeError) => {
    if (!active) return;
    active = false;
    unwatch();
    if (observer.error) observer.error(e);
    else console.error("Uncaught error in snapshot listener:", e);
  };
  const socket = socketOf(target.firestore);
  const pending = pendingOf(target.firestore);
  const listener =
    target instanceof DocumentReference
      ? new DocListener(target, next, error, pending, metadataChanges)
      : target instanceof Query
        ? new QueryListener(target, next, error, pending, metadataChanges)
        : badTarget();
  // This client's writes show at once (latency compensation, pending-writes.ts).
  const unwatch = pending.watch(listener);
  const id = socket.add(listener);
  return () => {
    active = false;
    unwatch();
    socket.remove(id);
  };
}

function badTarget(): never {
  throw invalid("onSnapshot() expects a DocumentReference or a Query as its first argument.");
}
