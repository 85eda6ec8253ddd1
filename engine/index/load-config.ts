/**
 * The deployment's index config: blaze.indexes.json at the project root
 * (Firestore's firestore.indexes.json format), bundled into the Worker by
 * wrangler. Parsed when this module loads, so a bad config stops the Worker
 * at startup with the reason instead of indexing wrongly.
 */
import raw from "../../blaze.indexes.json";
import { BlazeError, isBlazeError } from "../core/errors";
import { parseIndexConfig } from "./config";
import type { IndexConfig } from "./config-types";

function load(): IndexConfig {
  try {
    return parseIndexConfig(raw);
  } catch (e) {
    if (isBlazeError(e)) throw new BlazeError(e.code, `blaze.indexes.json: ${e.message}`, e.details);
    throw e;
  }
}

export const indexConfig: IndexConfig = load();
