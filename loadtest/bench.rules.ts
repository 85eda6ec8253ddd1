/**
 * Rules of the auth benchmark (loadtest/scenarios/auth.mjs aliases
 * blaze.rules.ts to this file in its generated wrangler config): row-level
 * rules of the usual shape on `owned`, everything else open as in dev.
 */
import { defineRules, where, type RuleContext } from "../engine/core/rules";

const open = ({ path }: RuleContext) => !path.startsWith("owned");

export default defineRules({
  "{document=**}": { read: open, write: open },
  "owned/{id}": {
    get: ({ auth, doc }) => doc?.owner === auth?.uid,
    list: ({ auth }) => where("owner", "==", auth?.uid),
    create: ({ auth, newDoc }) => auth !== null && newDoc?.owner === auth.uid,
    update: ({ auth, doc, newDoc }) => doc?.owner === auth?.uid && newDoc?.owner === doc?.owner,
    delete: ({ auth, doc }) => doc?.owner === auth?.uid,
  },
});
