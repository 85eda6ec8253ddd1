/**
 * Rules enforced on every path a document can leave or enter by (the rules:
 * test/fixtures/test.rules.ts). Each denied attempt answers its documented
 * code, writes nothing and sends no data.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuthContext } from "../engine/core/auth";
import type { DocumentData } from "../engine/core/values";
import { commitWrites, getDocument } from "../engine/shard/client";
import { api, pathsOnDistinctShards } from "./helpers";
import { openListenSocket } from "./support/listen-socket";

const DENIED = { code: "PERMISSION_DENIED", message: "Missing or insufficient permissions." };
const user = (uid: string, team = "red"): AuthContext => ({ role: "client", keyId: null, user: { uid, token: { sub: uid, team } } });
const ADMIN: AuthContext = { role: "admin", keyId: "test" };

/** Seeds documents as an admin (bypassing the rules). */
async function seedAsAdmin(docs: Record<string, DocumentData>) {
  await commitWrites(env, Object.entries(docs).map(([path, data]) => ({ op: "set", path, data }) as const), ADMIN);
}

describe("rules: anonymous callers", () => {
  it("reads of guarded documents are denied before existence shows", async () => {
    await seedAsAdmin({ "sec_tasks/a1": { owner: "alice", title: "x" } });
    for (const path of ["sec_tasks/a1", "sec_tasks/missing"]) {
      const res = await api("GET", `/v1/docs/${path}`);
      expect(res.status, path).toBe(403);
      expect(res.body.error).toMatchObject(DENIED);
    }
    // Allowed: a public document, and an open collection.
    await seedAsAdmin({ "sec_public/p1": { n: 1 } });
    expect((await api("GET", "/v1/docs/sec_public/p1")).body.data).toEqual({ n: 1 });
    expect((await api("GET", "/v1/docs/sec_public/none")).status).toBe(404);
  });

  it("every kind of write is denied and writes nothing: set, create, update, delete, preconditions, batches", async () => {
    await seedAsAdmin({ "sec_public/w1": { n: 1 } });
    const attempts: [string, string, unknown, Record<string, string>?][] = [
      ["PUT", "/v1/docs/sec_public/w1", { n: 2 }],
      ["PUT", "/v1/docs/sec_public/w2", { n: 2 }],
      ["POST", "/v1/docs/sec_public", { n: 2 }],
      ["PATCH", "/v1/docs/sec_public/w1", { n: { $increment: 1 } }],
      // A precondition that would fail must not reveal the version either.
      ["PATCH", "/v1/docs/sec_public/w1", { n: 3 }, { "If-Match": "99" }],
      ["PATCH", "/v1/docs/sec_public/none", { n: 3 }],
      ["DELETE", "/v1/docs/sec_public/w1", undefined],
      ["DELETE", "/v1/docs/sec_public/none", undefined],
    ];
    for (const [method, path, body, headers] of attempts) {
      const res = await api(method, path, body, headers);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error).toMatchObject(DENIED);
    }
    expect((await getDocument(env, "sec_public/w1"))?.data).toEqual({ n: 1 });
    expect(await getDocument(env, "sec_public/w2")).toBeNull();
  });

  it("one denied write fails the whole batch, on one shard and across shards, and writes nothing", async () => {
    const [open1, open2] = pathsOnDistinctShards("rules_open", 2);
    for (const writes of [
      [{ op: "set", path: open1, data: { a: 1 } }, { op: "set", path: "sec_public/b1", data: { a: 1 } }],
      [{ op: "set", path: open1, data: { a: 1 } }, { op: "set", path: open2, data: { a: 1 } }, { op: "delete", path: "sec_public/b2" }],
    ]) {
      const res = await api("POST", "/v1/batch", { writes });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject(DENIED);
    }
    expect(await getDocument(env, open1)).toBeNull();
    expect(await getDocument(env, open2)).toBeNull();
  });

  it("queries, aggregates, collection groups and explain are denied where no list rule allows them", async () => {
    const bodies = [
      { from: { collection: "sec_tasks" } },
      { from: { collection: "sec_tasks" }, aggregate: { n: { count: true } } },
      { from: { collection: "sec_members" }, where: ["x", "==", 1] },
      { from: { collectionGroup: "sec_notes" } },
      { from: { collectionGroup: "sec_tasks" } }, // not a group rule at all
      { from: { collection: "sec_users/alice/items" } },
    ];
    for (const body of bodies) {
      const res = await api("POST", "/v1/query", body);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.error.code).toBe("PERMISSION_DENIED");
      expect(res.body.docs).toBeUndefined();
    }
    expect((await api("POST", "/v1/query", { from: { collection: "sec_public" } })).status).toBe(200);
    // Explain of a query the rules let the caller run unfiltered reveals nothing more.
    expect((await api("POST", "/v1/query", { from: { collection: "sec_public" }, explain: true })).body.explain).toBeDefined();
  });

  it("listeners: a document or query listener past the rules gets PERMISSION_DENIED on that listener only", async () => {
    await seedAsAdmin({ "sec_tasks/l1": { owner: "alice" }, "sec_public/l2": { n: 1 } });
    const c = await openListenSocket();
    c.send({ op: "listen", id: 1, doc: "sec_tasks/l1" });
    c.send({ op: "listen", id: 2, query: { from: { collection: "sec_tasks" } } });
    c.send({ op: "listen", id: 3, doc: "sec_public/l2" });
    const [[e1], [e2], [ok]] = await Promise.all([c.take(1), c.take(2), c.take(3)]);
    expect(e1).toMatchObject({ type: "error", error: DENIED });
    expect(e2).toMatchObject({ type: "error", error: { code: "PERMISSION_DENIED" } });
    expect(ok).toMatchObject({ type: "snapshot", changes: [{ doc: { data: { n: 1 } } }] });
    // The denied document changes: nothing reaches the socket for it.
    await seedAsAdmin({ "sec_tasks/l1": { owner: "alice", v: 2 } });
    expect(await c.quietFor(1)).toEqual([]);
    c.ws.close();
  });
});

describe("rules: signed-in users (row-level security)", () => {
  it("writes are judged on the stored document and the one after the write, inside the shard", async () => {
    const alice = user("alice");
    const bob = user("bob");
    await commitWrites(env, [{ op: "set", path: "sec_tasks/t1", data: { owner: "alice", n: 1 } }], alice);
    await expect(commitWrites(env, [{ op: "set", path: "sec_tasks/t2", data: { owner: "alice" } }], bob)).rejects.toMatchObject(DENIED);
    // Bob may not touch Alice's task, nor may Alice give it away.
    await expect(commitWrites(env, [{ op: "update", path: "sec_tasks/t1", data: { n: 2 } }], bob)).rejects.toMatchObject(DENIED);
    await expect(commitWrites(env, [{ op: "update", path: "sec_tasks/t1", data: { owner: "bob" } }], alice)).rejects.toMatchObject(DENIED);
    await commitWrites(env, [{ op: "update", path: "sec_tasks/t1", data: { n: { $increment: 1 } } }], alice);
    expect((await getDocument(env, "sec_tasks/t1"))?.data).toEqual({ owner: "alice", n: 2 });
    await expect(commitWrites(env, [{ op: "delete", path: "sec_tasks/t1" }], bob)).rejects.toMatchObject(DENIED);
    // A cross-shard batch with one write Bob may not make: nothing of it lands.
    const [mine] = pathsOnDistinctShards("sec_users/bob/items", 1);
    await expect(
      commitWrites(env, [{ op: "set", path: mine, data: { a: 1 } }, { op: "set", path: "sec_tasks/t3", data: { owner: "alice" } }], bob),
    ).rejects.toMatchObject(DENIED);
    expect(await getDocument(env, mine)).toBeNull();
    await commitWrites(env, [{ op: "set", path: mine, data: { a: 1 } }], bob);
    expect((await getDocument(env, mine))?.data).toEqual({ a: 1 });
  });
});
