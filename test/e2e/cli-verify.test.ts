/**
 * `npm run blaze -- verify` against a real `wrangler dev` over HTTP, the way
 * it reaches a deployment (--remote --url --key): clean, then a row taken out
 * of the local D1 behind Blaze's back is reported, --repair puts it back, and
 * the next pass is clean. `dlq replay` and `gc` reach their routes the same way.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { d1Query, migrate, ROOT, startDevServer, type DevServer } from "../../loadtest/lib/dev-server.mjs";

const persistTo = mkdtempSync(join(tmpdir(), "blaze-verify-"));
let server: DevServer | undefined;

async function blaze(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "blaze.mjs"), ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e: any) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  await migrate({ persistTo });
  server = await startDevServer({ persistTo });
});

afterAll(async () => {
  await server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

describe("npm run blaze -- verify", () => {
  it("--remote without a URL or key says what it needs", async () => {
    const r = await blaze("verify", "--remote");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--url");
  });

  it("reports a difference, repairs it, and is clean after", async () => {
    const remote = ["--remote", "--url", server!.url, "--key", await server!.adminKey()];
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${server!.url}/v1/docs/cli/d${i}`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ n: i }) });
      expect(r.status).toBe(200);
    }
    // Clean once the index has caught up (pending documents are not differences, but not checked either).
    const end = Date.now() + 20_000;
    let first = await blaze("verify", ...remote, "--json");
    while (JSON.parse(first.stdout).pending > 0 && Date.now() < end) first = await blaze("verify", ...remote, "--json");
    expect(JSON.parse(first.stdout)).toMatchObject({ shards: 16, checked: 20, differences: {} });
    expect(first.code).toBe(0);

    await d1Query({ persistTo, sql: "DELETE FROM documents WHERE path = 'cli/d7'" });
    const found = await blaze("verify", ...remote);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/missing\s+1/);
    expect(found.stdout).toContain("cli/d7");

    const repaired = await blaze("verify", ...remote, "--repair");
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain("Repaired 1 documents");
    const after = await blaze("verify", ...remote);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain("the index matches the shards");
  });

  it("dlq replay reports what it replayed", async () => {
    const r = await blaze("dlq", "replay", "--remote", "--url", server!.url, "--key", await server!.adminKey());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("No dead letters to replay");
    expect((await blaze("dlq", "nothing")).code).toBe(2);
  });

  it("gc reports what it removed", async () => {
    const r = await blaze("gc", "--remote", "--url", server!.url, "--key", await server!.adminKey());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Garbage collection on .*: 0 tombstones, 0 change-log rows/);
  });
});
