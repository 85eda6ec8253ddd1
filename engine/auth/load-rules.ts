/**
 * The deployment's rules: blaze.rules.ts at the project root, bundled into
 * the Worker by wrangler (tests swap in test/fixtures/test.rules.ts through
 * an alias in vitest.config.ts). Checked when this module loads, so a rules
 * file that does not export defineRules(...) or devRules() stops the Worker
 * at startup with the reason instead of guarding wrongly.
 */
import rules from "../../blaze.rules";
import type { CompiledRules } from "../core/rules/define";

function load(value: unknown): CompiledRules {
  const r = value as Partial<CompiledRules> | null;
  if (!r || !Array.isArray(r.entries) || typeof r.dev !== "boolean") {
    throw new Error("blaze.rules.ts must `export default defineRules({...})` (or devRules() for local development)");
  }
  return r as CompiledRules;
}

export const projectRules: CompiledRules = load(rules);
