// Benchmark entry: `npm run bench -- <scenario>` (write, query, ingest, live, fanout, sdk-size, auth, search, verify; default: all).
// Each scenario starts its own `wrangler dev` on a fresh state folder, runs
// Blaze and its baselines side by side in one run, prints the figures and the
// ratios, and writes them to bench-results/<scenario>.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib/dev-server.mjs";

const scenarios = {
  write: () => import("./scenarios/write.mjs"),
  query: () => import("./scenarios/query.mjs"),
  ingest: () => import("./scenarios/ingest.mjs"),
  live: () => import("./scenarios/live.mjs"),
  fanout: () => import("./scenarios/fanout.mjs"),
  "sdk-size": () => import("./scenarios/sdk-size.mjs"),
  auth: () => import("./scenarios/auth.mjs"),
  search: () => import("./scenarios/search.mjs"),
  verify: () => import("./scenarios/verify.mjs"),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const names = wanted.length ? wanted : Object.keys(scenarios);
for (const name of names) {
  if (!scenarios[name]) {
    console.error(`unknown scenario ${name}; choose from: ${Object.keys(scenarios).join(", ")}`);
    process.exit(2);
  }
}
mkdirSync(join(ROOT, "bench-results"), { recursive: true });
for (const name of names) {
  console.log(`\n== ${name} (node ${process.version}, command: npm run bench -- ${name})`);
  const { run } = await scenarios[name]();
  const result = await run();
  writeFileSync(join(ROOT, "bench-results", `${name}.json`), JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2));
}
process.exit(0);
