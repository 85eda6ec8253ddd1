import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { encodeBase64url } from "../core/base64url";
import { offeredProtocols, presentedCredentials } from "./credentials";

const KEY = `blz_client_0123456789abcdef_${"a".repeat(43)}`;
const KEY2 = `blz_admin_0123456789abcdef_${"b".repeat(43)}`;
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig";
const req = (headers: Record<string, string>, query = "") => new Request(`http://x/v1/listen${query}`, { headers });
const ws = { Upgrade: "websocket" };
/** An upgrade offering blaze.v1 and these credentials as subprotocols. */
const offering = (...credentials: string[]) => ({
  ...ws,
  "Sec-WebSocket-Protocol": ["blaze.v1", ...credentials.map((c) => `blaze.auth.${encodeBase64url(c)}`)].join(", "),
});

describe("where credentials are read", () => {
  it.each([
    ["nothing", req({}), { key: null, jwt: null }],
    ["a key as Bearer", req({ Authorization: `Bearer ${KEY}` }), { key: KEY, jwt: null }],
    ["a JWT as Bearer", req({ Authorization: `bearer ${JWT}` }), { key: null, jwt: JWT }],
    ["a key in X-Blaze-Key and a JWT as Bearer", req({ Authorization: `Bearer ${JWT}`, "X-Blaze-Key": KEY }), { key: KEY, jwt: JWT }],
    ["?key= and ?access_token= on a WebSocket upgrade", req(ws, `?key=${KEY}&access_token=${JWT}`), { key: KEY, jwt: JWT }],
    ["a key as a subprotocol", req(offering(KEY)), { key: KEY, jwt: null }],
    ["a JWT as a subprotocol", req(offering(JWT)), { key: null, jwt: JWT }],
    ["a key and a JWT as subprotocols", req(offering(JWT, KEY)), { key: KEY, jwt: JWT }],
    ["a key as a subprotocol and a JWT as Bearer", req({ ...offering(KEY), Authorization: `Bearer ${JWT}` }), { key: KEY, jwt: JWT }],
    ["blaze.v1 alone", req(offering()), { key: null, jwt: null }],
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
    ["a subprotocol credential without an upgrade", req({ "Sec-WebSocket-Protocol": offering(KEY)["Sec-WebSocket-Protocol"] })],
    ["a subprotocol credential that is not base64url", req({ ...ws, "Sec-WebSocket-Protocol": "blaze.v1, blaze.auth.a+b/c" })],
    ["an empty subprotocol credential", req({ ...ws, "Sec-WebSocket-Protocol": "blaze.v1, blaze.auth." })],
    ["two keys as subprotocols", req(offering(KEY, KEY2))],
    ["a JWT as a subprotocol and as Bearer", req({ ...offering(JWT), Authorization: `Bearer ${JWT}` })],
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

describe("offeredProtocols", () => {
  it("splits the header on commas, trimmed, in order", () => {
    expect(offeredProtocols(req({ "Sec-WebSocket-Protocol": " blaze.v1 ,blaze.auth.eA,, x " }))).toEqual(["blaze.v1", "blaze.auth.eA", "x"]);
    expect(offeredProtocols(req({}))).toEqual([]);
  });
});
