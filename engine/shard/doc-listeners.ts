/**
 * Document listeners on a shard's sockets (WebSocket /v1/listen).
 *
 * The first message for a listener is the full snapshot; then every change to
 * the document, in commit order. Registration and the snapshot happen in the
 * same synchronous turn as commits and their broadcast, so no change can fall
 * between them. Each message carries a resume token (`shard:seq`); a listen
 * with `resume` replays exactly the missed changes while they are still in the
 * shard's log, else it sends a fresh snapshot flagged `fresh: true`.
 */
import { ANONYMOUS, isAdmin, rulesAuth, type AuthContext } from "../core/auth";
import { BlazeError, invalidArgument } from "../core/errors";
import type { CompiledRules } from "../core/rules/define";
import { canGet, permissionDenied } from "../core/rules/evaluate";
import type { DocumentData } from "../core/values";
import { parseDocumentPath } from "../core/paths";
import { parseToken } from "../core/tokens";
import type { Change, DocumentSnapshot } from "../core/writes";
import type { Connections } from "../sockets/connections";
import { errorMessage, parseShardFrame, ProtocolError, type DocChange, type ListenerId, type ServerMessage } from "../sockets/protocol";
import { changeToSnapshot, type DocStore } from "./doc-store";

/** Max listeners one socket may hold on one shard. */
export const MAX_LISTENERS_PER_SOCKET = 1000;
/** Changes read per page when replaying a resume. */
const REPLAY_PAGE = 100;

export class DocListeners {
  constructor(
    private readonly sql: SqlStorage,
    private readonly sockets: Connections,
    private readonly store: DocStore,
    private readonly shardOf: (path: string) => number,
    private readonly rules: CompiledRules,
  ) {}

  /**
   * May this socket's caller see this version of the document? Admins and
   * sockets of dev rules always may; deletions always pass (the listener saw
   * the document before).
   */
  private mayRead(ws: WebSocket, path: string, data: DocumentData | null): boolean {
    const auth = this.sockets.authOf(ws) ?? ANONYMOUS;
    return isAdmin(auth) || canGet(this.rules, rulesAuth(auth), path, data);
  }

  /** Handles one client message; errors go back to the client, never thrown. */
  onMessage(ws: WebSocket, raw: string | ArrayBuffer): void {
    let id: ListenerId | null = null;
    try {
      const msg = parseShardFrame(raw);
      const socketId = this.sockets.idOf(ws);
      if (!socketId) throw new BlazeError("INTERNAL", "socket has no id");
      if (msg.op === "caller") return this.recheck(ws, socketId, msg.auth);
      id = msg.id;
      if (msg.op === "unlisten") {
        this.sql.exec(`DELETE FROM listeners WHERE socket_id = ? AND listener_id = ?`, socketId, JSON.stringify(id));
        return;
      }
      if ("query" in msg) {
        throw new BlazeError("FAILED_PRECONDITION", "query listeners are not available yet; listen to documents with {op:'listen', doc}");
      }
      this.listen(ws, socketId, msg.id, msg.doc, msg.resume);
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.sockets.send(ws, errorMessage(e.id, e.error));
        return;
      }
      if (!(e instanceof BlazeError)) console.error("blaze listener error", e);
      this.sockets.send(ws, errorMessage(id, e));
    }
  }

  private listen(ws: WebSocket, socketId: string, id: ListenerId, rawPath: string, resume?: string): void {
    const { path } = parseDocumentPath(rawPath);
    const owner = this.shardOf(path);
    if (owner !== this.store.shard) {
      throw new BlazeError("FAILED_PRECONDITION", `${path} is served by shard ${owner}; connect to /v1/listen?doc=${encodeURIComponent(path)}`, {
        shard: owner,
      });
    }
    const count = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM listeners WHERE socket_id = ?`, socketId).one().n;
    if (count >= MAX_LISTENERS_PER_SOCKET) {
      throw new BlazeError("RESOURCE_EXHAUSTED", `a socket may hold at most ${MAX_LISTENERS_PER_SOCKET} listeners per shard`);
    }
    const snap = this.store.snapshot(path);
    // Judged on the current document, resume or not: a resume token carries no rights.
    if (!this.mayRead(ws, path, snap?.data ?? null)) throw permissionDenied("get", path);
    const lastSeq = this.store.lastSeq();
    const from = resume === undefined ? null : resumeSeq(resume, this.store.shard);
    this.sql.exec(
      `INSERT OR REPLACE INTO listeners (socket_id, listener_id, path) VALUES (?, ?, ?)`,
      socketId, JSON.stringify(id), path,
    );
    if (from !== null && from <= lastSeq && from >= this.store.oldestRetainedSeq() - 1) {
      // One message per missed change, as live changes come, read page by
      // page: a message stays one document, and memory stays bounded.
      let after = from;
      let sent = 0;
      for (;;) {
        const page = this.store.changesAfter(after, { path, limit: REPLAY_PAGE });
        for (const c of page) {
          if (c.op === "set" && !this.mayRead(ws, path, c.data ?? null)) return this.deny(ws, socketId, JSON.stringify(id), path);
          if (!this.deliver(ws, socketId, { id, type: "snapshot", changes: [toDocChange(c)], resume: `${c.shard}:${c.seq}` })) return;
          sent++;
        }
        if (page.length < REPLAY_PAGE) break;
        after = page[page.length - 1].seq;
      }
      // Nothing missed: still confirm the listener and where it stands.
      if (sent === 0) this.deliver(ws, socketId, { id, type: "snapshot", changes: [], resume: `${this.store.shard}:${lastSeq}` });
      return;
    }
    const changes: DocChange[] = snap ? [{ type: "added", doc: snap, oldIndex: -1, newIndex: 0 }] : [];
    this.deliver(ws, socketId, {
      id, type: "snapshot", changes, resume: `${this.store.shard}:${lastSeq}`, initial: true,
      ...(from !== null ? { fresh: true as const } : {}),
    });
  }

  /**
   * The relay's socket has a new caller (a refreshed JWT): its listeners are
   * judged by it from now on, and any whose document it may not read ends
   * now (PERMISSION_DENIED), as if the document had just changed.
   */
  private recheck(ws: WebSocket, socketId: string, auth: AuthContext): void {
    this.sockets.setAuth(ws, auth);
    const rows = this.sql
      .exec<{ listener_id: string; path: string }>(`SELECT listener_id, path FROM listeners WHERE socket_id = ?`, socketId)
      .toArray();
    for (const r of rows) {
      const snap = this.store.snapshot(r.path);
      if (snap && !this.mayRead(ws, r.path, snap.data)) this.deny(ws, socketId, r.listener_id, r.path);
    }
  }

  /** Pushes committed changes to the listeners of their documents, in seq order. */
  broadcast(changes: Change[]): void {
    for (const change of changes) {
      const rows = this.sql
        .exec<{ socket_id: string; listener_id: string }>(`SELECT socket_id, listener_id FROM listeners WHERE path = ?`, change.path)
        .toArray();
      if (rows.length === 0) continue;
      // Serialised once for every listener (a 1 MB document to 1,000 listeners
      // must not cost 1 GB of JSON); only the id differs per message. The
      // listener id is stored as JSON, so it goes in as stored.
      const tail = `,"type":"snapshot","changes":[${JSON.stringify(toDocChange(change))}],"resume":"${change.shard}:${change.seq}"}`;
      for (const r of rows) {
        const ws = this.sockets.byId(r.socket_id);
        if (!ws) {
          this.forgetSocket(r.socket_id);
          continue;
        }
        if (change.op === "set" && !this.mayRead(ws, change.path, change.data ?? null)) {
          this.deny(ws, r.socket_id, r.listener_id, change.path);
          continue;
        }
        this.deliverText(ws, r.socket_id, `{"id":${r.listener_id}${tail}`);
      }
    }
  }

  /** Firestore ends a listener whose document the caller may not (or no longer) read. */
  private deny(ws: WebSocket, socketId: string, listenerJson: string, path: string): void {
    this.sql.exec(`DELETE FROM listeners WHERE socket_id = ? AND listener_id = ?`, socketId, listenerJson);
    this.deliverText(ws, socketId, `{"id":${listenerJson},"type":"error","error":${JSON.stringify(permissionDenied("get", path).toJSON())}}`);
  }

  /**
   * Sends, or gives the socket up: a listener must never silently miss a
   * change, so a failed send closes the socket (1011) and the client
   * reconnects with its resume token.
   */
  private deliver(ws: WebSocket, socketId: string, message: ServerMessage): boolean {
    return this.deliverText(ws, socketId, JSON.stringify(message));
  }

  private deliverText(ws: WebSocket, socketId: string, text: string): boolean {
    if (this.sockets.sendText(ws, text)) return true;
    this.forgetSocket(socketId);
    this.sockets.close(ws, 1011, "could not deliver a change; reconnect with your resume token");
    return false;
  }

  forgetSocket(socketId: string): void {
    this.sql.exec(`DELETE FROM listeners WHERE socket_id = ?`, socketId);
  }
}

function resumeSeq(resume: string, shard: number): number {
  const token = parseToken(resume);
  const seq = token.get(shard);
  if (seq === undefined) throw invalidArgument(`resume token ${resume} is not from shard ${shard}`);
  return seq;
}

function toDocChange(c: Change): DocChange {
  if (c.op === "delete") {
    return { type: "removed", doc: { path: c.path, id: c.path.slice(c.path.lastIndexOf("/") + 1) }, oldIndex: 0, newIndex: -1 };
  }
  const doc = changeToSnapshot(c)!;
  return c.existed ? { type: "modified", doc, oldIndex: 0, newIndex: 0 } : { type: "added", doc, oldIndex: -1, newIndex: 0 };
}
