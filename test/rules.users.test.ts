/**
 * Rules for signed-in users (JWTs signed with the test HS256 secret in
 * vitest.config.ts) on every path through the real Worker: documents,
 * writes, batches, queries, aggregates, collection groups, explain, document
 * and query listeners, resume. The rules: test/fixtures/test.rules.ts.
 */
import { env, exports } from "cloudflare:workers";
import { collection, doc, getDoc, getDocs, initializeBlaze, onSnapshot, query, setDoc, where, type SocketLike } from "blaze/sdk";
import fc from "fast-check";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { parseQuery } from "../engine/core/query/ast";
import { runQueryInMemory } from "../engine/core/query/evaluate";
import { normalizeQuery } from "../engine/core/query/normalize";
import { adminHeaders, api, BASE } from "./helpers";
import { openListenSocket } from "./support/listen-socket";

const DENIED = { code: "PERMISSION_DENIED" };

async function tokenFor(uid: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(uid)
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(env.JWT_SECRET));
}

const as = async (uid: string, team = "red") => ({ Authorization: `Bearer ${await tokenFor(uid, { team })}` });

async function adminPut(path: string, data: Record<string, unknown>) {
  const res = await api("PUT", `/v1/docs/${path}`, data, await adminHeaders());
  expect(res.status).toBe(200);
  return res.body;
}

describe("rules for signed-in users, through the Worker", () => {
  it("documents: owners read and write theirs; others get PERMISSION_DENIED and change nothing", async () => {
    const alice = await as("alice");
    const bob = await as("bob");
    expect((await api("PUT", "/v1/docs/sec_tasks/u1", { owner: "alice", n: 1 }, alice)).status).toBe(200);
    expect((await api("GET", "/v1/docs/sec_tasks/u1", undefined, alice)).body.data).toEqual({ owner: "alice", n: 1 });
    expect((await api("GET", "/v1/docs/sec_tasks/u1", undefined, bob)).body.error).toMatchObject(DENIED);
    expect((await api("GET", "/v1/docs/sec_tasks/none", undefined, bob)).status).toBe(404); // signed in: may learn absence
    expect((await api("PATCH", "/v1/docs/sec_tasks/u1", { n: 5 }, bob)).status).toBe(403);
    expect((await api("PUT", "/v1/docs/sec_tasks/u2", { owner: "alice" }, bob)).status).toBe(403);
    expect((await api("POST", "/v1/docs/sec_tasks", { owner: "bob" }, bob)).status).toBe(201);
    const batch = await api(
      "POST",
      "/v1/batch",
      { writes: [{ op: "set", path: "sec_users/bob/items/i1", data: { a: 1 } }, { op: "delete", path: "sec_tasks/u1" }] },
      bob,
    );
    expect(batch.status).toBe(403);
    expect((await api("GET", "/v1/docs/sec_users/bob/items/i1", undefined, bob)).status).toBe(404);
    expect((await api("GET", "/v1/docs/sec_tasks/u1", undefined, alice)).body.data).toEqual({ owner: "alice", n: 1 });
  });

  it("queries, aggregates and collection groups only ever see allowed documents", async () => {
    for (const [id, owner, done] of [["q1", "alice", false], ["q2", "bob", false], ["q3", "alice", true], ["q4", "carol", false]] as const) {
      await adminPut(`sec_tasks/${id}`, { owner, done, tag: "q" });
    }
    const alice = await as("alice");
    const q = await api("POST", "/v1/query", { from: { collection: "sec_tasks" }, where: ["tag", "==", "q"] }, alice);
    expect(q.body.docs.map((d: any) => d.id)).toEqual(["q1", "q3"]);
    const lim = await api("POST", "/v1/query", { from: { collection: "sec_tasks" }, where: ["tag", "==", "q"], limit: 1 }, alice);
    expect(lim.body.docs.map((d: any) => d.id)).toEqual(["q1"]);
    const count = await api("POST", "/v1/query", { from: { collection: "sec_tasks" }, where: ["done", "==", false], aggregate: { n: { count: true } } }, alice);
    expect(count.body.aggregates.n).toBe(1);
    // Explain of a rule-filtered query: admins only.
    expect((await api("POST", "/v1/query", { from: { collection: "sec_tasks" }, explain: true }, alice)).body.error).toMatchObject(DENIED);
    expect((await api("POST", "/v1/query", { from: { collection: "sec_tasks" }, explain: true }, await adminHeaders())).body.explain).toBeDefined();

    await adminPut("rooms/r1/sec_notes/n1", { team: "red", t: 1 });
    await adminPut("rooms/r2/sec_notes/n2", { team: "blue", t: 2 });
    const red = await api("POST", "/v1/query", { from: { collectionGroup: "sec_notes" } }, alice);
    expect(red.body.docs.map((d: any) => d.path)).toEqual(["rooms/r1/sec_notes/n1"]);
    const blue = await api("POST", "/v1/query", { from: { collectionGroup: "sec_notes" } }, await as("bob", "blue"));
    expect(blue.body.docs.map((d: any) => d.path)).toEqual(["rooms/r2/sec_notes/n2"]);
    // A boolean list rule: signed in may list.
    expect((await api("POST", "/v1/query", { from: { collection: "sec_members" } }, alice)).status).toBe(200);
  });

  it("a document listener ends with PERMISSION_DENIED when its document stops being readable; a resume is judged again", async () => {
    await adminPut("sec_tasks/l1", { owner: "alice", v: 1 });
    const token = await tokenFor("alice", { team: "red" });
    const c = await openListenSocket(`access_token=${token}`);
    c.send({ op: "listen", id: 1, doc: "sec_tasks/l1" });
    const [first] = await c.take(1);
    expect(first.changes[0].doc.data).toEqual({ owner: "alice", v: 1 });
    await adminPut("sec_tasks/l1", { owner: "alice", v: 2 });
    const [second] = await c.take(1);
    expect(second.changes[0].doc.data.v).toBe(2);
    await adminPut("sec_tasks/l1", { owner: "bob", v: 3, secret: "bob's" });
    const [ended] = await c.take(1);
    expect(ended).toMatchObject({ type: "error", error: DENIED });
    expect(JSON.stringify(c.messages)).not.toContain("bob's");
    // Later changes reach nobody; a resume with the old token is refused.
    await adminPut("sec_tasks/l1", { owner: "bob", v: 4 });
    expect(await c.quietFor(1)).toEqual([]);
    c.send({ op: "listen", id: 2, doc: "sec_tasks/l1", resume: second.resume });
    const [resumed] = await c.take(2);
    expect(resumed).toMatchObject({ type: "error", error: DENIED });
    c.ws.close();
  });

  it("a query listener sees a document leave as removed when the rule's filter stops matching it", async () => {
    await adminPut("sec_tasks/m1", { owner: "alice", tag: "m" });
    await adminPut("sec_tasks/m2", { owner: "bob", tag: "m" });
    const c = await openListenSocket(`access_token=${await tokenFor("alice")}`);
    c.send({ op: "listen", id: "q", query: { from: { collection: "sec_tasks" }, where: ["tag", "==", "m"] } });
    c.send({ op: "listen", id: "n", query: { from: { collection: "sec_tasks" }, where: ["tag", "==", "m"], aggregate: { n: { count: true } } } });
    const [[first], [agg]] = await Promise.all([c.take("q"), c.take("n")]);
    expect(first.changes.map((x: any) => x.doc.id)).toEqual(["m1"]);
    expect(agg).toMatchObject({ type: "aggregate", data: { n: 1 } });
    await adminPut("sec_tasks/m3", { owner: "bob", tag: "m", secret: "bob's" });
    await adminPut("sec_tasks/m1", { owner: "bob", tag: "m" });
    const [gone] = await c.take("q");
    expect(gone.changes).toEqual([expect.objectContaining({ type: "removed", doc: expect.objectContaining({ id: "m1" }) })]);
    const [agg2] = await c.take("n");
    expect(agg2).toMatchObject({ type: "aggregate", data: { n: 0 } });
    expect(JSON.stringify(c.messages)).not.toContain("bob's");
    c.ws.close();
  });

  // Random documents and users: each user's query answer and live result are
  // the reference result over the documents that user may get.
  it("property: query and listener results equal the reference filtered by the get rule", async () => {
    const owners = ["ann", "ben", "cat"];
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ owner: fc.constantFrom(...owners), n: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...owners),
        fc.subarray([0, 1, 2, 3, 4], { minLength: 1 }),
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        async (docs, uid, ns, limit) => {
          const tag = `p${round++}`;
          const admin = await adminHeaders();
          await api("POST", "/v1/batch", { writes: docs.map((d, i) => ({ op: "set", path: `sec_tasks/${tag}-${i}`, data: { ...d, tag } })) }, admin);
          // Equalities only: with the rule's owner filter, a range would need a composite index (FAILED_PRECONDITION).
          const query = { from: { collection: "sec_tasks" }, where: { and: [["tag", "==", tag], ["n", "in", ns]] }, ...(limit ? { limit } : {}) };
          const all = docs.map((d, i) => ({ path: `sec_tasks/${tag}-${i}`, data: { ...d, tag } }));
          const want = runQueryInMemory(all.filter((d) => d.data.owner === uid), normalizeQuery(parseQuery(query))).docs.map((d) => d.path);
          const got = await api("POST", "/v1/query", query, await as(uid));
          expect(got.body.docs?.map((d: any) => d.path), JSON.stringify(got.body)).toEqual(want);
          const c = await openListenSocket(`access_token=${await tokenFor(uid)}`);
          c.send({ op: "listen", id: 1, query });
          const [snap] = await c.take(1);
          expect(snap.changes.map((x: any) => x.doc.path)).toEqual(want);
          c.ws.close();
        },
      ),
      { numRuns: 8 },
    );
  });

  it("the SDK: a token provider signs the user in; refusals surface as permission-denied", async () => {
    await adminPut("sec_tasks/s1", { owner: "dana", tag: "s" });
    await adminPut("sec_tasks/s2", { owner: "eve", tag: "s" });
    let asked = 0;
    const db = initializeBlaze({
      url: BASE,
      fetch: (req) => exports.default.fetch(req),
      token: async () => (asked++, tokenFor("dana")),
      listenIdleMs: 50,
      webSocket: async (url) => {
        const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
        res.webSocket!.accept();
        return res.webSocket as unknown as SocketLike;
      },
    });
    const mine = await getDocs(query(collection(db, "sec_tasks"), where("tag", "==", "s")));
    expect(mine.docs.map((d) => d.id)).toEqual(["s1"]);
    await expect(getDoc(doc(db, "sec_tasks/s2"))).rejects.toMatchObject({ code: "permission-denied", name: "FirebaseError" });
    await expect(setDoc(doc(db, "sec_tasks/s3"), { owner: "eve" })).rejects.toMatchObject({ code: "permission-denied" });
    const err = await new Promise<any>((resolve) => onSnapshot(doc(db, "sec_tasks/s2"), () => resolve(null), resolve));
    expect(err).toMatchObject({ code: "permission-denied" });
    expect(asked).toBeGreaterThanOrEqual(4); // once per call and per socket connect
  });
});
