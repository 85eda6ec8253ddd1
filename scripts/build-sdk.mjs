// Builds the SDK as a package that runs without a bundler or TypeScript
// (Node 20+, browsers, Workers): `npm run build:sdk` writes sdk/dist/ —
// index.js (browsers, Workers, Node with a global WebSocket), node.js (the
// same, falling back to the `ws` package), a shared chunk with the engine's
// pure core, and the declarations under dist/types/. `npm pack` in sdk/ runs
// it (prepack). The project itself imports the TypeScript sources.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { ROOT } from "../loadtest/lib/dev-server.mjs";

const SDK = join(ROOT, "sdk");

export async function buildSdk() {
  const outdir = join(SDK, "dist");
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { index: join(SDK, "index.ts"), node: join(SDK, "node.ts") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    // ws is an optional peer: node.js imports it only when it needs it.
    external: ["ws"],
    sourcemap: true,
    logLevel: "warning",
  });
  execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(SDK, "tsconfig.build.json")], { stdio: "inherit" });
  return outdir;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`SDK built into ${await buildSdk()}`);
}
