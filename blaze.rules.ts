/**
 * Who may read and write what (docs/security.md). Firestore-like path
 * patterns; per pattern, rules for get, list, create, update, delete (or
 * read / write for both kinds), each a function of
 * { auth, params, path, op, doc, newDoc }. A list rule may answer a filter:
 * the engine ANDs it into every query, aggregate and live query.
 *
 * devRules() lets everyone do everything: fine for `npm start`, refused by a
 * deployed Worker. Replace it before you deploy, for example:
 *
 *   export default defineRules({
 *     "tasks/{taskId}": {
 *       get: ({ auth, doc }) => doc === null || doc.owner === auth?.uid,
 *       list: ({ auth }) => where("owner", "==", auth?.uid),
 *       create: ({ auth, newDoc }) => auth !== null && newDoc?.owner === auth.uid,
 *       update: ({ auth, doc, newDoc }) => doc?.owner === auth?.uid && newDoc?.owner === doc?.owner,
 *       delete: ({ auth, doc }) => doc?.owner === auth?.uid,
 *     },
 *   });
 */
import { devRules } from "./engine/core/rules";

export default devRules();
