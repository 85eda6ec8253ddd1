/**
 * The listen protocol (design.md, "WebSocket /v1/listen"): the messages a
 * client sends and receives, and the one parser of client frames, shared by
 * the Worker's relay and the shard's listeners. Pure.
 */
import type { AuthContext } from "../core/auth";
import { BlazeError, invalidArgument, type ErrorBody } from "../core/errors";
import type { DocumentSnapshot } from "../core/writes";

export type ListenerId = string | number;

export type ClientMessage =
  | { op: "listen"; id: ListenerId; doc: string; resume?: string }
  | { op: "listen"; id: ListenerId; query: unknown; resume?: string }
  | { op: "unlisten"; id: ListenerId };

export interface DocChange {
  type: "added" | "modified" | "removed";
  doc: DocumentSnapshot | { path: string; id: string };
  oldIndex: number;
  newIndex: number;
}

export type ServerMessage =
  | { id: ListenerId; type: "snapshot"; changes: DocChange[]; resume: string; initial?: true; fresh?: true }
  | { id: ListenerId; type: "aggregate"; data: Record<string, unknown>; initial?: true }
  | { id: ListenerId | null; type: "error"; error: ErrorBody }
  | { type: "pong" }
  /** A credential of `{"op":"auth"}` accepted: who the socket now is, and when its JWT expires (ms since the epoch). */
  | { type: "auth"; uid: string | null; expiresAt: number | null };

/**
 * The client's credentials in-band (docs/security.md, "WebSockets"): as the
 * first message of a socket opened without any, or at any time with a fresh
 * JWT for the same user (a refresh). Handled by the Worker's relay, never
 * forwarded.
 */
export interface AuthMessage {
  op: "auth";
  key?: string;
  token?: string;
}

/**
 * From the relay to a shard, on its internal socket only: the caller the
 * socket's listeners are judged by from now on (after a refresh). The
 * relay never forwards a client's frame of this op.
 */
export interface CallerMessage {
  op: "caller";
  auth: AuthContext;
}

/**
 * The heartbeat: the client sends `{"op":"ping"}` when the socket has been
 * quiet, the Worker's relay answers `{"type":"pong"}` at once (it is never
 * forwarded), and a client that hears nothing back knows the connection is dead.
 */
export interface Ping {
  op: "ping";
}

/** Max size of one client message. */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

/**
 * Parses one client frame. Throws a BlazeError carrying the frame's id when
 * it has one (`ProtocolError.id`), so the error goes to that listener only.
 */
export function parseClientMessage(raw: string | ArrayBuffer): ClientMessage {
  return listenMessage(parseFrame(raw));
}

/** Parses a frame the client's socket carries to the relay: a listen message, the heartbeat, or credentials. */
export function parseRelayFrame(raw: string | ArrayBuffer): ClientMessage | Ping | AuthMessage {
  const m = parseFrame(raw);
  if (m.op === "ping") return { op: "ping" };
  return m.op === "auth" ? authMessage(m) : listenMessage(m);
}

/** Parses a frame on a shard's socket: a listen message, or (from the relay) the socket's new caller. */
export function parseShardFrame(raw: string | ArrayBuffer): ClientMessage | CallerMessage {
  const m = parseFrame(raw);
  if (m.op !== "caller") return listenMessage(m);
  const auth = m.auth as AuthContext | undefined;
  if (typeof auth !== "object" || auth === null || (auth.role !== "admin" && auth.role !== "client")) {
    throw new ProtocolError(null, invalidArgument('"caller" needs "auth"'));
  }
  return { op: "caller", auth };
}

function authMessage(m: Record<string, unknown>): AuthMessage {
  const bad = (what: string) => new ProtocolError(null, new BlazeError("UNAUTHENTICATED", `{"op":"auth"} ${what}`));
  const { key, token } = m;
  if (key !== undefined && (typeof key !== "string" || key === "")) throw bad('"key" must be an API key string');
  if (token !== undefined && (typeof token !== "string" || token === "")) throw bad('"token" must be a JWT string');
  if (key === undefined && token === undefined) throw bad('needs "key" (an API key) and/or "token" (a JWT)');
  return { op: "auth", ...(key === undefined ? {} : { key }), ...(token === undefined ? {} : { token }) } as AuthMessage;
}

function parseFrame(raw: string | ArrayBuffer): Record<string, unknown> {
  if (typeof raw !== "string") throw new ProtocolError(null, invalidArgument("messages must be JSON text"));
  if (raw.length > MAX_CLIENT_MESSAGE_BYTES) {
    throw new ProtocolError(null, new BlazeError("PAYLOAD_TOO_LARGE", `message over ${MAX_CLIENT_MESSAGE_BYTES} bytes`));
  }
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    throw new ProtocolError(null, invalidArgument("message is not valid JSON"));
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) throw new ProtocolError(null, invalidArgument("message must be a JSON object"));
  return msg as Record<string, unknown>;
}

function listenMessage(m: Record<string, unknown>): ClientMessage {
  const id = m.id;
  if (typeof id !== "string" && typeof id !== "number") throw new ProtocolError(null, invalidArgument('message needs an "id" (string or number)'));
  if (m.op === "unlisten") return { op: "unlisten", id };
  if (m.op !== "listen") throw new ProtocolError(id, invalidArgument(`unknown op ${JSON.stringify(m.op)}: expected "listen" or "unlisten"`));
  if (m.resume !== undefined && typeof m.resume !== "string") throw new ProtocolError(id, invalidArgument('"resume" must be a resume token string'));
  const resume = m.resume as string | undefined;
  if ("query" in m) return { op: "listen", id, query: m.query, ...(resume === undefined ? {} : { resume }) };
  if (typeof m.doc !== "string") throw new ProtocolError(id, invalidArgument('listen needs "doc": a document path (or "query")'));
  return { op: "listen", id, doc: m.doc, ...(resume === undefined ? {} : { resume }) };
}

/** A protocol error and the listener it belongs to (null: the frame had no usable id). */
export class ProtocolError extends Error {
  constructor(
    readonly id: ListenerId | null,
    readonly error: BlazeError,
  ) {
    super(error.message);
    this.name = "ProtocolError";
  }
}

/** The error message for a listener (or for a frame, id null). */
export function errorMessage(id: ListenerId | null, e: unknown): ServerMessage {
  const err = e instanceof BlazeError ? e : new BlazeError("INTERNAL", "listener failed");
  return { id, type: "error", error: err.toJSON() };
}
