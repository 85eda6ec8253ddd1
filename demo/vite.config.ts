// Builds the demo into demo/dist, the folder wrangler.toml [assets] serves at `/`.
import { svelte } from "@sveltejs/vite-plugin-svelte";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [svelte(), tailwindcss()],
  // The public SDK, as the project names it (package.json "exports"; vitest.config.ts has the same alias).
  resolve: { alias: { "blaze/sdk": fileURLToPath(new URL("../sdk/index.ts", import.meta.url)) } },
  build: { outDir: "dist", emptyOutDir: true, reportCompressedSize: false },
  logLevel: "warn",
});
