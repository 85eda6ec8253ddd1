/**
 * A run's timeline as a self-contained SVG: requests per second on top,
 * latency percentiles (p50, p95, p99, and listener lag p95) below, one point
 * per second. Hand-drawn polylines, no chart library.
 */
import type { RunResult } from "./run.ts";

const W = 760;
const PANEL = 180;
const LEFT = 60;
const RIGHT = 130;
const TOP = 56;
const GAP = 50;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A "nice" upper bound for an axis. */
function ceilNice(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x)!;
}

function panel<P extends { t: number }>(points: P[], y0: number, title: string, unit: string, series: { key: keyof P; color: string; label: string }[]): string {
  const plotW = W - LEFT - RIGHT;
  const values = series.flatMap((s) => points.map((p) => p[s.key] as number | undefined)).filter((v): v is number => v !== undefined);
  const max = ceilNice(Math.max(1, ...values));
  const tMax = Math.max(1, points.length - 1);
  const x = (t: number) => LEFT + (t / tMax) * plotW;
  const y = (v: number) => y0 + PANEL - (v / max) * PANEL;
  const out: string[] = [`<text x="${LEFT}" y="${y0 - 10}" class="title">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" class="tick" text-anchor="end">${+v.toPrecision(3)}${i === 4 ? ` ${unit}` : ""}</text>`);
  }
  for (let t = 0; t <= tMax; t += Math.max(1, Math.ceil(tMax / 10))) {
    out.push(`<text x="${x(t)}" y="${y0 + PANEL + 16}" class="tick" text-anchor="middle">${t}s</text>`);
  }
  series.forEach((s, i) => {
    const segments: string[][] = [[]];
    for (const p of points) {
      const v = p[s.key] as number | undefined;
      if (v === undefined) segments.push([]);
      else segments[segments.length - 1].push(`${x(p.t).toFixed(1)},${y(v).toFixed(1)}`);
    }
    for (const seg of segments.filter((sg) => sg.length)) {
      out.push(`<polyline points="${seg.join(" ")}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    }
    out.push(`<line x1="${W - RIGHT + 12}" x2="${W - RIGHT + 30}" y1="${y0 + 10 + i * 18}" y2="${y0 + 10 + i * 18}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${W - RIGHT + 36}" y="${y0 + 14 + i * 18}" class="tick">${esc(s.label)}</text>`);
  });
  return out.join("\n");
}

export function chartSvg(r: RunResult): string {
  const memory = r.resources?.length ? 1 : 0;
  const H = TOP + (2 + memory) * PANEL + (1 + memory) * GAP + 40;
  const check = r.check ? `, history check ${r.check.ok ? "PASS" : "FAIL"}` : "";
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif">
<style>.title{font-size:13px;font-weight:600}.tick{font-size:11px;fill:#444}.grid{stroke:#e3e3e3}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${LEFT}" y="18" class="title">${esc(`npm run loadtest -- ${r.scenario}: ${r.total.n} requests in ${r.seconds.toFixed(0)} s${check}`)}</text>
${panel(r.timeline, TOP + 10, "throughput", "req/s", [
  { key: "perSecond", color: "#1f77b4", label: "requests/s" },
  { key: "failed", color: "#d62728", label: "errors/s" },
])}
${panel(r.timeline, TOP + PANEL + GAP, "latency", "ms", [
  { key: "p50", color: "#2ca02c", label: "p50" },
  { key: "p95", color: "#ff7f0e", label: "p95" },
  { key: "p99", color: "#d62728", label: "p99" },
  { key: "lagP95", color: "#9467bd", label: "listener lag p95" },
])}
${memory ? panel(r.resources!, TOP + 2 * PANEL + 2 * GAP - 10, "server", "MB", [
  { key: "rssMB", color: "#8c564b", label: "memory (RSS)" },
  { key: "workerdMB", color: "#e377c2", label: "workerd alone" },
  { key: "doMB", color: "#17becf", label: "DO storage" },
  { key: "d1MB", color: "#bcbd22", label: "D1" },
]) : ""}
</svg>
`;
}
