// Listener fan-out: many sockets, each with document listeners and a query
// listener, while a few writers change what they listen to. listener_lag is
// the time from a write to each listener hearing it.
import { listenSession, type ListenSpec } from "../lib/listener.ts";
import { batchDocsOf, generationAt, LISTEN_AHEAD_MS, type Layout } from "../lib/ops.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { Scenario } from "../lib/scenario.ts";
import { writeMix } from "./write-heavy.ts";

/**
 * Three registers (by virtual user), the batch documents in use (and the
 * next generation's, shortly before it starts), every counter, and the
 * register collection. Ids name the document, so a listener keeps its id
 * (and its history) from session to session.
 */
export function listenSpecs(rt: Runtime, L: Layout, now: number): ListenSpec[] {
  const regs = [0, 1, 2].map((i) => (rt.vu * 3 + i) % L.registers.length);
  const gens = [...new Set([generationAt(L, now), generationAt(L, now + LISTEN_AHEAD_MS)])];
  const idOf = (doc: string) => doc.slice(doc.lastIndexOf("/") + 1);
  return [
    ...regs.map((i) => ({ id: `r${i}`, doc: L.registers[i] })),
    ...gens.flatMap((g) => batchDocsOf(L, g)).map((doc) => ({ id: idOf(doc), doc })),
    ...L.counters.map((doc) => ({ id: idOf(doc), doc })),
    { id: "q", collection: L.reg },
  ];
}

/** One socket held for about `holdMs` (or until the run stops), then closed and opened again next iteration. */
export async function listenFor(rt: Runtime, L: Layout, holdMs: number): Promise<void> {
  const until = rt.now() + holdMs;
  await listenSession(rt, () => listenSpecs(rt, L, rt.now()), () => rt.stopping() || rt.now() >= until);
}

export const listeners: Scenario = {
  name: "listeners",
  description: "20 sockets x 16 listeners (15 documents + 1 query), sockets renewed every 15 s; 2 writers paced at ~10 writes/s each",
  groups: {
    listeners: { vus: 20, iteration: (rt, L) => listenFor(rt, L, 15_000) },
    writers: {
      vus: 2,
      iteration: async (rt, L) => {
        await writeMix(rt, L);
        await rt.sleep(100);
      },
    },
  },
  thresholds: {
    listener_lag: ["p(95)<2000"],
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.95"],
  },
};
