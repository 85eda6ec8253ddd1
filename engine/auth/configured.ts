/**
 * Safe defaults: a deployment (no BLAZE_DEV) with no active admin key, or
 * whose blaze.rules.ts is still devRules(), answers every request
 * FAILED_PRECONDITION instead of running open. The
 * answer is cached like key checks (AUTH_CACHE_TTL_MS), so the first admin
 * key created with the CLI opens the API within seconds.
 */
import { BlazeError } from "../core/errors";
import { metaDatabase } from "../index/routing";
import type { CompiledRules } from "../core/rules/define";
import { isDev, type AuthEnv } from "./env";
import { projectRules } from "./load-rules";
import { anyActiveAdminKey } from "./key-store";
import { TtlCache } from "./ttl-cache";

const adminKeyExists = new TtlCache<boolean>();

export const NOT_CONFIGURED_MESSAGE =
  "Blaze is not configured: create an admin key with `npm run blaze -- keys create --role admin --remote` " +
  "(docs/security.md, \"Safe defaults\"); until then every request is refused";

export const DEV_RULES_MESSAGE =
  "Blaze is not configured: blaze.rules.ts still exports devRules(), which lets anyone read and write everything; " +
  "write your rules (docs/rules.md) and deploy again; until then every request is refused";

export async function assertConfigured(env: AuthEnv, rules: CompiledRules = projectRules): Promise<void> {
  if (isDev(env)) return;
  if (rules.dev) throw new BlazeError("FAILED_PRECONDITION", DEV_RULES_MESSAGE);
  if (!(await adminKeyExists.get("admin", () => anyActiveAdminKey(metaDatabase(env))))) {
    throw new BlazeError("FAILED_PRECONDITION", NOT_CONFIGURED_MESSAGE);
  }
}
