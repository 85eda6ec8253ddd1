import { describe, expect, it } from "vitest";
import { parseRelayFrame, parseShardFrame, ProtocolError } from "./protocol";

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof ProtocolError ? [e.id, e.error.code] : e;
  }
  return "no error";
};

describe("auth messages (client -> relay)", () => {
  it.each([
    [{ op: "auth", key: "blz_client_x_y" }, { op: "auth", key: "blz_client_x_y" }],
    [{ op: "auth", token: "a.b.c" }, { op: "auth", token: "a.b.c" }],
    [{ op: "auth", key: "k", token: "t", extra: 1 }, { op: "auth", key: "k", token: "t" }],
  ])("parses %j", (frame, expected) => {
    expect(parseRelayFrame(JSON.stringify(frame))).toEqual(expected);
  });

  it.each([
    ["no credential", { op: "auth" }],
    ["an empty token", { op: "auth", token: "" }],
    ["a key that is not a string", { op: "auth", key: 1 }],
    ["a token that is not a string", { op: "auth", token: { sub: "me" } }],
  ])("refuses %s as UNAUTHENTICATED, id null", (_n, frame) => {
    expect(codeOf(() => parseRelayFrame(JSON.stringify(frame)))).toEqual([null, "UNAUTHENTICATED"]);
  });

  it("does not take a caller frame from a client", () => {
    expect(codeOf(() => parseRelayFrame(JSON.stringify({ op: "caller", id: 1, auth: { role: "admin", keyId: "k" } })))).toEqual([1, "INVALID_ARGUMENT"]);
  });
});

describe("caller frames (relay -> shard)", () => {
  it("parses the new caller", () => {
    const auth = { role: "client", keyId: null, user: { uid: "u", token: { sub: "u" } } };
    expect(parseShardFrame(JSON.stringify({ op: "caller", auth }))).toEqual({ op: "caller", auth });
  });

  it.each([{ op: "caller" }, { op: "caller", auth: null }, { op: "caller", auth: { role: "root" } }])("refuses %j", (frame) => {
    expect(codeOf(() => parseShardFrame(JSON.stringify(frame)))).toEqual([null, "INVALID_ARGUMENT"]);
  });

  it("does not take an auth message (that is the relay's)", () => {
    expect(codeOf(() => parseShardFrame(JSON.stringify({ op: "auth", id: 1, token: "t" })))).toEqual([1, "INVALID_ARGUMENT"]);
  });
});
