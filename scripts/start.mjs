// `npm start`: builds the demo, applies the D1 migrations to the local
// database, makes sure a local admin key exists (printed; docs/security.md),
// then runs `wrangler dev` (BLAZE_DEV on) on the port asked for:
//   npm start                   -> http://127.0.0.1:8787
//   PORT=9000 npm start         -> http://127.0.0.1:9000
//   npm start -- --port 9000    (the flag wins over PORT)
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { ensureDevAdminKey } from "./dev-admin-key.mjs";

export const DEFAULT_PORT = 8787;

/** The port from `--port N` / `--port=N`, else PORT, else 8787. Throws on anything that is not a TCP port. */
export function startPort(argv, env) {
  let raw = env.PORT || undefined;
  let from = "PORT";
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--port") [raw, from] = [argv[++i] ?? "", "--port"];
    else if (argv[i].startsWith("--port=")) [raw, from] = [argv[i].slice("--port=".length), "--port"];
    else throw new Error(`npm start: unknown argument ${JSON.stringify(argv[i])} (usage: npm start -- --port 9000)`);
  }
  if (raw === undefined) return DEFAULT_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) throw new Error(`npm start: ${from} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
  return port;
}

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`npm ${args.join(" ")} failed (${signal ?? code})`))));
  });
}

async function main() {
  const port = startPort(process.argv.slice(2), process.env);
  await run(["run", "build"]);
  await run(["run", "db:migrate"]);
  const admin = await ensureDevAdminKey();
  console.log(`\nBlaze: open the demo at http://127.0.0.1:${port}/ (the API is under /v1/)`);
  console.log(`Blaze: local admin key${admin.created ? " (new)" : ""}, for /v1/status and /v1/admin/* (kept in .wrangler/blaze-dev-admin-key):`);
  console.log(`  ${admin.key}`);
  console.log("Blaze: dev mode (BLAZE_DEV): the API answers without a key here; a deployment needs `npm run blaze -- keys create --role admin --remote`\n");
  // The terminal's Ctrl-C reaches wrangler too; this process ends when it does.
  await run(["run", "dev", "--", "--port", String(port)]);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
