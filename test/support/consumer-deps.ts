/** The consumer's dependencies for tests that drive it directly: the first D1 database, no shards behind it. */
import { env } from "cloudflare:workers";
import type { IndexConfig } from "../../engine/index/config-types";
import { parseTopology } from "../../engine/index/routing";
import type { ConsumerDeps } from "../../engine/pipeline/consumer";

export function localConsumerDeps(config: IndexConfig, extra: Partial<ConsumerDeps> = {}): ConsumerDeps {
  return {
    topology: parseTopology({ INDEX_SHARDS: "DB" }),
    dbs: [env.DB],
    indexConfig: config,
    fetchChange: async () => {
      throw new Error("no by-reference changes in this test");
    },
    notifyShard: async () => undefined,
    requestBackfill: async () => undefined,
    ...extra,
  };
}
