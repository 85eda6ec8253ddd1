// The cost of auth and rules: the same writes and the same selective query
// sent with an admin key (rules bypassed) and as a signed-in user (a JWT
// verified, the rules of loadtest/bench.rules.ts evaluated: write rules in
// the shard, the list rule's filter ANDed into the query), interleaved in
// rounds through one wrangler dev so drift hits both. Aim: within 1.1x.
import { mkdtempSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { migrate, startDevServer } from "../lib/dev-server.mjs";
import { writeBenchConfig } from "../lib/bench-config.mjs";
import { closedLoop, fmt, median, mustOk } from "../lib/measure.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WRITES = Number(process.env.BENCH_WRITES ?? 600);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 300);
const USERS = 100;
const TAGS = 10;
const DOCS = USERS * TAGS * 10; // 10,000: each (owner, tag) pair holds 10 documents
const JWT = { JWT_SECRET: "bench-only-hs256-secret-0123456789abcdef", JWT_ISSUER: "https://issuer.bench", JWT_AUDIENCE: "blaze-bench" };

export async function run() {
  const config = writeBenchConfig({ rules: "loadtest/bench.rules.ts" });
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-auth-"));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo, vars: JWT });
  try {
    const admin = { ...(await server.adminHeaders()), "Content-Type": "application/json" };
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u7")
      .setIssuer(JWT.JWT_ISSUER)
      .setAudience(JWT.JWT_AUDIENCE)
      .setExpirationTime("2h")
      .sign(new TextEncoder().encode(JWT.JWT_SECRET));
    const user = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const call = (method, path, body, headers) =>
      fetch(`${server.url}${path}`, { method, headers, body: JSON.stringify(body) }).then(mustOk).then((r) => r.json());

    for (let b = 0; b < DOCS / 500; b++) {
      const writes = Array.from({ length: 500 }, (_, k) => {
        const i = b * 500 + k;
        return { op: "set", path: `owned/d${i}`, data: { owner: `u${i % USERS}`, tag: `t${Math.floor(i / USERS) % TAGS}`, n: i } };
      });
      await call("POST", "/v1/batch", { writes }, admin);
    }
    // The same document shape and the same owner on both sides; separate paths.
    const body = (i) => ({ owner: "u7", tag: "w", n: i });
    const writeAdmin = (i) => call("PUT", `/v1/docs/owned/a${i % 500}`, body(i), admin);
    const writeUser = (i) => call("PUT", `/v1/docs/owned/u${i % 500}`, body(i), user);
    // The admin states the owner filter itself; the user's comes from the list rule.
    const queryAdmin = () => call("POST", "/v1/query", { from: { collection: "owned" }, where: { and: [["owner", "==", "u7"], ["tag", "==", "t3"]] } }, admin);
    const queryUser = () => call("POST", "/v1/query", { from: { collection: "owned" }, where: ["tag", "==", "t3"] }, user);
    const [qa, qu] = await Promise.all([queryAdmin(), queryUser()]);
    if (qa.docs.length !== 10 || JSON.stringify(qa.docs.map((d) => d.path)) !== JSON.stringify(qu.docs.map((d) => d.path))) {
      throw new Error(`the two queries differ: admin ${qa.docs.length}, user ${qu.docs.length} documents`);
    }
    // Warm-up.
    await closedLoop({ total: 300, concurrency: 16, op: writeAdmin });
    await closedLoop({ total: 300, concurrency: 16, op: writeUser });
    await closedLoop({ total: 100, concurrency: 4, op: queryAdmin });
    await closedLoop({ total: 100, concurrency: 4, op: queryUser });

    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const wa = await closedLoop({ total: WRITES, concurrency: 16, op: writeAdmin });
      const wu = await closedLoop({ total: WRITES, concurrency: 16, op: writeUser });
      const ra = await closedLoop({ total: QUERIES, concurrency: 4, op: queryAdmin });
      const ru = await closedLoop({ total: QUERIES, concurrency: 4, op: queryUser });
      const failures = wa.failures + wu.failures + ra.failures + ru.failures;
      if (failures) throw new Error(`${failures} requests failed`);
      rounds.push({ writeAdmin: wa, writeUser: wu, queryAdmin: ra, queryUser: ru, writeRatio: wu.p50 / wa.p50, queryRatio: ru.p50 / ra.p50 });
      console.log(
        `round ${r + 1}: write p50 admin ${fmt(wa.p50)} user ${fmt(wu.p50)} ms (${fmt(wu.p50 / wa.p50)}x) | ` +
          `query p50 admin ${fmt(ra.p50)} user ${fmt(ru.p50)} ms (${fmt(ru.p50 / ra.p50)}x)`,
      );
    }
    const summary = {
      writeAdminP50: median(rounds.map((r) => r.writeAdmin.p50)),
      writeUserP50: median(rounds.map((r) => r.writeUser.p50)),
      writeRatioP50: median(rounds.map((r) => r.writeRatio)),
      queryAdminP50: median(rounds.map((r) => r.queryAdmin.p50)),
      queryUserP50: median(rounds.map((r) => r.queryUser.p50)),
      queryRatioP50: median(rounds.map((r) => r.queryRatio)),
      loadAverage: loadavg(),
    };
    console.log(
      `\nauth + rules vs admin key (median of ${ROUNDS} rounds): write p50 ${fmt(summary.writeRatioP50)}x, selective query (10 of ${DOCS}) p50 ${fmt(summary.queryRatioP50)}x (aim: within 1.1x)`,
    );
    return { summary, rounds, config: { ROUNDS, WRITES, QUERIES, DOCS } };
  } finally {
    await server.stop();
  }
}
