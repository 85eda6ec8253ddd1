// Starts `wrangler dev` as a child process on free loopback ports, for the
// benchmarks and the kill -9 acceptance test. Shared by both so they measure
// and crash the same thing a developer runs with `npm start`.
import { spawn, execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { d1Execute } from "../../scripts/d1.mjs";
import { createKey } from "../../scripts/api-keys.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

export const QUIET_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // wrangler's local request tracing halves throughput and grows without bound.
  X_LOCAL_OBSERVABILITY: "false",
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Applies the D1 migrations to a local persistence folder. */
export async function migrate({ config = "wrangler.toml", persistTo, database = "DB" }) {
  await promisify(execFile)(WRANGLER, ["d1", "migrations", "apply", database, "--local", "--config", config, "--persist-to", persistTo], {
    cwd: ROOT,
    env: { ...process.env, ...QUIET_ENV, CI: "true" },
  });
}

/** Runs SQL against local D1 and returns the rows (SQLITE_BUSY from a running server is tried again). */
export async function d1Query({ config = "wrangler.toml", persistTo, database = "DB", sql }) {
  return d1Execute({ config, persistTo, database, sql });
}

/**
 * Starts wrangler dev; resolves once it answers HTTP. `kill()` sends SIGKILL
 * to the whole process group (wrangler and its workerd children), as a crash.
 * It runs as `npm start` does (BLAZE_DEV: no admin key required);
 * `adminKey()` creates an admin key in its D1 on first use, for the
 * admin-only routes (/v1/status, /v1/listen?doc=).
 * `port`: a restart after a crash comes back where its clients are.
 */
export async function startDevServer({ config = "wrangler.toml", persistTo, vars = {}, logLevel = "warn", port: wanted } = {}) {
  vars = { BLAZE_DEV: "true", ...vars };
  const port = wanted ?? (await freePort());
  const inspector = await freePort();
  const args = ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", persistTo, "--log-level", logLevel, "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child = spawn(WRANGLER, args, { cwd: ROOT, env: { ...process.env, ...QUIET_ENV, CI: "true" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/v1/docs/__probe/__none`, { signal: AbortSignal.timeout(1000) });
      if (res.status > 0) break;
    } catch {}
    if (Date.now() > deadline) {
      killGroup(child, "SIGKILL");
      throw new Error(`wrangler dev did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  let admin;
  const adminKey = () => (admin ??= createKey({ role: "admin", name: "dev server", persistTo, config }).then((k) => k.key));
  return {
    url,
    pid: child.pid,
    inspectorPort: inspector,
    adminKey,
    adminHeaders: async () => ({ Authorization: `Bearer ${await adminKey()}` }),
    output: () => output,
    kill: () => killGroup(child, "SIGKILL"),
    stop: async () => {
      killGroup(child, "SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      killGroup(child, "SIGKILL");
    },
  };
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {}
}
