/**
 * A scenario: groups of virtual users, each running its own iteration in a
 * loop, and the thresholds that decide whether the run passed. k6 gets it as
 * `options.scenarios` (one constant-vus executor per group, `exec` naming the
 * group's exported function); the Node harness runs the same groups itself.
 */
import type { Layout } from "./ops.ts";
import type { Runtime } from "./runtime.ts";

export interface Group {
  vus: number;
  iteration(rt: Runtime, L: Layout): Promise<void>;
}

export interface Scenario {
  name: string;
  description: string;
  groups: Record<string, Group>;
  /** k6 threshold syntax: metric (optionally `{name:...}`) to expressions like `p(95)<500`, `rate<0.01`. */
  thresholds: Record<string, string[]>;
}

/** k6 options for a scenario: `duration` like "30s", `scale` multiplies every group's virtual users. */
export function k6Options(s: Scenario, duration: string, scale: number) {
  const scenarios: Record<string, { executor: "constant-vus"; vus: number; duration: string; exec: string; gracefulStop: string }> = {};
  for (const [name, g] of Object.entries(s.groups)) {
    scenarios[name] = { executor: "constant-vus", vus: Math.max(1, Math.round(g.vus * scale)), duration, exec: name, gracefulStop: "15s" };
  }
  return { scenarios, thresholds: s.thresholds };
}

/** Runs one of `ops` chosen by weight. */
export async function weighted(rt: Runtime, r: number, ops: [number, () => Promise<unknown>][]): Promise<void> {
  const total = ops.reduce((s, [w]) => s + w, 0);
  let x = r * total;
  for (const [w, op] of ops) {
    if ((x -= w) < 0) return void (await op());
  }
  await ops[ops.length - 1][1]();
}
