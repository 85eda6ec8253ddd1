/** What the SDK tests share. */
import { exports } from "cloudflare:workers";
import { initializeBlaze, type BlazeError, type SocketLike } from "blaze/sdk";
import { BASE } from "./helpers";

/** Collects a listener's snapshots; `next()` waits for the following one. */
export function collector<S>() {
  const got: S[] = [];
  const errors: BlazeError[] = [];
  let taken = 0;
  return {
    got,
    errors,
    onNext: (s: S) => void got.push(s),
    onError: (e: BlazeError) => void errors.push(e),
    async next(timeoutMs = 5000): Promise<S> {
      const end = Date.now() + timeoutMs;
      while (got.length <= taken) {
        if (errors.length) throw errors[0];
        if (Date.now() > end) throw new Error(`no snapshot #${taken + 1} in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got[taken++];
    },
  };
}

export /** A database whose HTTP and socket both go to the Worker under test; `sockets` holds every socket it opened. */
function open() {
  const sockets: WebSocket[] = [];
  const db = initializeBlaze({
    url: BASE,
    fetch: (req) => exports.default.fetch(req),
    listenIdleMs: 50,
    webSocket: async (url) => {
      const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
      const ws = res.webSocket;
      if (!ws) throw new Error(`no socket: ${res.status}`);
      ws.accept();
      sockets.push(ws);
      return ws as unknown as SocketLike;
    },
  });
  return { db, sockets };
}
