/** What blaze.rules.ts imports (also `blaze/rules`). */
export { defineRules, devRules, where, and, or } from "./define";
export type { RuleContext, Rule, ListRule, ListFilter, PathRules, RulesSource, CompiledRules, RuleOp } from "./define";
export type { AuthUser } from "../auth";
export { authorizeGet, authorizeWrite, canGet, listAccess, restrictQuery, permissionDenied, LIST_FILTER_OPS } from "./evaluate";
export type { ListAccess, ListTarget, WriteCheck, WriteOp } from "./evaluate";
