/**
 * The load harness (loadtest/lib/harness/run.ts) inside workerd: requests and
 * listen sockets go to the real Worker in-process (exports.default.fetch)
 * instead of over the network, so a workers test can run a checked load
 * against real DO storage, real D1 and the real queue while it injects
 * faults at the glue (test hooks, DO eviction).
 */
import { exports } from "cloudflare:workers";
import type { SocketLike } from "../../loadtest/k6/lib/runtime";
import type { Transport } from "../../loadtest/lib/harness/node-runtime";

export const IN_PROCESS_URL = "http://blaze.test";

/** A listen socket over the Worker's upgrade response, shaped like the WHATWG WebSocket the scenarios use. */
function upgradeSocket(url: string, closed: () => void): SocketLike {
  let ws: WebSocket | null = null;
  let closeAsked = false;
  const socket: SocketLike & { readyState: number } = {
    readyState: 0,
    send: (data) => ws?.send(data),
    close: () => {
      closeAsked = true;
      try {
        ws?.close(1000, "done");
      } catch {
        // already closed
      }
    },
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  let ended = false;
  const end = (event: unknown) => {
    if (ended) return;
    ended = true;
    socket.readyState = 3;
    closed();
    socket.onclose?.(event);
  };
  exports.default
    .fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }))
    .then((res) => {
      if (!res.webSocket) return end({ code: 1006, reason: `status ${res.status}` });
      ws = res.webSocket;
      ws.accept();
      ws.addEventListener("message", (e) => socket.onmessage?.({ data: e.data }));
      ws.addEventListener("close", (e) => end(e));
      ws.addEventListener("error", (e) => {
        socket.onerror?.(e);
        end(e);
      });
      socket.readyState = 1;
      if (closeAsked) return socket.close();
      socket.onopen?.({});
    })
    .catch((e) => end({ code: 1006, reason: String(e) }));
  return socket;
}

/**
 * In one workerd isolate a loop of in-process requests is never idle, and
 * timers fire only when the event loop is: without a pause per request the
 * run's own clock (its duration, the listeners' hold times) never ticks.
 */
const yieldToTimers = () => new Promise((r) => setTimeout(r, 1));

export const inProcess: Transport = {
  fetch: async (request) => {
    await yieldToTimers();
    return exports.default.fetch(request);
  },
  openSocket: upgradeSocket,
};
