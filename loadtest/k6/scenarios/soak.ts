// Soak: the mixed workload at a steady, paced rate (not closed-loop), run for
// minutes to show that memory, storage and latency stay flat. The rates fit
// a 2-core machine that also runs the server; raise them with SCALE / --scale.
import { queryRegisters, readDoc } from "../lib/ops.ts";
import { pick, rng, type Runtime } from "../lib/runtime.ts";
import { weighted, type Scenario } from "../lib/scenario.ts";
import { listenFor } from "./listeners.ts";
import { writeMix } from "./write-heavy.ts";

/** Runs `op`, then sleeps out the rest of `periodMs`, so each virtual user keeps a fixed rate while the server keeps up. */
export async function paced(rt: Runtime, periodMs: number, op: () => Promise<unknown>): Promise<void> {
  const start = rt.now();
  await op();
  const left = periodMs - (rt.now() - start);
  if (left > 0) await rt.sleep(left);
}

export const soak: Scenario = {
  name: "soak",
  description: "paced: 6 writers x 10 writes/s (70% PUT, 20% $increment, 10% batch into 8 batch documents renewed every 30 s), 2 readers x 5/s (GETs, queries), 10 sockets x 16 listeners renewed every 60 s",
  groups: {
    writers: { vus: 6, iteration: (rt, L) => paced(rt, 100, () => writeMix(rt, L)) },
    readers: {
      vus: 2,
      iteration: (rt, L) =>
        paced(rt, 200, () =>
          weighted(rt, rng(rt)(), [
            [40, () => readDoc(rt, pick(rt, L.registers))],
            [20, () => readDoc(rt, pick(rt, L.counters))],
            [40, () => queryRegisters(rt, L)],
          ]),
        ),
    },
    listeners: { vus: 10, iteration: (rt, L) => listenFor(rt, L, 60_000) },
  },
  thresholds: {
    "http_req_duration{name:write}": ["p(95)<1500"],
    "http_req_duration{name:query}": ["p(95)<2000"],
    listener_lag: ["p(95)<3000"],
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
  },
};
