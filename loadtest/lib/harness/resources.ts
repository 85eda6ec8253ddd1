/**
 * The local server's footprint during a run (only when the harness started
 * `wrangler dev` itself): resident memory of its process group (workerd does
 * the work) and the size of its state folder, Durable Object storage and D1
 * apart. A soak run is judged on memory and latency staying flat.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ResourceSample {
  /** Seconds since the run started. */
  t: number;
  rssMB: number;
  /** The workerd process alone (the rest is wrangler's Node process). */
  workerdMB: number;
  doMB: number;
  d1MB: number;
}

const MB = 1024 * 1024;
const PAGE = 4096;

/** Resident bytes of every process in process group `pgid` (Linux /proc); `only`: just those whose command is that. */
export function groupRss(pgid: number, only?: string): number {
  let bytes = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): state ppid pgrp ...
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp !== pgid) continue;
      if (only !== undefined && stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== only) continue;
      bytes += Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE;
    } catch {
      // The process ended meanwhile.
    }
  }
  return bytes;
}

/** Total size of the files under `dir` (0 when it does not exist). */
export function folderBytes(dir: string): number {
  let bytes = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    try {
      bytes += e.isDirectory() ? folderBytes(p) : statSync(p).size;
    } catch {
      // Deleted meanwhile (SQLite journals come and go).
    }
  }
  return bytes;
}

/** Samples every `everyMs` until stopped; `stop()` returns the samples. */
export function startSampler(o: { pgid: number; persistTo: string; everyMs?: number }): { stop(): ResourceSample[] } {
  const start = Date.now();
  const samples: ResourceSample[] = [];
  const take = () =>
    samples.push({
      t: Math.round((Date.now() - start) / 1000),
      rssMB: groupRss(o.pgid) / MB,
      workerdMB: groupRss(o.pgid, "workerd") / MB,
      doMB: folderBytes(join(o.persistTo, "v3", "do")) / MB,
      d1MB: folderBytes(join(o.persistTo, "v3", "d1")) / MB,
    });
  take();
  const timer = setInterval(take, o.everyMs ?? 5000);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export interface Flatness {
  /** Mean of the last quarter of the run over the mean of its second quarter (the first is warm-up). */
  rss: number;
  doStorage: number;
  d1Storage: number;
  /** The same ratio for the per-second request p95. */
  p95: number;
  /** Memory and latency within `limit` (storage grows with the data a run writes, so it is reported, not judged). */
  ok: boolean;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Compares the run's second and last quarters; `p95s` are per-second latency points ({t, p95}). */
export function flatness(samples: ResourceSample[], p95s: { t: number; p95?: number }[], seconds: number, limit = { memory: 1.25, latency: 1.5 }): Flatness {
  const q = seconds / 4;
  const quarter = <T extends { t: number }>(xs: T[], i: number) => xs.filter((x) => x.t >= i * q && x.t < (i + 1) * q);
  const ratio = <T extends { t: number }>(xs: T[], f: (x: T) => number | undefined) => {
    const v = (i: number) => mean(quarter(xs, i).map(f).filter((n): n is number => n !== undefined));
    return v(3) / v(1);
  };
  const rss = ratio(samples, (s) => s.rssMB);
  const p95 = ratio(p95s, (p) => p.p95);
  return {
    rss,
    doStorage: ratio(samples, (s) => s.doMB),
    d1Storage: ratio(samples, (s) => s.d1MB),
    p95,
    ok: !(rss > limit.memory) && !(p95 > limit.latency),
  };
}
