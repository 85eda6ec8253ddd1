/**
 * Hibernated WebSocket bookkeeping for Durable Objects (shard DOs now,
 * live-query DOs later). Each socket gets an id, kept as its tag and
 * attachment, so it can be found again after the object hibernates; what a
 * socket listens to is kept by the caller in SQLite, keyed by that id.
 */

/** Platform limit: a Durable Object holds at most 32,768 hibernated sockets. */
import type { AuthContext } from "../core/auth";

export const MAX_SOCKETS_PER_OBJECT = 32_768;

export interface SocketAttachment {
  id: string;
  /** Who opened the socket (the relay's caller), kept across hibernation: listeners are judged by it. */
  auth?: AuthContext;
}

export class Connections {
  constructor(private readonly ctx: DurableObjectState) {}

  /** Accepts a server-side socket for hibernation and returns its id. */
  accept(ws: WebSocket, auth?: AuthContext): string {
    if (this.ctx.getWebSockets().length >= MAX_SOCKETS_PER_OBJECT) {
      throw new Error(`this object already holds ${MAX_SOCKETS_PER_OBJECT} sockets (platform limit)`);
    }
    const id = crypto.randomUUID();
    this.ctx.acceptWebSocket(ws, [id]);
    ws.serializeAttachment((auth ? { id, auth } : { id }) satisfies SocketAttachment);
    return id;
  }

  /** Attachments read back, per socket: a broadcast asks for each listener's caller, and deserializing is a copy. */
  private readonly authCache = new WeakMap<WebSocket, AuthContext | null>();

  /** The caller a socket was opened for; null for a socket opened without one. */
  authOf(ws: WebSocket): AuthContext | null {
    let auth = this.authCache.get(ws);
    if (auth === undefined) {
      auth = (ws.deserializeAttachment() as SocketAttachment | null)?.auth ?? null;
      this.authCache.set(ws, auth);
    }
    return auth;
  }

  /** The socket's caller changed (a refreshed JWT, relayed as `{"op":"caller"}`): kept across hibernation like the first. */
  setAuth(ws: WebSocket, auth: AuthContext): void {
    const id = this.idOf(ws);
    if (id === null) return;
    ws.serializeAttachment({ id, auth } satisfies SocketAttachment);
    this.authCache.set(ws, auth);
  }

  idOf(ws: WebSocket): string | null {
    const a = ws.deserializeAttachment() as SocketAttachment | null;
    return a?.id ?? null;
  }

  byId(id: string): WebSocket | null {
    return this.ctx.getWebSockets(id)[0] ?? null;
  }

  count(): number {
    return this.ctx.getWebSockets().length;
  }

  /** Sends JSON; a socket that is already closing is skipped, not an error. */
  send(ws: WebSocket, message: unknown): boolean {
    return this.sendText(ws, JSON.stringify(message));
  }

  /** Sends text already serialised (a broadcast serialises once for every socket). */
  sendText(ws: WebSocket, text: string): boolean {
    try {
      ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Reciprocates a close; 1005/1006 cannot be sent back, so they become 1000. */
  close(ws: WebSocket, code: number, reason: string): void {
    const sendable = code === 1005 || code === 1006 || code < 1000 ? 1000 : code;
    try {
      ws.close(sendable, reason);
    } catch {
      // already closed
    }
  }
}
