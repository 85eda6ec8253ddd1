// `npm run loadtest -- <scenario> [--duration 30] [--scale 1] [--no-check]`:
// runs a k6 scenario (loadtest/k6/scenarios/) in Node against BLAZE_URL (with
// BLAZE_KEY), or against a `wrangler dev` it starts on a fresh state folder;
// prints progress and k6's summary, checks the history, and writes
// loadtest/results/<scenario>-<time>.json and .svg. With its own server it also
// samples the server's memory and storage, and a run of 2 minutes or more fails
// when memory or latency grew (resources.ts). Exit code 1 on a failed threshold,
// check or flatness.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SCENARIOS } from "../../k6/scenarios/index.ts";
import { migrate, ROOT, startDevServer, type DevServer } from "../dev-server.mjs";
import { chartSvg } from "./chart.ts";
import { flatness, startSampler } from "./resources.ts";
import { runScenario } from "./run.ts";
import { summary } from "./summary.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { duration: { type: "string", default: "30" }, scale: { type: "string", default: "1" }, "no-check": { type: "boolean", default: false } },
});
const name = positionals[0];
const scenario = SCENARIOS[name ?? ""];
if (!scenario) {
  console.error(`usage: npm run loadtest -- <scenario> [--duration seconds] [--scale n] [--no-check]\nscenarios: ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}

let server: DevServer | undefined;
let persistTo: string | undefined;
let url = process.env.BLAZE_URL;
if (!url) {
  persistTo = mkdtempSync(join(tmpdir(), "blaze-loadtest-"));
  console.log(`no BLAZE_URL: starting wrangler dev (state in ${persistTo})`);
  await migrate({ persistTo });
  server = await startDevServer({ persistTo });
  url = server.url;
}
// Memory and storage are only visible for a server of our own (a soak run's verdict).
const sampler = server && persistTo ? startSampler({ pgid: server.pid, persistTo }) : undefined;
try {
  const { result } = await runScenario(scenario, {
    url,
    key: process.env.BLAZE_KEY,
    durationMs: Number(values.duration) * 1000,
    scale: Number(values.scale),
    check: !values["no-check"],
  });
  if (sampler) {
    result.resources = sampler.stop();
    if (result.seconds >= 120) {
      result.flatness = flatness(result.resources, result.timeline, result.seconds);
      result.passed &&= result.flatness.ok;
    }
  }
  console.log(summary(result));
  const dir = join(ROOT, "loadtest", "results");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${scenario.name}-${result.startedAt.replace(/[:.]/g, "-")}`);
  writeFileSync(`${base}.json`, JSON.stringify({ command: `npm run loadtest -- ${process.argv.slice(2).join(" ")}`, node: process.version, ...result }, null, 2));
  writeFileSync(`${base}.svg`, chartSvg(result));
  console.log(`  wrote ${base}.json and .svg`);
  process.exitCode = result.passed ? 0 : 1;
} finally {
  await server?.stop();
  if (persistTo) rmSync(persistTo, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
