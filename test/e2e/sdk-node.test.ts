/**
 * The built SDK package (scripts/build-sdk.mjs, sdk/dist) in a plain Node
 * process with no bundler, no TypeScript and no global WebSocket, resolved
 * by its package name as an app would: its "node" export listens through the
 * `ws` package. The machine's Node is 20 (no global WebSocket); on a newer
 * Node the script runs with --no-experimental-websocket so the fallback is
 * what is tested either way.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, ROOT, startDevServer, type DevServer } from "../../loadtest/lib/dev-server.mjs";
import { buildSdk } from "../../scripts/build-sdk.mjs";

const persistTo = mkdtempSync(join(tmpdir(), "blaze-sdk-node-"));
const app = mkdtempSync(join(tmpdir(), "blaze-sdk-app-"));
let server: DevServer | undefined;

/** The system's `node` (Node 20 here), not the Node 22 that npm scripts run; that one where there is none. */
const SYSTEM_NODE = process.env.BLAZE_SYSTEM_NODE ?? (existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath);

const SCRIPT = `
import { initializeBlaze, collection, doc, setDoc, getDocs, query, where, onSnapshot, terminate } from "@blaze/sdk";
if (typeof globalThis.WebSocket !== "undefined") throw new Error("this run must have no global WebSocket");
const db = initializeBlaze({ url: process.argv[2] });
const tasks = collection(db, "node-tasks");
await setDoc(doc(tasks, "a"), { open: true, n: 1 });
const seen = [];
let first, done;
const firstSeen = new Promise((r) => (first = r));
const bothSeen = new Promise((resolve, reject) => {
  const stop = onSnapshot(query(tasks, where("open", "==", true)), (snap) => {
    seen.push(snap.docs.map((d) => d.id).join(","));
    first();
    if (snap.size === 2) { stop(); resolve(); }
  }, reject);
});
await firstSeen;
await setDoc(doc(tasks, "b"), { open: true, n: 2 });
await bothSeen;
const got = await getDocs(query(tasks, where("n", ">=", 2)));
console.log(JSON.stringify({ node: process.version, seen, ids: got.docs.map((d) => d.id) }));
await terminate(db);
`;

async function runApp(): Promise<{ node: string; seen: string[]; ids: string[] }> {
  const { stdout: version } = await promisify(execFile)(SYSTEM_NODE, ["--version"]);
  const major = Number(version.trim().slice(1).split(".")[0]);
  const flags = major >= 22 ? ["--no-experimental-websocket"] : [];
  const { stdout } = await promisify(execFile)(SYSTEM_NODE, [...flags, join(app, "app.mjs"), server!.url], { cwd: app, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

beforeAll(async () => {
  await buildSdk();
  // An app folder with the package installed by link, as `npm install ../sdk` does.
  mkdirSync(join(app, "node_modules", "@blaze"), { recursive: true });
  symlinkSync(join(ROOT, "sdk"), join(app, "node_modules", "@blaze", "sdk"), "dir");
  writeFileSync(join(app, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(app, "app.mjs"), SCRIPT);
  await migrate({ persistTo });
  server = await startDevServer({ persistTo });
});

afterAll(async () => {
  await server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
});

describe("the built SDK in plain Node", () => {
  it("writes, queries and listens with no bundler and no global WebSocket (ws)", async () => {
    const r = await runApp();
    expect(r.seen[0]).toBe("a");
    expect(r.seen.at(-1)).toBe("a,b");
    expect(r.ids).toEqual(["b"]);
  });
});
