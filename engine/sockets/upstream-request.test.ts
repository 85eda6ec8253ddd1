import { describe, expect, it } from "vitest";
import { upstreamRequest } from "./upstream-request";

describe("upstreamRequest", () => {
  it("drops the client's credentials (query string and headers) and sets the object's headers", () => {
    const client = new Request("https://blaze.test/v1/listen?key=blz_client_x_secret&access_token=eyJ.secret", {
      headers: { Upgrade: "websocket", Authorization: "Bearer eyJ.secret", "X-Blaze-Key": "blz_client_x_secret", "X-Blaze-Auth": "forged", "Sec-WebSocket-Protocol": "blaze.v1, blaze.auth.c2VjcmV0" },
    });
    const r = upstreamRequest(client, { "X-Blaze-Auth": '{"role":"client"}', "X-Blaze-Shard": "3" });
    expect(r.url).toBe("https://blaze.test/v1/listen");
    expect(r.headers.get("Upgrade")).toBe("websocket");
    expect(r.headers.get("Authorization")).toBeNull();
    expect(r.headers.get("X-Blaze-Key")).toBeNull();
    expect(r.headers.get("Sec-WebSocket-Protocol")).toBeNull();
    expect(r.headers.get("X-Blaze-Auth")).toBe('{"role":"client"}');
    expect(r.headers.get("X-Blaze-Shard")).toBe("3");
    expect(JSON.stringify([...r.headers])).not.toContain("secret");
    expect(JSON.stringify([...r.headers])).not.toContain("c2VjcmV0");
  });
});
