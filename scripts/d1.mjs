// Runs SQL on a D1 database through `wrangler d1 execute`: the local one
// (.wrangler/state, or --persist-to) or, with `remote`, the deployed one.
// Shared by the CLI (scripts/blaze.mjs), `npm start` and the benchmarks.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
// Run with this process's Node (22 under npm scripts), whatever `node` is first on PATH.
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

/**
 * The rows of `sql` (the last statement's). A running dev server may hold
 * the local SQLite write lock (its consumer): SQLITE_BUSY is tried again,
 * up to about 5 s.
 */
export async function d1Execute({ sql, remote = false, persistTo, config = "wrangler.toml", database = "DB" }) {
  const args = ["d1", "execute", database, remote ? "--remote" : "--local", "--config", config, "--json", "--command", sql];
  if (persistTo && !remote) args.push("--persist-to", persistTo);
  for (let attempt = 0; ; attempt++) {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: { ...process.env, ...QUIET }, maxBuffer: 256 * 1024 * 1024 });
      const results = JSON.parse(stdout);
      return results[results.length - 1]?.results ?? [];
    } catch (e) {
      const busy = /SQLITE_BUSY|database is locked/.test(String(e?.message ?? e));
      if (!busy || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** A string as an SQL literal (wrangler d1 execute takes no bound parameters). */
export const sqlString = (s) => `'${String(s).replace(/'/g, "''")}'`;
