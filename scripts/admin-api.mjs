// The CLI's calls to a running Blaze's admin routes (/v1/admin/*): the
// local dev server (`npm start`, http://127.0.0.1:8787 or PORT, with the
// local admin key that `npm start` printed and kept in
// .wrangler/blaze-dev-admin-key) or, with --remote, a deployment
// (--url or BLAZE_URL, and an admin key from --key or BLAZE_ADMIN_KEY:
// `npm run blaze -- keys create --role admin --remote` makes one).
import { existsSync, readFileSync } from "node:fs";
import { DEV_ADMIN_KEY_FILE } from "./dev-admin-key.mjs";

/** Where admin calls go: `{ url, key }`. Throws a message that says what is missing. */
export function adminTarget({ remote = false, url, key, env = process.env, keyFile = DEV_ADMIN_KEY_FILE } = {}) {
  const base = url ?? env.BLAZE_URL ?? (remote ? undefined : `http://127.0.0.1:${env.PORT || 8787}`);
  if (!base) throw new Error("--remote needs the deployment's URL: --url https://<worker>.workers.dev (or BLAZE_URL)");
  let admin = key ?? env.BLAZE_ADMIN_KEY;
  if (!admin && !remote && existsSync(keyFile)) admin = readFileSync(keyFile, "utf8").trim();
  if (!admin && remote) throw new Error("--remote needs an admin key: --key <key> (or BLAZE_ADMIN_KEY); `npm run blaze -- keys create --role admin --remote` makes one");
  return { url: base.replace(/\/+$/, ""), key: admin || undefined };
}

/** POSTs JSON to an admin route; returns the answer's JSON or throws the error Blaze answered. */
export async function adminPost(target, path, body) {
  let res;
  try {
    res = await fetch(`${target.url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(target.key ? { Authorization: `Bearer ${target.key}` } : {}) },
      body: JSON.stringify(body ?? {}),
    });
  } catch (e) {
    throw new Error(`could not reach ${target.url} (${e.cause?.code ?? e.message}); is the server running (npm start)?`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    const why = json?.error ? `${json.error.code}: ${json.error.message}` : text.slice(0, 200);
    throw new Error(`${target.url}${path} answered ${res.status} (${why})`);
  }
  return json;
}
