// The bench Worker (loadtest/bench-worker.ts) under `wrangler dev` on a fresh,
// migrated state folder, with a JSON POST helper; `stop` removes the folder.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, startDevServer } from "./dev-server.mjs";
import { writeBenchConfig } from "./bench-config.mjs";
import { mustOk } from "./measure.mjs";

export async function startBenchServer(prefix) {
  const config = writeBenchConfig();
  const persistTo = mkdtempSync(join(tmpdir(), prefix));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo });
  const post = (path, body) =>
    fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }).then(mustOk);
  const stop = async () => {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  };
  return { url: server.url, post, stop };
}
