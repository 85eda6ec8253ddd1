// Mixed: writes, batches and increments, reads and queries, and listeners at
// once; the workload the history checker judges under faults.
import { batchDocsAt, queryRegisters, readDoc } from "../lib/ops.ts";
import { pick, rng } from "../lib/runtime.ts";
import { weighted, type Scenario } from "../lib/scenario.ts";
import { listenFor } from "./listeners.ts";
import { writeMix } from "./write-heavy.ts";

export const mixed: Scenario = {
  name: "mixed",
  description: "3 writers (70% PUT, 20% $increment, 10% batch), 2 readers (GET of every kind, queries), 6 sockets x 16 listeners",
  groups: {
    writers: { vus: 3, iteration: (rt, L) => writeMix(rt, L) },
    readers: {
      vus: 2,
      iteration: (rt, L) =>
        weighted(rt, rng(rt)(), [
          [40, () => readDoc(rt, pick(rt, L.registers))],
          [15, () => readDoc(rt, pick(rt, batchDocsAt(L, rt.now())))],
          [15, () => readDoc(rt, pick(rt, L.counters))],
          [30, () => queryRegisters(rt, L)],
        ]),
    },
    listeners: { vus: 6, iteration: (rt, L) => listenFor(rt, L, 10_000) },
  },
  thresholds: {
    "http_req_duration{name:write}": ["p(95)<1500"],
    "http_req_duration{name:query}": ["p(95)<2000"],
    listener_lag: ["p(95)<3000"],
    http_req_failed: ["rate<0.02"],
    checks: ["rate>0.95"],
  },
};
