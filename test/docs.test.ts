import { describe, expect, it } from "vitest";
import { api } from "./helpers";

describe("documents over HTTP", () => {
  it("sets, reads, replaces and deletes a document", async () => {
    const put = await api("PUT", "/v1/docs/users/alice", { name: "Alice", age: 30 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ path: "users/alice", version: 1 });
    expect(put.body.token).toMatch(/^\d+:\d+$/);
    expect(typeof put.body.updateTime).toBe("string");

    const get = await api("GET", "/v1/docs/users/alice");
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ path: "users/alice", id: "alice", data: { name: "Alice", age: 30 }, version: 1 });
    expect(get.headers.get("ETag")).toBe('"1"');

    const replace = await api("PUT", "/v1/docs/users/alice", { name: "Al" });
    expect(replace.body.version).toBe(2);
    expect((await api("GET", "/v1/docs/users/alice")).body.data).toEqual({ name: "Al" });

    const del = await api("DELETE", "/v1/docs/users/alice");
    expect(del.status).toBe(200);
    expect(del.body.version).toBe(3);
    const gone = await api("GET", "/v1/docs/users/alice");
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("NOT_FOUND");

    // Versions keep growing across delete and re-create.
    expect((await api("PUT", "/v1/docs/users/alice", { back: true })).body.version).toBe(4);
  });

  it("keeps createTime across updates and moves updateTime", async () => {
    await api("PUT", "/v1/docs/times/t1", { a: 1 });
    const first = (await api("GET", "/v1/docs/times/t1")).body;
    await new Promise((r) => setTimeout(r, 5));
    await api("PATCH", "/v1/docs/times/t1", { a: 2 });
    const second = (await api("GET", "/v1/docs/times/t1")).body;
    expect(second.createTime).toBe(first.createTime);
    expect(second.updateTime > first.updateTime).toBe(true);
  });

  it("creates with a generated id (POST, 201)", async () => {
    const res = await api("POST", "/v1/docs/rooms", { title: "x" });
    expect(res.status).toBe(201);
    expect(res.body.path).toMatch(/^rooms\/[A-Za-z0-9]{20}$/);
    expect(res.headers.get("Location")).toBe(`/v1/docs/${res.body.path}`);
    expect((await api("GET", `/v1/docs/${res.body.path}`)).body.data).toEqual({ title: "x" });
  });

  it("creates in a subcollection", async () => {
    const res = await api("POST", "/v1/docs/users/bob/posts", { t: 1 });
    expect(res.status).toBe(201);
    expect(res.body.path).toMatch(/^users\/bob\/posts\/[A-Za-z0-9]{20}$/);
  });

  it("updates fields with dotted paths, and 404s on a missing document", async () => {
    await api("PUT", "/v1/docs/u/p1", { a: { b: 1, c: 2 }, keep: true });
    const res = await api("PATCH", "/v1/docs/u/p1", { "a.b": 10, "x.y": "new", "`odd.key`": 1 });
    expect(res.status).toBe(200);
    expect((await api("GET", "/v1/docs/u/p1")).body.data).toEqual({ a: { b: 10, c: 2 }, keep: true, x: { y: "new" }, "odd.key": 1 });

    const missing = await api("PATCH", "/v1/docs/u/nope", { a: 1 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    expect((await api("GET", "/v1/docs/u/nope")).status).toBe(404);
  });

  it("merges with PUT ?merge=true", async () => {
    await api("PUT", "/v1/docs/m/1", { a: { x: 1 }, b: 1 });
    await api("PUT", "/v1/docs/m/1?merge=true", { a: { y: 2 }, c: 3, b: { $delete: true } });
    expect((await api("GET", "/v1/docs/m/1")).body.data).toEqual({ a: { x: 1, y: 2 }, c: 3 });
  });

  it("applies field transforms", async () => {
    await api("PUT", "/v1/docs/t/1", { n: 1, tags: ["a", "b"], gone: 1 });
    await api("PATCH", "/v1/docs/t/1", {
      n: { $increment: 2.5 },
      fresh: { $increment: 3 },
      at: { $serverTimestamp: true },
      tags: { $arrayUnion: ["b", "c"] },
      gone: { $delete: true },
    });
    const d1 = (await api("GET", "/v1/docs/t/1")).body.data;
    expect(d1.n).toBe(3.5);
    expect(d1.fresh).toBe(3);
    expect(d1.tags).toEqual(["a", "b", "c"]);
    expect(d1).not.toHaveProperty("gone");
    expect(Object.keys(d1.at)).toEqual(["$timestamp"]);
    await api("PATCH", "/v1/docs/t/1", { tags: { $arrayRemove: ["a", "zzz"] } });
    expect((await api("GET", "/v1/docs/t/1")).body.data.tags).toEqual(["b", "c"]);
  });

  it("stores tagged values", async () => {
    const data = { when: { $timestamp: "2024-05-01T10:00:00.000Z" }, raw: { $bytes: "AAEC" }, who: { $ref: "users/alice" } };
    await api("PUT", "/v1/docs/tagged/1", data);
    const got = (await api("GET", "/v1/docs/tagged/1")).body.data;
    expect(got.raw).toEqual({ $bytes: "AAEC" });
    expect(got.who).toEqual({ $ref: "users/alice" });
    expect(Date.parse(got.when.$timestamp)).toBe(Date.parse("2024-05-01T10:00:00.000Z"));
  });
});

describe("preconditions", () => {
  it("If-Match must equal the current version", async () => {
    const v1 = (await api("PUT", "/v1/docs/pre/a", { n: 1 })).body.version;
    const ok = await api("PUT", "/v1/docs/pre/a", { n: 2 }, { "If-Match": String(v1) });
    expect(ok.status).toBe(200);
    const stale = await api("PUT", "/v1/docs/pre/a", { n: 3 }, { "If-Match": String(v1) });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe("FAILED_PRECONDITION");
    expect((await api("GET", "/v1/docs/pre/a")).body.data).toEqual({ n: 2 });

    const staleDelete = await api("DELETE", "/v1/docs/pre/a", undefined, { "If-Match": '"1"' });
    expect(staleDelete.status).toBe(412);
    expect((await api("GET", "/v1/docs/pre/a")).status).toBe(200);
  });

  it("If-Match: 0 means the document must not exist", async () => {
    const created = await api("PUT", "/v1/docs/pre/new", { n: 1 }, { "If-Match": "0" });
    expect(created.status).toBe(200);
    const again = await api("PUT", "/v1/docs/pre/new", { n: 2 }, { "If-Match": "0" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("ALREADY_EXISTS");
  });

  it("If-Match on a missing document fails", async () => {
    const res = await api("PATCH", "/v1/docs/pre/missing", { n: 1 }, { "If-Match": "3" });
    expect(res.status).toBe(412);
  });

  it("rejects a malformed If-Match", async () => {
    const res = await api("PUT", "/v1/docs/pre/x", { n: 1 }, { "If-Match": "abc" });
    expect(res.status).toBe(400);
    expect((await api("GET", "/v1/docs/pre/x")).status).toBe(404);
  });
});
