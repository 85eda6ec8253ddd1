/**
 * The k6 side of the Runtime (loadtest/k6/lib/runtime.ts): k6/http's
 * asyncRequest (timed by k6 as http_req_duration, tagged by `name`),
 * k6/websockets, k6/timers. Records no history: k6's virtual users share
 * nothing, so the checker runs under the Node harness only.
 */
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Trend } from "k6/metrics";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { NO_HISTORY } from "./history.ts";
import { layout } from "./ops.ts";
import type { Res, Runtime, SocketLike } from "./runtime.ts";
import { k6Options, type Scenario } from "./scenario.ts";

const trends: Record<string, Trend> = { listener_lag: new Trend("listener_lag", true) };
/** Per virtual user, across iterations (each VU has its own copy of this module). */
const state: Record<string, any> = {};

export interface RunData {
  run: string;
  /** When the run began: every virtual user counts the generations of batch documents from it. */
  start: number;
}

function runtime(data: RunData): Runtime {
  const url = (__ENV.BLAZE_URL || "http://127.0.0.1:8787").replace(/\/$/, "");
  return {
    url,
    key: __ENV.BLAZE_KEY || "",
    vu: exec.vu.idInTest,
    iter: exec.vu.iterationInScenario,
    run: data.run,
    state,
    async request(name, method, path, body, options = {}): Promise<Res> {
      const res = await http.asyncRequest(method, url + path, body === undefined ? null : JSON.stringify(body), {
        headers: options.headers,
        tags: { name },
        timeout: "30s",
        responseCallback: http.expectedStatuses({ min: 200, max: 299 }, ...(options.expect ?? [])),
      });
      let parsed: unknown = null;
      try {
        parsed = res.body ? JSON.parse(String(res.body)) : null;
      } catch {}
      return { status: res.status, body: parsed };
    },
    check: (name, ok) => check(ok, { [name]: (v) => v }),
    trend: (metric, ms) => trends[metric]?.add(ms),
    openSocket: (u) => new WebSocket(u) as unknown as SocketLike,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    stopping: () => false,
    history: NO_HISTORY,
  };
}

/** What a k6 entry exports: options, setup (names the run), and one function per group. */
export function k6Entry(s: Scenario) {
  const options = k6Options(s, __ENV.DURATION || "30s", Number(__ENV.SCALE || 1));
  const setup = (): RunData => ({ run: __ENV.RUN_ID || Date.now().toString(36), start: Date.now() });
  const group = (name: string) => (data: RunData) => s.groups[name].iteration(runtime(data), layout(data.run, data.start));
  return { options, setup, group };
}
