/**
 * Every id Firestore accepts works in every position of a path, and every
 * other id answers INVALID_ARGUMENT (never a 500, never a partial write).
 * Firestore: any UTF-8 string without "/", not "." or "..", not __.*__,
 * at most 1,500 bytes.
 */
import { describe, expect, it } from "vitest";
import { api, d1Doc, eventually } from "./helpers";

const ODD_IDS = ["\u0000", "a b", "%", "%2F-not-a-slash", "ü🙂", "..a", "`x`", "a.b", "__a", "a__", "\\", "?#&", "\u{10FFFF}", "x".repeat(1500)];
const enc = (id: string) => encodeURIComponent(id);

describe("ids Firestore accepts", () => {
  it("round-trip as document, collection and subcollection ids, through the shard and the index", async () => {
    for (const id of ODD_IDS) {
      const path = `${enc(id)}/${enc(id)}/${enc(id)}/${enc(id)}`;
      const put = await api("PUT", `/v1/docs/${path}`, { id });
      expect(put.status, `${JSON.stringify(id)}: ${JSON.stringify(put.body)}`).toBe(200);
      const got = await api("GET", `/v1/docs/${path}`);
      expect(got.status).toBe(200);
      expect(got.body.path).toBe([id, id, id, id].join("/"));
      expect(got.body.data).toEqual({ id });
      const created = await api("POST", `/v1/docs/${enc(id)}/${enc(id)}/items`, { n: 1 });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.path.startsWith(`${id}/${id}/items/`)).toBe(true);
      expect(created.headers.get("Location")).toBe(`/v1/docs/${enc(id)}/${enc(id)}/items/${created.body.path.split("/").pop()}`);
    }
  });

  it("are found by collection, collection-group and __name__ queries", async () => {
    const id = "\u0000 ü.`";
    const put = await api("PUT", `/v1/docs/odd/${enc(id)}/${enc(id)}/d`, { v: 1 });
    expect(put.status).toBe(200);
    const q = async (body: unknown) => {
      const r = await api("POST", "/v1/query", { ...(body as object), after: put.body.token });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.docs.map((d: { path: string }) => d.path);
    };
    const path = `odd/${id}/${id}/d`;
    expect(await q({ from: { collection: `odd/${id}/${id}` } })).toEqual([path]);
    expect(await q({ from: { collectionGroup: id } })).toEqual([path]);
    expect(await q({ from: { collectionGroup: id }, where: ["__name__", "==", path] })).toEqual([path]);
    expect(await eventually(() => d1Doc(path))).toBeTruthy();
  });

  it("are accepted in batch writes and in field names", async () => {
    const r = await api("POST", "/v1/batch", { writes: [{ op: "set", path: "odd/\u0000x", data: { "\u0000": 1, "a\u0000b": { "ü": 2 } } }] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const got = await api("GET", `/v1/docs/odd/${enc("\u0000x")}`);
    expect(got.body.data).toEqual({ "\u0000": 1, "a\u0000b": { "ü": 2 } });
  });
});

describe("ids Firestore refuses", () => {
  const refused = async (method: string, url: string, body?: unknown) => {
    const r = await api(method, url, body);
    expect(r.status, `${method} ${url}: ${JSON.stringify(r.body)}`).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
    return r.body.error.message as string;
  };

  it("answer INVALID_ARGUMENT in every position, and nothing is written", async () => {
    // "." and ".." never reach the server as URL segments (URL parsing resolves
    // them, %2E too), so they are checked through the batch body.
    for (const id of [".", ".."]) {
      for (const path of [`c/${id}`, `${id}/d`, `c/d/${id}/e`]) {
        expect(await refused("POST", "/v1/batch", { writes: [{ op: "set", path, data: {} }] })).toContain("not allowed");
      }
    }
    const bad = ["__x__", "x".repeat(1501), "a%2Fb"];
    for (const id of bad) {
      const seg = id.includes("%") ? id : enc(id);
      await refused("PUT", `/v1/docs/c/${seg}`, { a: 1 });
      await refused("PUT", `/v1/docs/${seg}/d`, { a: 1 });
      await refused("PUT", `/v1/docs/c/d/${seg}/e`, { a: 1 });
      await refused("POST", `/v1/docs/c/${seg}/items`, { a: 1 });
      await refused("GET", `/v1/docs/c/${seg}`);
    }
    expect((await api("GET", "/v1/docs/c/d")).status).toBe(404);
  });

  it("caps a path at 6 KiB, as Firestore caps a document name, so no change outgrows a queue message", async () => {
    const seg = (i: number) => `${i}`.padEnd(1200, "x");
    const ok = [0, 1, 2, 3].map(seg).join("/");
    expect((await api("PUT", `/v1/docs/${ok}`, { a: 1 })).status).toBe(200);
    const long = [0, 1, 2, 3, 4, 5].map(seg).join("/");
    expect(await refused("PUT", `/v1/docs/${long}`, { a: 1 })).toContain("more than the limit of 6144");
    expect(await refused("POST", "/v1/batch", { writes: [{ op: "set", path: long, data: {} }] })).toContain("6144");
  });

  it("refuses invalid UTF-8 and bad percent-encoding", async () => {
    expect(await refused("PUT", "/v1/docs/c/%FF", { a: 1 })).toContain("percent-encoding");
    expect(await refused("PUT", "/v1/docs/c/%C3", { a: 1 })).toContain("percent-encoding");
    expect(await refused("PUT", "/v1/docs/c/%E0%80%80", { a: 1 })).toContain("percent-encoding");
    expect(await refused("PUT", "/v1/docs/c/%zz", { a: 1 })).toContain("percent-encoding");
  });

  it("refuses lone surrogates in ids and field names sent as JSON", async () => {
    expect(await refused("POST", "/v1/batch", { writes: [{ op: "set", path: "c/\uD800", data: {} }] })).toContain("UTF-8");
    expect(await refused("PUT", "/v1/docs/c/ok", { "\uDC00": 1 })).toContain("UTF-8");
    expect(await refused("POST", "/v1/query", { from: { collectionGroup: "\uD800" } })).toContain("UTF-8");
  });
});
