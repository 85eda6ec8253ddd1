/**
 * Listeners on one `GET /v1/listen` socket per virtual user
 * (docs/live.md): document and query listeners resume from their last token
 * after a reconnect (a query listener whose live query cannot serve the token
 * gets a fresh snapshot, flagged). What each one
 * holds is kept across sessions (in the runtime's per-user state) and every
 * change heard is recorded in the history; `listener_lag` is the time from a
 * write (its `at` field) to the change arriving.
 */
import type { DocSnap, Scope } from "./history.ts";
import { snap } from "./ops.ts";
import { authFrame, listenUrl, type Runtime, type SocketLike } from "./runtime.ts";

export type ListenSpec = { id: string; doc: string } | { id: string; collection: string };

export interface Listening {
  name: string;
  spec: ListenSpec;
  scope: Scope;
  resume?: string;
  docs: Map<string, DocSnap>;
}

/**
 * The listeners for `specs`, made on first use and kept in the runtime's
 * per-user state (`state.listeners`: every listener this user ever had, so
 * the end of a run brings them all up to date, not only the current ones).
 */
export function listenersOf(rt: Runtime, specs: ListenSpec[]): Listening[] {
  const all: Listening[] = (rt.state.listeners ??= []);
  const byId: Map<string, Listening> = (rt.state.listenerById ??= new Map(all.map((l) => [l.spec.id, l])));
  return specs.map((spec) => {
    let l = byId.get(spec.id);
    if (!l) {
      l = { name: `${rt.vu}:${spec.id}`, spec, scope: "doc" in spec ? { docs: [spec.doc] } : { collection: spec.collection }, docs: new Map() };
      all.push(l);
      byId.set(spec.id, l);
    }
    return l;
  });
}

function listenFrame(l: Listening) {
  if ("doc" in l.spec) return { op: "listen", id: l.spec.id, doc: l.spec.doc, ...(l.resume ? { resume: l.resume } : {}) };
  return { op: "listen", id: l.spec.id, query: { from: { collection: l.spec.collection } }, ...(l.resume ? { resume: l.resume } : {}) };
}

/**
 * One socket session: listens to every spec, applies what arrives, and
 * closes once `until()` holds (checked every 100 ms) or the socket drops.
 * `specs` is asked again at every check: specs that appear meanwhile (the
 * next generation of batch documents) are listened to on the same socket.
 */
export async function listenSession(rt: Runtime, specs: () => ListenSpec[], until: (ls: Listening[]) => boolean): Promise<void> {
  const byId = new Map<string, Listening>();
  const resumed = new Set<string>();
  let closed = false;
  let opened = false;
  let ws: SocketLike;
  try {
    ws = rt.openSocket(listenUrl(rt));
  } catch {
    rt.check("listen socket opened", false);
    return;
  }
  const send = (l: Listening) => {
    if (l.resume) resumed.add(l.spec.id);
    if (!closed) ws.send(JSON.stringify(listenFrame(l)));
  };
  /** Takes on the specs not listened to yet (sent now if the socket is open, else on open). */
  const follow = () => {
    for (const l of listenersOf(rt, specs())) {
      if (byId.has(l.spec.id)) continue;
      byId.set(l.spec.id, l);
      if (opened) send(l);
    }
  };
  follow();
  ws.onopen = () => {
    rt.check("listen socket opened", true);
    opened = true;
    // First, so the listens behind it are judged as the key's caller.
    const auth = authFrame(rt);
    if (auth) ws.send(auth);
    byId.forEach(send);
  };
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data));
    const l = byId.get(msg.id);
    if (!l) return;
    if (msg.type === "error") {
      // A shard restarted or a deploy moved it: listen again (from the resume token) and nothing is missed.
      const retry = msg.error?.code === "UNAVAILABLE";
      rt.check("listener kept", retry);
      if (retry) rt.sleep(250).then(() => send(l));
      return;
    }
    if (msg.type !== "snapshot") return;
    const now = rt.now();
    if (msg.initial && (!resumed.has(l.spec.id) || msg.fresh)) {
      l.docs.clear();
      rt.history.listened({ listener: l.name, at: now, reset: true });
    }
    for (const c of msg.changes ?? []) {
      const path = c.doc.path;
      if (c.type === "removed") {
        l.docs.delete(path);
        rt.history.listened({ listener: l.name, at: now, path, doc: null });
        continue;
      }
      const doc = snap(c.doc);
      l.docs.set(path, doc);
      rt.history.listened({ listener: l.name, at: now, path, doc });
      // Lag is write-to-listener time while the run goes on; the final catch-up replays what listeners of past
      // generations missed long ago, which measures their absence, not the pipeline.
      if (!msg.initial && !rt.stopping() && typeof doc.data.at === "number") rt.trend("listener_lag", now - doc.data.at);
    }
    if (msg.resume) l.resume = msg.resume;
  };
  const ended = new Promise<void>((resolve) => {
    ws.onclose = () => {
      closed = true;
      resolve();
    };
  });
  ws.onerror = () => {};
  const current = () => [...byId.values()];
  while (!closed && !until(current())) {
    await Promise.race([rt.sleep(100), ended]);
    follow();
  }
  if (!closed) {
    closed = true;
    ws.close();
  } else {
    // Dropped (or never opened: the server is down): pause before the next session rather than spin.
    await rt.sleep(500);
  }
}
