/**
 * What a scenario needs from the engine that runs it, k6 or Node: one
 * interface, two implementations (loadtest/k6/lib/k6-runtime.ts and
 * loadtest/lib/harness/node-runtime.ts). The scenarios import nothing else,
 * so the same code runs under `k6 run` and `npm run loadtest`.
 */
import type { Recorder } from "./history.ts";

export interface Res {
  /** 0 when no answer came (connection refused or dropped, timeout). */
  status: number;
  /** The JSON body, or null. */
  body: any;
  /** The connection was refused: the request certainly never reached the server. */
  notSent?: boolean;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Statuses that are expected answers, not errors (beside 2xx), e.g. 409 for a batch that met a lock. */
  expect?: number[];
}

/** The part of the WHATWG WebSocket that k6/websockets and Node's global WebSocket share. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export interface Runtime {
  /** BLAZE_URL, without a trailing slash. */
  url: string;
  /** BLAZE_KEY, or "". */
  key: string;
  /** This virtual user (1-based) and its iteration (0-based). */
  vu: number;
  iter: number;
  /** Names this run's collections, so runs never meet. */
  run: string;
  /** Kept across this virtual user's iterations. */
  state: Record<string, any>;
  /** `name` groups the request in the metrics (k6's `name` tag). */
  request(name: string, method: string, path: string, body?: unknown, options?: RequestOptions): Promise<Res>;
  check(name: string, ok: boolean): boolean;
  /** A custom latency sample (ms), e.g. listener_lag. */
  trend(metric: string, ms: number): void;
  openSocket(url: string): SocketLike;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** True once the run is winding down (Node harness); k6 ends iterations itself. */
  stopping(): boolean;
  history: Recorder;
}

/** The headers every request carries: JSON, and the key when there is one. */
export function baseHeaders(rt: Runtime): Record<string, string> {
  const h: Record<string, string> = { "Content-Type": "application/json" };
  if (rt.key) h.Authorization = `Bearer ${rt.key}`;
  return h;
}

/** The listen socket's URL: no credential in it (the key goes in the first message, as the SDK sends it: authFrame). */
export function listenUrl(rt: Runtime): string {
  return `${rt.url.replace(/^http/, "ws")}/v1/listen`;
}

/** The listen socket's first message when there is a key (docs/security.md, "WebSockets"); null without one. */
export function authFrame(rt: Runtime): string | null {
  return rt.key ? JSON.stringify({ op: "auth", key: rt.key }) : null;
}

/** A small deterministic generator per virtual user (k6 and Node alike; no crypto needed). */
export function rng(rt: Runtime): () => number {
  if (!rt.state.rng) {
    let s = (rt.vu * 2654435761) >>> 0 || 1;
    rt.state.rng = () => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s / 4294967296;
    };
  }
  return rt.state.rng;
}

export const pick = <T>(rt: Runtime, xs: readonly T[]): T => xs[Math.floor(rng(rt)() * xs.length)];
