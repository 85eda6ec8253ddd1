// The Blaze command line: `npm run blaze -- <command>`.
//
//   keys create --role admin|client [--name <name>]   prints the new key once (only its hash is stored)
//   keys list                                          ids, roles, names, created/revoked times
//   keys revoke <id>                                   takes effect everywhere within seconds
//
//   verify [--repair] [--collection <id>]            compares the D1 index with the shards' documents (docs/reliability.md)
//   dlq replay                                         sends dead-lettered changes back into the pipeline
//   gc                                                 garbage collection now (the cron trigger runs it hourly)
//
// keys work on the local database (`wrangler dev`, `npm start`) unless
// --remote is given (the deployed D1 of wrangler.toml); --persist-to <dir>
// (a local state folder other than .wrangler/state), --config <wrangler.toml>.
// verify, dlq and gc call a running Blaze: the local dev server (PORT or 8787, with the
// key `npm start` keeps in .wrangler/blaze-dev-admin-key) or, with --remote,
// --url (or BLAZE_URL) and --key (or BLAZE_ADMIN_KEY), an admin key.
// --json: machine-readable output.
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { createKey, listKeys, revokeKey } from "./api-keys.mjs";
import { adminPost, adminTarget } from "./admin-api.mjs";
import { formatVerify, verifyIndex } from "./verify.mjs";
import { formatDlqReplay, replayAllDeadLetters } from "./dlq.mjs";

const USAGE = `usage: npm run blaze -- keys create --role admin|client [--name <name>] [--remote]
       npm run blaze -- keys list [--remote]
       npm run blaze -- keys revoke <id> [--remote]
       npm run blaze -- verify [--repair] [--collection <id>] [--remote --url <url> --key <admin key>]
       npm run blaze -- dlq replay [--remote --url <url> --key <admin key>]
       npm run blaze -- gc [--remote --url <url> --key <admin key>]
options: --remote (the deployed database or Worker), --persist-to <dir>, --config <file>, --json,
         --url <url> and --key <admin key> (verify, dlq, gc; also BLAZE_URL, BLAZE_ADMIN_KEY)`;

class UsageError extends Error {}

/** Runs one command; returns the exit code. `out`/`err` print a line. */
export async function runCli(argv, { out = console.log, err = console.error } = {}) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        role: { type: "string" },
        name: { type: "string", default: "" },
        remote: { type: "boolean", default: false },
        "persist-to": { type: "string" },
        config: { type: "string", default: "wrangler.toml" },
        json: { type: "boolean", default: false },
        repair: { type: "boolean", default: false },
        collection: { type: "string" },
        limit: { type: "string" },
        url: { type: "string" },
        key: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    err(`${e.message}\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals: [group, command, ...rest] } = parsed;
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const target = { remote: o.remote, persistTo: o["persist-to"], config: o.config };
  const where = o.remote ? "the deployed database (--remote)" : "the local database";
  try {
    if (group === "verify") {
      if (command !== undefined) throw new UsageError(`verify takes no arguments, got ${[command, ...rest].join(" ")}`);
      const api = adminTarget({ remote: o.remote, url: o.url, key: o.key });
      const limit = o.limit === undefined ? undefined : Number(o.limit);
      const t = await verifyIndex(api, { repair: o.repair, collection: o.collection, limit });
      if (o.json) out(JSON.stringify(t));
      else for (const line of formatVerify(t, { repair: o.repair, where: api.url })) out(line);
      const total = Object.values(t.differences).reduce((n, c) => n + c, 0);
      return t.repairErrors.length > 0 || (total > 0 && !o.repair) ? 1 : 0;
    }
    if (group === "dlq") {
      if (command !== "replay" || rest.length) throw new UsageError(`unknown dlq command ${JSON.stringify([command ?? "", ...rest].join(" "))}`);
      const api = adminTarget({ remote: o.remote, url: o.url, key: o.key });
      const t = await replayAllDeadLetters(api);
      if (o.json) out(JSON.stringify(t));
      else for (const line of formatDlqReplay(t, api.url)) out(line);
      return 0;
    }
    if (group === "gc") {
      if (command !== undefined) throw new UsageError(`gc takes no arguments, got ${[command, ...rest].join(" ")}`);
      const api = adminTarget({ remote: o.remote, url: o.url, key: o.key });
      const r = await adminPost(api, "/v1/admin/gc");
      if (o.json) out(JSON.stringify(r));
      else {
        out(`Garbage collection on ${api.url}: ${r.tombstones} tombstones, ${r.changeLogRows} change-log rows, ${r.appliedRanges} applied-range rows, ${r.deadLetters} replayed dead letters removed.`);
        if (r.failedShards.length) out(`Shards whose log could not be trimmed (tried again next run): ${r.failedShards.join(", ")}`);
      }
      return r.failedShards.length ? 1 : 0;
    }
    if (group !== "keys") throw new UsageError(`unknown command ${JSON.stringify(group ?? "")}`);
    if (command === "create") {
      if (rest.length) throw new UsageError(`keys create takes no arguments, got ${rest.join(" ")}`);
      if (o.role !== "admin" && o.role !== "client") throw new UsageError("keys create needs --role admin or --role client");
      const k = await createKey({ role: o.role, name: o.name, ...target });
      if (o.json) out(JSON.stringify(k));
      else {
        out(`Created ${k.role} key ${k.id}${k.name ? ` (${k.name})` : ""} in ${where}.`);
        out("This is the only time the key is shown; Blaze keeps only its hash:\n");
        out(`  ${k.key}\n`);
        out(k.role === "admin" ? "Send it as `Authorization: Bearer <key>` from servers only: it bypasses the rules." : "Send it as `X-Blaze-Key: <key>` (or `Authorization: Bearer <key>`); the rules apply.");
      }
      return 0;
    }
    if (command === "list") {
      if (rest.length) throw new UsageError(`keys list takes no arguments, got ${rest.join(" ")}`);
      const keys = await listKeys(target);
      if (o.json) out(JSON.stringify(keys));
      else if (keys.length === 0) out(`No keys in ${where}.`);
      else for (const k of keys) out(`${k.id}  ${k.role.padEnd(6)}  ${k.revokedAt ? `revoked ${k.revokedAt}` : "active".padEnd(32)}  created ${k.createdAt}  ${k.name}`);
      return 0;
    }
    if (command === "revoke") {
      if (rest.length !== 1) throw new UsageError("keys revoke takes one key id (see keys list)");
      const revoked = await revokeKey(rest[0], target);
      if (o.json) out(JSON.stringify({ id: rest[0], revoked }));
      else out(revoked ? `Revoked ${rest[0]} in ${where}; it stops working everywhere within seconds.` : `No active key ${rest[0]} in ${where}.`);
      return revoked ? 0 : 1;
    }
    throw new UsageError(`unknown keys command ${JSON.stringify(command ?? "")}`);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n${USAGE}`);
      return 2;
    }
    // wrangler's own message says what went wrong (no migrations applied, not logged in, ...).
    err(`blaze: ${e.stderr?.trim() || e.message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
