/**
 * The Node side of the Runtime (loadtest/k6/lib/runtime.ts): fetch, Node's
 * WebSocket, timers; every request timed into Metrics as k6 would, every
 * operation recorded into the run's history for the checker.
 */
import type { Recorder } from "../../k6/lib/history.ts";
import type { Res, Runtime, SocketLike } from "../../k6/lib/runtime.ts";
import type { Metrics } from "./metrics.ts";

/** What all the virtual users of one run share. */
export interface RunContext {
  url: string;
  key: string;
  run: string;
  metrics: Metrics;
  recorder: Recorder;
  sockets: Set<{ close(): void }>;
  stopping: boolean;
  /** How requests and listen sockets reach Blaze: fetch and Node's WebSocket unless given (workers tests call the Worker in-process). */
  transport?: Transport;
}

export interface Transport {
  fetch(request: Request): Promise<Response>;
  /** `closed` is called once the socket is closed, whatever its handlers are by then. */
  openSocket(url: string, closed: () => void): SocketLike;
}

const TIMEOUT_MS = 30_000;

function refused(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } })?.cause;
  return cause?.code === "ECONNREFUSED";
}

export function nodeRuntime(ctx: RunContext, vu: number): Runtime {
  const rt: Runtime = {
    url: ctx.url,
    key: ctx.key,
    vu,
    iter: 0,
    run: ctx.run,
    state: {},
    async request(name, method, path, body, options = {}): Promise<Res> {
      const t0 = performance.now();
      let res: Res = { status: 0, body: null };
      try {
        const request = new Request(ctx.url + path, {
          method,
          headers: options.headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        const answer = await (ctx.transport ? ctx.transport.fetch(request) : fetch(request));
        const text = await answer.text();
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {}
        res = { status: answer.status, body: parsed };
      } catch (e) {
        res = { status: 0, body: null, ...(refused(e) ? { notSent: true } : {}) };
      }
      const ok = (res.status >= 200 && res.status < 300) || (options.expect ?? []).includes(res.status);
      ctx.metrics.request(name, performance.now() - t0, !ok);
      return res;
    },
    check(name, ok) {
      ctx.metrics.check(name, ok);
      return ok;
    },
    trend: (metric, ms) => ctx.metrics.trend(metric, ms),
    openSocket(url): SocketLike {
      if (ctx.transport) {
        const s = ctx.transport.openSocket(url, () => ctx.sockets.delete(s));
        ctx.sockets.add(s);
        return s;
      }
      const ws = new WebSocket(url);
      ctx.sockets.add(ws);
      ws.addEventListener("close", () => ctx.sockets.delete(ws));
      return ws as unknown as SocketLike;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    stopping: () => ctx.stopping,
    history: ctx.recorder,
  };
  return rt;
}
