/**
 * A run's history, as Jepsen and Elle record one: every operation with its
 * invocation and completion time and its outcome, every change a listener
 * heard, and the state read back at the end. Plain data, shared by the
 * scenarios (which record it), the Node harness and the checker
 * (loadtest/lib/checker.ts). Under k6 nothing is recorded (NO_HISTORY).
 */

/** ok: acknowledged; fail: refused, certainly not applied; info: unknown (a timeout, a 5xx, a dropped connection). */
export type Outcome = "ok" | "fail" | "info";

export interface DocSnap {
  path: string;
  version: number;
  data: Record<string, unknown>;
}

/**
 * What the workload does, by kind of document (one kind per path):
 * registers are replaced whole by `write` (data `{tag, ...}`, tags unique per run);
 * batch documents only take `batch` merges of `{seen: {<batch id>: true}}`;
 * counters only take `increment` merges of `{n: {$increment: amount}}`.
 */
export type OpInput =
  | { f: "write"; path: string; tag: string }
  | { f: "batch"; id: string; paths: string[] }
  | { f: "increment"; path: string; amount: number; key: string }
  | { f: "read"; path: string }
  | { f: "query"; collection: string };

export interface OpResult {
  /** write, increment: the version written. */
  version?: number;
  /** batch: the version written per path, in `paths` order. */
  versions?: number[];
  /** read: the document, or null when it does not exist. */
  doc?: DocSnap | null;
  /** query: the documents returned. */
  docs?: DocSnap[];
}

export interface Op {
  id: number;
  process: number;
  input: OpInput;
  invokedAt: number;
  completedAt: number;
  outcome: Outcome;
  result?: OpResult;
  error?: string;
}

/** What a listener covers: some documents, or a whole collection (a query listener). */
export type Scope = { docs: string[] } | { collection: string };

/**
 * One thing a listener heard. `reset` starts a new whole snapshot (a first
 * listen, a reconnect without a usable resume token); `doc: null` is a removal.
 */
export type ListenEvent =
  | { listener: string; at: number; reset: true }
  | { listener: string; at: number; path: string; doc: DocSnap | null };

export interface FinalState {
  /** GET of every path the run touched, after the load stopped. */
  reads: Record<string, DocSnap | null>;
  /** POST /v1/query of every collection the run touched (all pages). */
  index: DocSnap[];
  /** Each listener's state once it caught up (or gave up trying). */
  listeners: Record<string, { scope: Scope; docs: DocSnap[] }>;
}

export interface History {
  ops: Op[];
  events: ListenEvent[];
  final?: FinalState;
}

/** What the scenarios record through; the k6 runtime's records nothing. */
export interface Recorder {
  invoke(process: number, input: OpInput): (outcome: Outcome, result?: OpResult, error?: string) => void;
  listened(event: ListenEvent): void;
}

export const NO_HISTORY: Recorder = {
  invoke: () => () => {},
  listened: () => {},
};

/** Records into a History in memory (the Node harness). */
export function memoryRecorder(now: () => number): { recorder: Recorder; history: History } {
  const history: History = { ops: [], events: [] };
  let next = 0;
  const recorder: Recorder = {
    invoke(process, input) {
      const id = next++;
      const invokedAt = now();
      return (outcome, result, error) => {
        history.ops.push({ id, process, input, invokedAt, completedAt: now(), outcome, result, ...(error ? { error } : {}) });
      };
    },
    listened: (event) => void history.events.push(event),
  };
  return { recorder, history };
}
