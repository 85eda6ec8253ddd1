/** The end-of-run summary, laid out like k6's: per request name, trends, checks, thresholds, and the history check. */
import { fmt } from "../measure.mjs";
import type { Stat } from "./metrics.ts";
import type { RunResult } from "./run.ts";

const row = (name: string, s: Stat, unit = "ms") =>
  `  ${name.padEnd(16)} ${String(s.n).padStart(7)} ${fmt(s.perSecond, 1).padStart(8)}/s ${[s.p50, s.p95, s.p99, s.max].map((x) => `${fmt(x, 1)} ${unit}`.padStart(11)).join("")} ${String(s.failed).padStart(7)}`;

export function summary(r: RunResult): string {
  const lines: string[] = [];
  lines.push(`\n${r.scenario}: ${r.seconds.toFixed(1)} s, ${Object.values(r.groups).reduce((a, b) => a + b, 0)} virtual users, run ${r.run}`);
  lines.push(`  ${"request".padEnd(16)} ${"count".padStart(7)} ${"rate".padStart(10)} ${["p50", "p95", "p99", "max"].map((h) => h.padStart(11)).join("")} ${"errors".padStart(7)}`);
  for (const [name, s] of Object.entries(r.requests).sort()) lines.push(row(name, s));
  lines.push(row("all", r.total));
  for (const [name, s] of Object.entries(r.trends)) lines.push(row(name, { ...s, failed: 0 }));
  let pass = 0;
  let total = 0;
  for (const c of Object.values(r.checks)) {
    pass += c.pass;
    total += c.pass + c.fail;
  }
  lines.push(`  checks: ${total ? fmt((100 * pass) / total, 2) : "100"}% (${pass}/${total})`);
  for (const [name, c] of Object.entries(r.checks)) lines.push(`    ${c.fail ? "✗" : "✓"} ${name}${c.fail ? `: ${c.fail} of ${c.pass + c.fail} failed` : ""}`);
  if (r.iterationErrors) lines.push(`  iterations that threw: ${r.iterationErrors}`);
  lines.push("  thresholds:");
  for (const t of r.thresholds) lines.push(`    ${t.ok ? "✓" : "✗"} ${t.metric} ${t.expression} (${fmt(t.value, 3)})`);
  if (r.check) {
    const c = r.check;
    const s = c.stats;
    lines.push(
      `  history check: ${c.ok ? "PASS" : "FAIL"}: ${s.ops} operations (acknowledged ${s.ok}, refused ${s.fail}, unknown ${s.info}), ${s.listenEvents} listener events on ${s.listeners} listeners, ${s.paths} documents`,
    );
    for (const [kind, n] of Object.entries(c.counts)) lines.push(`    ${kind}: ${n}`);
    for (const a of c.anomalies.slice(0, 10)) lines.push(`    - ${a.kind} ${a.path ?? ""}: ${a.detail}`);
  }
  if (r.resources?.length) {
    const [a, z] = [r.resources[0], r.resources[r.resources.length - 1]];
    lines.push(`  server: memory ${fmt(a.rssMB, 0)} -> ${fmt(z.rssMB, 0)} MB (workerd ${fmt(a.workerdMB, 0)} -> ${fmt(z.workerdMB, 0)} MB), Durable Object storage ${fmt(a.doMB, 1)} -> ${fmt(z.doMB, 1)} MB, D1 ${fmt(a.d1MB, 1)} -> ${fmt(z.d1MB, 1)} MB`);
  }
  if (r.flatness) {
    const f = r.flatness;
    lines.push(
      `  flatness (last quarter / second quarter): memory ${fmt(f.rss, 2)}x, request p95 ${fmt(f.p95, 2)}x, DO storage ${fmt(f.doStorage, 2)}x, D1 ${fmt(f.d1Storage, 2)}x: ${f.ok ? "flat" : "GROWING"}`,
    );
  }
  lines.push(`  result: ${r.passed ? "PASS" : "FAIL"}`);
  return lines.join("\n");
}
