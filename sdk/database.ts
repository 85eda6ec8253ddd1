/**
 * The database object (Firebase's `Firestore`): where Blaze is, how to reach
 * it, and the one listen socket shared by every listener. Created
 * synchronously; nothing is sent until the first call.
 */
import { BlazeError, fromErrorBody } from "./errors";

/** The subset of the WebSocket interface the SDK uses (browsers, Node 22+, Workers). */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (e: { data: unknown }) => void): void;
  addEventListener(type: "close" | "error", cb: (e: unknown) => void): void;
}

export interface BlazeSettings {
  /** Base URL of the Blaze Worker, e.g. `https://blaze.example.workers.dev` or `http://127.0.0.1:8787`. */
  url: string;
  /**
   * API key (`blz_client_...` in apps; `blz_admin_...` only on servers): sent
   * as `X-Blaze-Key`, and in the listen socket's first message (never in a
   * URL; docs/security.md).
   */
  key?: string;
  /**
   * The signed-in user's ID token (a JWT from your identity provider): a
   * string, or a function asked before every request, every (re)connect of
   * the listen socket and shortly before the token in use expires, so a
   * refreshed token is picked up: for Firebase Auth,
   * `() => getAuth().currentUser?.getIdToken() ?? null`. Sent as
   * `Authorization: Bearer <token>`, and in-band on the listen socket; the
   * rules see its claims as `auth`.
   */
  token?: string | (() => string | null | undefined | Promise<string | null | undefined>);
  /** Replaces the global fetch (tests: `(req) => exports.default.fetch(req)` inside workerd). */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Opens the listen socket, already open (ready to send). Default: the
   * global WebSocket on `ws(s)://<url>/v1/listen`. Inside workerd: a fetch
   * with `Upgrade: websocket`, then `res.webSocket.accept()`.
   */
  webSocket?: (url: string) => Promise<SocketLike>;
  /** The listen socket closes this long after its last listener is gone (default 5,000 ms), so an idle app holds no socket. */
  listenIdleMs?: number;
  /**
   * Heartbeat of the listen socket (default 10,000 ms; 0 turns it off): after
   * this long without a frame the SDK sends a ping, and if nothing arrives for
   * another period the connection is taken as dead and reopened.
   */
  heartbeatMs?: number;
  /** As Firebase's setting: drop `undefined` fields instead of refusing them. */
  ignoreUndefinedProperties?: boolean;
}

export class Blaze {
  /** Firebase's `Firestore.type`. */
  readonly type = "firestore" as const;
  readonly _url: string;
  readonly _settings: Readonly<BlazeSettings>;
  _terminated = false;
  /** The listen socket all listeners share; listen.ts opens it, so apps that never listen do not bundle it. */
  _socket: { close(): void } | null = null;
  /** Mutations waiting for the server to be reachable again; mutations.ts creates it on the first network failure. */
  _writes: { wake(): void; close(): void } | null = null;
  /** This client's writes shown in its listeners before the server confirms them (pending-writes.ts). */
  _pending: object | null = null;

  constructor(settings: BlazeSettings) {
    if (typeof settings?.url !== "string") throw new BlazeError("invalid-argument", "initializeBlaze needs { url }");
    let u: URL;
    try {
      u = new URL(settings.url);
    } catch {
      throw new BlazeError("invalid-argument", `initializeBlaze: ${JSON.stringify(settings.url)} is not a URL`);
    }
    this._url = u.href.replace(/\/+$/, "");
    this._settings = { ...settings };
  }

  _checkOpen(): void {
    if (this._terminated) throw new BlazeError("failed-precondition", "The client has already been terminated.");
  }

  /** One HTTP call; a non-2xx answer becomes a BlazeError with the Firestore code. */
  async _request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    this._checkOpen();
    const h: Record<string, string> = { ...headers };
    const { key, token } = await this._credentials();
    if (key) h["X-Blaze-Key"] = key;
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const req = new Request(`${this._url}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    let res: Response;
    try {
      res = await (this._settings.fetch ? this._settings.fetch(req) : fetch(req));
    } catch (e) {
      // `offline`: no answer at all, so a mutation waits in the write queue (mutations.ts).
      throw new BlazeError("unavailable", `could not reach Blaze at ${this._url}: ${e instanceof Error ? e.message : String(e)}`, { details: { offline: true } });
    }
    const text = await res.text();
    let json: any = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        if (res.ok) throw new BlazeError("internal", `Blaze answered ${method} ${path} with non-JSON`);
      }
    }
    if (!res.ok) throw fromErrorBody(json?.error, res.status);
    return { status: res.status, body: json as T };
  }

  /** The credentials to present now: the key, and a fresh token from the app's provider. */
  async _credentials(): Promise<{ key: string | null; token: string | null }> {
    const t = this._settings.token;
    const token = typeof t == "function" ? await t() : t;
    return { key: this._settings.key ?? null, token: token || null };
  }

  /** Closes the listen socket; listeners get no further events; queued writes fail. */
  _terminate(): void {
    this._terminated = true;
    this._socket?.close();
    this._socket = null;
    this._writes?.close();
    this._writes = null;
  }

  toJSON(): object {
    return { url: this._url };
  }
}

/** Firebase's name for the database type, so `Firestore` type annotations port. */
export type Firestore = Blaze;

/** Returns the database object synchronously, as `initializeFirestore` does. */
export function initializeBlaze(settings: BlazeSettings): Blaze {
  return new Blaze(settings);
}

/** Closes the database: listeners stop, later calls fail with failed-precondition. */
export async function terminate(db: Blaze): Promise<void> {
  db._terminate();
}
