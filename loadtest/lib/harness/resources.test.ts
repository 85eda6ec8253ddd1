import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flatness, folderBytes, groupRss, type ResourceSample } from "./resources.ts";

const samples = (rss: (t: number) => number): ResourceSample[] => Array.from({ length: 41 }, (_, i) => ({ t: i * 5, rssMB: rss(i * 5), workerdMB: rss(i * 5) / 2, doMB: 1 + i, d1MB: 2 }));
const p95s = (f: (t: number) => number) => Array.from({ length: 200 }, (_, t) => ({ t, p95: f(t) }));

describe("soak resources", () => {
  it("judges a flat run flat and a leaking or slowing one not", () => {
    const flat = flatness(samples(() => 300), p95s(() => 40), 200);
    expect(flat).toMatchObject({ rss: 1, p95: 1, d1Storage: 1, ok: true });
    expect(flat.doStorage).toBeGreaterThan(1);
    // A warm-up in the first quarter is not growth.
    expect(flatness(samples((t) => (t < 50 ? 100 : 300)), p95s(() => 40), 200).ok).toBe(true);
    expect(flatness(samples((t) => 300 + 2 * t), p95s(() => 40), 200)).toMatchObject({ ok: false });
    expect(flatness(samples(() => 300), p95s((t) => 40 + t), 200)).toMatchObject({ ok: false });
  });

  it("measures this process group's memory and a folder's size", () => {
    expect(groupRss(ownGroup())).toBeGreaterThan(10 * 1024 * 1024);
    const dir = mkdtempSync(join(tmpdir(), "blaze-res-"));
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "a", "x"), "x".repeat(1000));
    writeFileSync(join(dir, "a", "b", "y"), "y".repeat(24));
    expect(folderBytes(dir)).toBe(1024);
    expect(folderBytes(join(dir, "missing"))).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

/** This process's group id, from /proc. */
function ownGroup(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}
