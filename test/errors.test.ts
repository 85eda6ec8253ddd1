import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS, BlazeError } from "../engine/core/errors";
import { errorResponse } from "../engine/http/render-error";
import { api, BASE } from "./helpers";

async function expectError(res: { status: number; body: any }, code: string, status: number, messagePart?: string) {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
  if (messagePart) expect(res.body.error.message).toContain(messagePart);
}

describe("bad input gets the documented error and writes nothing", () => {
  it("malformed JSON", async () => {
    await expectError(await api("PUT", "/v1/docs/e/1", "{not json"), "INVALID_ARGUMENT", 400, "JSON");
    expect((await api("GET", "/v1/docs/e/1")).status).toBe(404);
  });

  it("empty body", async () => {
    await expectError(await api("PUT", "/v1/docs/e/1", ""), "INVALID_ARGUMENT", 400);
  });

  it("data that is not an object", async () => {
    await expectError(await api("PUT", "/v1/docs/e/1", [1, 2]), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/1", "\"str\""), "INVALID_ARGUMENT", 400);
  });

  it("bad paths", async () => {
    await expectError(await api("PUT", "/v1/docs/users", { a: 1 }), "INVALID_ARGUMENT", 400, "collection");
    await expectError(await api("PUT", "/v1/docs/users/__bad__", { a: 1 }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/users/a%2Fb", { a: 1 }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/users//x", { a: 1 }), "INVALID_ARGUMENT", 400);
    await expectError(await api("POST", "/v1/docs/users/alice", { a: 1 }), "INVALID_ARGUMENT", 400);
    await expectError(await api("GET", "/v1/docs/users/%E0%A4%A"), "INVALID_ARGUMENT", 400);
    const longId = "x".repeat(1501);
    await expectError(await api("PUT", `/v1/docs/users/${longId}`, { a: 1 }), "INVALID_ARGUMENT", 400);
  });

  it("reserved and malformed fields", async () => {
    await expectError(await api("PUT", "/v1/docs/e/2", { $weird: 1 }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/2", { __x__: 1 }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/2", { t: { $timestamp: "yesterday" } }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/2", { b: { $bytes: "!!" } }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/2", { r: { $ref: "users" } }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/2", { gone: { $delete: true } }), "INVALID_ARGUMENT", 400);
    await expectError(await api("PUT", "/v1/docs/e/2", { arr: [{ $increment: 1 }] }), "INVALID_ARGUMENT", 400);
    expect((await api("GET", "/v1/docs/e/2")).status).toBe(404);
  });

  it("too deep", async () => {
    let deep: any = 1;
    for (let i = 0; i < 21; i++) deep = { d: deep };
    await expectError(await api("PUT", "/v1/docs/e/3", deep), "INVALID_ARGUMENT", 400, "nested deeper than the limit of 20");
  });

  it("oversized document: 413, nothing written", async () => {
    const big = { s: "x".repeat(1024 * 1024) };
    await expectError(await api("PUT", "/v1/docs/e/4", big), "PAYLOAD_TOO_LARGE", 413);
    expect((await api("GET", "/v1/docs/e/4")).status).toBe(404);
  });

  it("an update that would grow the document past 1 MiB is refused", async () => {
    await api("PUT", "/v1/docs/e/5", { a: "x".repeat(600 * 1024) });
    await expectError(await api("PATCH", "/v1/docs/e/5", { b: "y".repeat(600 * 1024) }), "PAYLOAD_TOO_LARGE", 413);
    expect((await api("GET", "/v1/docs/e/5")).body.data).not.toHaveProperty("b");
  });

  it("oversized request body", async () => {
    const res = await api("POST", "/v1/batch", "x".repeat(11 * 1024 * 1024));
    await expectError(res, "PAYLOAD_TOO_LARGE", 413);
  });

  it("too many indexed values", async () => {
    const data: Record<string, number> = {};
    for (let i = 0; i < 1200; i++) data[`f${i}`] = i;
    await expectError(await api("PUT", "/v1/docs/e/6", data), "INVALID_ARGUMENT", 400, "1000");
  });

  it("unknown route and method", async () => {
    await expectError(await api("GET", "/v1/nothing"), "NOT_FOUND", 404);
  });

  it("listen without an upgrade", async () => {
    await expectError(await api("GET", "/v1/listen?doc=a/b"), "FAILED_PRECONDITION", 412);
  });
});

describe("the error renderer", () => {
  it("renders every code with its status as JSON", async () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      const res = errorResponse(new BlazeError(code as keyof typeof ERROR_STATUS, `m-${code}`, { x: 1 }));
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: { code, message: `m-${code}`, details: { x: 1 } } });
    }
  });

  it("hides internals of unexpected errors", async () => {
    const res = errorResponse(new Error("secret stack detail"));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "INTERNAL", message: "internal error" } });
  });
});
