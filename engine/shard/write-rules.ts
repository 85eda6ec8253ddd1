/**
 * Write rules, judged inside the shard: only there are the stored document
 * and the document after the write (transforms applied) known at the commit,
 * with no other write in between.
 */
import { isAdmin, rulesAuth, type AuthContext } from "../core/auth";
import type { CompiledRules } from "../core/rules/define";
import { authorizeWrite } from "../core/rules/evaluate";
import type { WriteGuard } from "./plan-write";

/** The guard for a caller's writes; none for an admin. */
export function writeGuard(rules: CompiledRules, auth: AuthContext): WriteGuard | undefined {
  if (isAdmin(auth)) return undefined;
  const user = rulesAuth(auth);
  return (check) => authorizeWrite(rules, user, check);
}
