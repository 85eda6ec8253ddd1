/**
 * The keys CLI (scripts/blaze.mjs) against a real local D1, and a real
 * `wrangler dev` run as a deployment (no BLAZE_DEV): refused until the CLI
 * creates an admin key, the keys work, revocation takes effect within
 * seconds.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBenchConfig } from "../../loadtest/lib/bench-config.mjs";
import { migrate, ROOT, startDevServer, type DevServer } from "../../loadtest/lib/dev-server.mjs";
import { ensureDevAdminKey } from "../../scripts/dev-admin-key.mjs";

const persistTo = mkdtempSync(join(tmpdir(), "blaze-cli-"));
// A deployment refuses everything while blaze.rules.ts is devRules(): run with real rules (the auth benchmark's).
const config = writeBenchConfig({ rules: "loadtest/bench.rules.ts" });
let server: DevServer | undefined;

async function blaze(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "blaze.mjs"), ...args, "--persist-to", persistTo, "--config", config], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e: any) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met");
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now();
}

beforeAll(() => migrate({ config, persistTo }));

afterAll(async () => {
  await server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

describe("npm run blaze -- keys", () => {
  it("usage errors exit 2 and say how to call it", async () => {
    const r = await blaze("keys", "create", "--role", "root");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--role admin or --role client");
    expect((await blaze("nothing")).code).toBe(2);
  });

  it("create, list, revoke against a deployment-like Worker", async () => {
    server = await startDevServer({ config, persistTo, vars: { BLAZE_DEV: "false" } });
    const status = (key?: string) => fetch(`${server!.url}/v1/status`, { headers: key ? { Authorization: `Bearer ${key}` } : {} }).then((r) => r.status);
    expect(await status()).toBe(412); // not configured: no admin key yet

    const created = await blaze("keys", "create", "--role", "admin", "--name", "ops", "--json");
    expect(created.code).toBe(0);
    const admin = JSON.parse(created.stdout);
    expect(admin.key).toMatch(/^blz_admin_[0-9a-f]{16}_/);
    const client = JSON.parse((await blaze("keys", "create", "--role", "client", "--json")).stdout);
    await eventually(async () => (await status(admin.key)) === 200);
    expect(await status(client.key)).toBe(403);
    expect(await status()).toBe(401);

    const listed = await blaze("keys", "list");
    expect(listed.stdout).toContain(admin.id);
    expect(listed.stdout).toContain("ops");
    // The secret is everything after `blz_admin_<id>_` (it may itself hold `_`).
    const secret = admin.key.slice(`blz_admin_${admin.id}_`.length);
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect(listed.stdout).not.toContain(secret);

    const revoked = await blaze("keys", "revoke", admin.id);
    expect(revoked.code).toBe(0);
    const revokedAt = Date.now();
    // The last admin key gone: refused (401 for the key, then 412 for everyone once the cache expires).
    const refusedAt = await eventually(async () => (await status(admin.key)) !== 200);
    expect(refusedAt - revokedAt).toBeLessThan(8_000);
    expect((await blaze("keys", "revoke", admin.id)).code).toBe(1);
    expect(JSON.parse((await blaze("keys", "list", "--json")).stdout).find((k: any) => k.id === admin.id).revokedAt).not.toBeNull();
  });

  it("npm start's local admin key: created once, kept in its file, replaced when revoked", async () => {
    const file = join(persistTo, "dev-admin-key");
    const first = await ensureDevAdminKey({ file, persistTo, config });
    expect(first.created).toBe(true);
    expect(first.key).toMatch(/^blz_admin_/);
    expect(await ensureDevAdminKey({ file, persistTo, config })).toEqual({ key: first.key, created: false });
    expect((await blaze("keys", "revoke", first.key.split("_")[2])).code).toBe(0);
    const next = await ensureDevAdminKey({ file, persistTo, config });
    expect(next.created).toBe(true);
    expect(next.key).not.toBe(first.key);
  });
});
