/**
 * One socket per client: the Worker end of `GET /v1/listen`. The client's
 * socket ends here; each listen goes on to the object that serves it over
 * one internal socket per object (a document's shard, a query's live-query
 * object), and everything that comes back is passed through unchanged. Listener ids are
 * the client's; the relay only remembers which upstream holds each one.
 *
 * Why a relay in the Worker: shard sockets stay hibernated in their shard
 * objects as before, a client needs one connection however many shards its
 * documents live on, and the relay holds no state worth persisting (on a
 * restart the client reconnects and resumes with its tokens).
 *
 * Credentials (docs/security.md, "WebSockets"): `{"op":"auth"}` frames are
 * handled here, never forwarded; frames after one wait until it is judged.
 * A new caller goes on to every shard link (`{"op":"caller"}`, which the
 * shard judges its listeners by from then on), and every query listener is
 * resolved again under it (the rules' filter may differ). An expired JWT
 * ends the listeners (`expire`), a revoked key the socket (`fail`).
 *
 * Runtime-free: sockets come in through `SocketLike` and `connect`, so the
 * routing, limits and failure handling are unit-tested with fakes.
 */
import type { AuthContext } from "../core/auth";
import { BlazeError } from "../core/errors";
import { parseDocumentPath } from "../core/paths";
import {
  errorMessage,
  parseRelayFrame,
  ProtocolError,
  type AuthMessage,
  type CallerMessage,
  type ClientMessage,
  type ListenerId,
  type ServerMessage,
} from "./protocol";

export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** An upstream connection: the relay feeds its frames and its end in. */
export interface Upstream extends SocketLike {
  onMessage(cb: (data: string) => void): void;
  onClose(cb: () => void): void;
}

/** A query as the live-query object serves it (the rules' filter in), and that object's key. */
export interface ResolvedQuery {
  key: string;
  query: unknown;
}

/** Where a listener lives: `shard:<n>` or `query:<live key>`. */
export type Target = string;

export interface RelayDeps {
  /** Opens the internal socket to a target's listeners. */
  connect(target: Target): Promise<Upstream>;
  shardOf(path: string): number;
  /**
   * Checks a query, applies the caller's rules to it, and names its
   * live-query object; throws the query's error (INVALID_ARGUMENT,
   * FAILED_PRECONDITION, PERMISSION_DENIED).
   */
  resolveQuery(query: unknown): Promise<ResolvedQuery>;
  /**
   * `{"op":"auth"}`: verifies the credentials and makes them the socket's
   * (resolveQuery and connect use them from then on). `listened`: the socket
   * has listened already. Throws UNAUTHENTICATED or FAILED_PRECONDITION.
   */
  authenticate(msg: AuthMessage, listened: boolean): Promise<{ auth: AuthContext; uid: string | null; expiresAt: number | null }>;
  /** The socket has credentials (from its upgrade, or an accepted auth message). */
  authenticated(): boolean;
}

type QueryListen = Extract<ClientMessage, { query: unknown }>;

const PENDING = "";

/** Max listeners one client socket may hold, over every shard. */
export const MAX_LISTENERS_PER_CLIENT = 1000;

interface Link {
  /** Resolves once open; frames for this upstream are sent in order after it. */
  ready: Promise<Upstream | null>;
}

export class ListenRelay {
  private readonly links = new Map<Target, Link>();
  /** Listener key -> the target holding it (PENDING while a query is checked). */
  private readonly listeners = new Map<string, Target>();
  /** Query listeners: the client's listen (resolved again when the caller changes), and the resolution that counts. */
  private readonly queries = new Map<string, { msg: QueryListen; attempt: object }>();
  private closed = false;
  /** Frames that came while an auth message is judged; null when none is. */
  private queue: (string | ArrayBuffer)[] | null = null;
  private listened = false;
  /** The JWT expired: listens are refused with this until a fresh token comes. */
  private lapsed: BlazeError | null = null;

  constructor(
    private readonly client: SocketLike,
    private readonly deps: RelayDeps,
  ) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** A frame from the client. Errors go back to that listener (or id null); the socket stays up. A ping is answered here. */
  fromClient(raw: string | ArrayBuffer): void {
    if (this.closed) return;
    if (this.queue) {
      this.queue.push(raw);
      return;
    }
    let id: ListenerId | null = null;
    try {
      const msg = parseRelayFrame(raw);
      if (msg.op === "ping") return this.reply({ type: "pong" });
      if (msg.op === "auth") return this.authenticate(msg);
      id = msg.id;
      const key = JSON.stringify(msg.id);
      if (msg.op === "unlisten") {
        const target = this.listeners.get(key);
        if (target === undefined) return; // unknown or already gone: nothing to do
        this.drop(key);
        if (target !== PENDING) this.forward(target, raw as string);
        return;
      }
      this.listened = true;
      if (this.lapsed) throw this.lapsed;
      if (this.listeners.has(key)) throw new BlazeError("ALREADY_EXISTS", `listener id ${key} is already in use on this socket; unlisten it first`);
      if (this.listeners.size >= MAX_LISTENERS_PER_CLIENT) {
        throw new BlazeError("RESOURCE_EXHAUSTED", `a socket may hold at most ${MAX_LISTENERS_PER_CLIENT} listeners`);
      }
      if ("query" in msg) {
        this.listeners.set(key, PENDING);
        this.resolve(key, msg);
        return;
      }
      const target = `shard:${this.deps.shardOf(parseDocumentPath(msg.doc).path)}`;
      this.listeners.set(key, target);
      this.forward(target, raw as string);
    } catch (e) {
      if (e instanceof ProtocolError) this.reply(errorMessage(e.id, e.error));
      else this.reply(errorMessage(id, e));
    }
  }

  /**
   * Resolves a query listener under the socket's current caller and puts it
   * on its live-query object. Again after the caller changed: the same
   * object keeps it; another one (the rules' filter changed) takes it over,
   * starting with a new initial snapshot; a refusal ends it with the error.
   */
  private resolve(key: string, msg: QueryListen): void {
    const attempt = {};
    this.queries.set(key, { msg, attempt });
    const current = () => !this.closed && this.queries.get(key)?.attempt === attempt;
    this.deps.resolveQuery(msg.query).then(
      (resolved) => {
        // Unlistened, resolved again, or the socket closed meanwhile.
        if (!current()) return;
        const target = `query:${resolved.key}`;
        const previous = this.listeners.get(key)!;
        if (previous === target) return;
        if (previous !== PENDING) this.forward(previous, JSON.stringify({ op: "unlisten", id: msg.id }));
        this.listeners.set(key, target);
        // The resolved query, never the client's: it carries the rules' filter.
        this.forward(target, JSON.stringify({ ...msg, query: resolved.query }));
      },
      (e) => {
        if (!current()) return;
        const previous = this.listeners.get(key)!;
        if (previous !== PENDING) this.forward(previous, JSON.stringify({ op: "unlisten", id: msg.id }));
        this.drop(key);
        this.reply(errorMessage(msg.id, e));
      },
    );
  }

  /** `{"op":"auth"}`: later frames wait for the verdict. */
  private authenticate(msg: AuthMessage): void {
    const hadCredentials = this.deps.authenticated();
    this.queue = [];
    this.deps.authenticate(msg, this.listened).then(
      ({ auth, uid, expiresAt }) => {
        if (this.closed) return;
        this.lapsed = null;
        this.reply({ type: "auth", uid, expiresAt });
        this.reauthorize(auth);
      },
      (e) => {
        // Refused credentials never leave a socket anonymous: without earlier ones it ends, as a refused upgrade would.
        if (!hadCredentials) this.fail(e instanceof BlazeError ? e : new BlazeError("UNAUTHENTICATED", "credentials refused"));
        else this.reply(errorMessage(null, e));
      },
    ).finally(() => {
      const waiting = this.queue ?? [];
      this.queue = null;
      // A queued auth message starts a new queue: the frames after it go there, in order.
      for (const frame of waiting) this.fromClient(frame);
    });
  }

  /** The caller changed: the shards judge their listeners by the new one, the query listeners are resolved again. */
  private reauthorize(auth: AuthContext): void {
    const caller = JSON.stringify({ op: "caller", auth } satisfies CallerMessage);
    for (const target of this.links.keys()) if (target.startsWith("shard:")) this.forward(target, caller);
    for (const [key, { msg }] of this.queries) this.resolve(key, msg);
  }

  /**
   * The socket's JWT expired: every listener ends with the error
   * (UNAUTHENTICATED), and listens are refused until a fresh token comes.
   * The socket stays open.
   */
  expire(error: BlazeError): void {
    if (this.closed) return;
    this.lapsed = error;
    for (const [key, target] of this.listeners) {
      const id = JSON.parse(key) as ListenerId;
      if (target !== PENDING) this.forward(target, JSON.stringify({ op: "unlisten", id }));
      this.reply(errorMessage(id, error));
    }
    this.listeners.clear();
    this.queries.clear();
  }

  /**
   * The socket's key was revoked (or its first credentials refused): the client gets the
   * error (id null), its socket is closed (1008, policy) and every upstream with it.
   */
  fail(error: BlazeError): void {
    if (this.closed) return;
    this.reply(errorMessage(null, error));
    try {
      this.client.close(1008, error.code);
    } catch {
      // already closed
    }
    this.close();
  }

  /** The client went away: close every upstream. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) void link.ready.then((u) => u?.close(1000, "client closed"));
    this.links.clear();
    this.listeners.clear();
    this.queries.clear();
    this.queue = null;
  }

  private drop(key: string): void {
    this.listeners.delete(key);
    this.queries.delete(key);
  }

  private forward(target: Target, frame: string): void {
    const link = this.link(target);
    void link.ready.then((u) => {
      if (!u) return;
      try {
        u.send(frame);
      } catch {
        this.lost(target, link);
      }
    });
  }

  private link(target: Target): Link {
    let link = this.links.get(target);
    if (link) return link;
    const created: Link = {
      ready: this.deps.connect(target).then(
        (u) => {
          if (this.closed) {
            u.close(1000, "client closed");
            return null;
          }
          u.onMessage((data) => {
            if (this.closed) return;
            this.noteUpstreamError(data);
            this.client.send(data);
          });
          u.onClose(() => this.lost(target, created));
          return u;
        },
        (e) => {
          console.error(`blaze relay: could not reach ${target}`, e);
          this.lost(target, created);
          return null;
        },
      ),
    };
    this.links.set(target, created);
    return created;
  }

  /**
   * An upstream is gone (shard restart, deploy, error): its listeners get an
   * error each and are dropped, so the client listens again with its last
   * resume token and misses nothing. The next listen opens a new upstream.
   */
  private lost(target: Target, link: Link): void {
    if (this.links.get(target) !== link) return;
    this.links.delete(target);
    if (this.closed) return;
    const shard = target.startsWith("shard:") ? Number(target.slice(6)) : undefined;
    const error = new BlazeError(
      "UNAVAILABLE",
      shard !== undefined
        ? `the connection to shard ${shard} was lost; listen again with your last resume token`
        : "the connection to the live query was lost; listen again",
      shard !== undefined ? { shard } : undefined,
    );
    for (const [key, s] of this.listeners) {
      if (s !== target) continue;
      this.drop(key);
      this.reply(errorMessage(JSON.parse(key) as ListenerId, error));
    }
  }

  /** A listener the shard refused (bad resume token, limits) is gone; its id may be used again. */
  private noteUpstreamError(data: string): void {
    // Errors are small; a document that merely holds this text is parsed and passed over.
    if (data.length > 4096 || !data.includes('"type":"error"')) return;
    try {
      const m = JSON.parse(data) as { id?: unknown; type?: unknown };
      if (m.type === "error" && m.id !== null && m.id !== undefined) this.drop(JSON.stringify(m.id));
    } catch {
      // not ours to judge; passed through as is
    }
  }

  private reply(message: ServerMessage): void {
    try {
      this.client.send(JSON.stringify(message));
    } catch {
      this.close();
    }
  }
}
