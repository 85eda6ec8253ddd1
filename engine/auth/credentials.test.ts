import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { presentedCredentials } from "./credentials";

const KEY = `blz_client_0123456789abcdef_${"a".repeat(43)}`;
const KEY2 = `blz_admin_0123456789abcdef_${"b".repeat(43)}`;
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig";
const req = (headers: Record<string, string>, query = "") => new Request(`http://x/v1/listen${query}`, { headers });
const ws = { Upgrade: "websocket" };

describe("where credentials are read", () => {
  it.each([
    ["nothing", req({}), { key: null, jwt: null }],
    ["a key as Bearer", req({ Authorization: `Bearer ${KEY}` }), { key: KEY, jwt: null }],
    ["a JWT as Bearer", req({ Authorization: `bearer ${JWT}` }), { key: null, jwt: JWT }],
    ["a key in X-Blaze-Key and a JWT as Bearer", req({ Authorization: `Bearer ${JWT}`, "X-Blaze-Key": KEY }), { key: KEY, jwt: JWT }],
    ["?key= and ?access_token= on a WebSocket upgrade", req(ws, `?key=${KEY}&access_token=${JWT}`), { key: KEY, jwt: JWT }],
  ])("%s", (_n, request, expected) => {
    expect(presentedCredentials(request)).toEqual(expected);
  });

  it.each([
    ["Basic auth", req({ Authorization: "Basic abc" })],
    ["Bearer without a token", req({ Authorization: "Bearer" })],
    ["a JWT in X-Blaze-Key", req({ "X-Blaze-Key": JWT })],
    ["two keys", req({ Authorization: `Bearer ${KEY}`, "X-Blaze-Key": KEY2 })],
    ["two JWTs", req({ ...ws, Authorization: `Bearer ${JWT}` }, `?access_token=${JWT}`)],
    ["?key= without an upgrade", req({}, `?key=${KEY}`)],
    ["?access_token= without an upgrade", req({}, `?access_token=${JWT}`)],
    ["a JWT in ?key=", req(ws, `?key=${JWT}`)],
  ])("refuses %s as UNAUTHENTICATED", (_n, request) => {
    let err: unknown;
    try {
      presentedCredentials(request);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlazeError);
    expect((err as BlazeError).code).toBe("UNAUTHENTICATED");
  });
});
