/**
 * The SDK's transport against the real Worker: heartbeats notice a socket
 * that went silent without closing, and writes made while the server cannot
 * be reached wait in memory and apply in order, once each, when it is back.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { doc, getDoc, increment, initializeBlaze, onSnapshot, setDoc, terminate, updateDoc, type DocumentSnapshot, type SocketLike } from "blaze/sdk";
import { api, BASE, eventually } from "./helpers";

/** A database over the real Worker whose network can fail: `offline` for HTTP, `silence()` kills the open sockets (frames vanish both ways, no close event). */
function open() {
  const alive: { silent: boolean }[] = [];
  const net = { offline: false, sockets: 0, silence: () => alive.forEach((s) => (s.silent = true)) };
  const db = initializeBlaze({
    url: BASE,
    heartbeatMs: 50,
    listenIdleMs: 50,
    fetch: async (req) => {
      if (net.offline) throw new TypeError("fetch failed: network is down");
      return exports.default.fetch(req);
    },
    webSocket: async (url) => {
      if (net.offline) throw new Error("network is down");
      const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
      const ws = res.webSocket!;
      ws.accept();
      net.sockets++;
      const mine = { silent: false };
      alive.push(mine);
      const dead = () => mine.silent;
      return {
        send: (d: string) => void (dead() || ws.send(d)),
        close: (code?: number, reason?: string) => ws.close(code, reason),
        addEventListener: (type: string, cb: (e: any) => void) =>
          ws.addEventListener(type as "message", (e: any) => {
            if (type !== "message" || !dead()) cb(e);
          }),
      } as SocketLike;
    },
  });
  return { db, net };
}

describe("sdk transport", () => {
  it("a socket gone silent is noticed by the heartbeat, reopened, and the listener misses nothing", async () => {
    const { db, net } = open();
    await api("PUT", "/v1/docs/sdkhb/a", { n: 1 });
    const got: DocumentSnapshot[] = [];
    const stop = onSnapshot(doc(db, "sdkhb/a"), (s) => got.push(s));
    await eventually(async () => got.length === 1);
    net.silence();
    // Not delivered on the dead socket, which never closes: only the heartbeat can bring it.
    await api("PATCH", "/v1/docs/sdkhb/a", { n: 2 });
    await eventually(async () => got.at(-1)?.get("n") === 2, 3000);
    expect(net.sockets).toBe(2);
    expect(got.map((s) => s.get("n"))).toEqual([1, 2]);
    stop();
    await terminate(db);
  });

  it("writes made while offline apply in order, once each, when the server is back", async () => {
    const { db, net } = open();
    const ref = doc(db, "sdkoff/a");
    net.offline = true;
    const done: string[] = [];
    const writes = [
      setDoc(ref, { n: 0, log: "set" }).then(() => done.push("set")),
      updateDoc(ref, { n: increment(1) }).then(() => done.push("inc1")),
      updateDoc(ref, { n: increment(1) }).then(() => done.push("inc2")),
      setDoc(ref, { last: true }, { merge: true }).then(() => done.push("merge")),
    ];
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toEqual([]);
    expect((await api("GET", "/v1/docs/sdkoff/a")).status).toBe(404);
    net.offline = false;
    await Promise.all(writes);
    expect(done).toEqual(["set", "inc1", "inc2", "merge"]);
    const snap = await getDoc(ref);
    expect(snap.data()).toEqual({ n: 2, log: "set", last: true });
    expect(snap._doc?.version).toBe(4);
    await terminate(db);
  });
});
