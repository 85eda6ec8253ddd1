// `npm start`'s local admin key: created once in the local D1 (after the
// migrations), its key kept in a gitignored file under .wrangler/ so every
// start prints the same one. Local only: a deployment gets its admin key
// from `npm run blaze -- keys create --role admin --remote`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseKey } from "../engine/auth/key-format.ts";
import { createKey, isActiveKey } from "./api-keys.mjs";
import { ROOT } from "./d1.mjs";

export const DEV_ADMIN_KEY_FILE = join(ROOT, ".wrangler", "blaze-dev-admin-key");

/** The local admin key (`{ key, created }`), made if the file has none that is active in the local D1. */
export async function ensureDevAdminKey({ file = DEV_ADMIN_KEY_FILE, persistTo, config } = {}) {
  const target = { persistTo, config };
  const saved = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  const parsed = parseKey(saved);
  if (parsed?.role === "admin" && (await isActiveKey(parsed.id, target))) return { key: saved, created: false };
  const k = await createKey({ role: "admin", name: "npm start (local)", ...target });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${k.key}\n`, { mode: 0o600 });
  return { key: k.key, created: true };
}
