/**
 * The k6 scripts run where only k6's modules exist: every file under
 * loadtest/k6 imports k6 modules or files of its own folder, and only the
 * entry points and the k6 runtime import k6 (the shared modules also run in
 * Node). Every scenario group has its exported function in its entry point.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SCENARIOS } from "./scenarios/index";

const DIR = dirname(fileURLToPath(import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [join(dir, e.name)] : []));
const importsOf = (file: string) => [...readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)].map((m) => m[1] ?? m[2]);
const K6_SIDE = (file: string) => dirname(file) === DIR || file.endsWith("k6-runtime.ts");

describe("k6 scripts", () => {
  it("import only k6 modules and the shared modules beside them", () => {
    const bad: string[] = [];
    for (const file of files(DIR)) {
      for (const spec of importsOf(file)) {
        const isK6 = spec === "k6" || spec.startsWith("k6/");
        const local = spec.startsWith(".") && resolve(dirname(file), spec).startsWith(DIR + "/") && spec.endsWith(".ts");
        if (isK6 ? !K6_SIDE(file) : !local) bad.push(`${relative(DIR, file)}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
    expect(importsOf(join(DIR, "lib", "k6-runtime.ts"))).toContain("k6/websockets");
  });

  it("have an entry point per scenario exporting options, setup and every group", () => {
    for (const [name, s] of Object.entries(SCENARIOS)) {
      const entry = readFileSync(join(DIR, `${name}.ts`), "utf8");
      expect(entry).toMatch(/export const options = entry\.options;/);
      expect(entry).toMatch(/export const setup = entry\.setup;/);
      for (const group of Object.keys(s.groups)) expect(entry, `${name}.ts exports ${group}`).toMatch(new RegExp(`export const ${group} = entry\\.group\\("${group}"\\);`));
    }
  });
});
