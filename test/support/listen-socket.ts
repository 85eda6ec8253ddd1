/** A client of GET /v1/listen through the real Worker, for workers tests. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

const BASE = "http://blaze.test";

/** Opens the one-socket listen endpoint (`query` adds e.g. `key=`), collecting what the server sends. */
export async function openListenSocket(query = "", headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(new Request(`${BASE}/v1/listen${query ? `?${query}` : ""}`, { headers: { Upgrade: "websocket", ...headers } }));
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const messages: any[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.addEventListener("message", (e) => messages.push(JSON.parse(e.data as string)));
  ws.addEventListener("close", (e) => (closed = { code: e.code, reason: e.reason }));
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  /** Waits until `n` messages for listener `id` are in, and takes them. */
  const take = async (id: unknown, n = 1, timeoutMs = 5000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const mine = messages.filter((m) => m.id === id);
      if (mine.length >= n) {
        const out = mine.slice(0, n);
        for (const m of out) messages.splice(messages.indexOf(m), 1);
        return out;
      }
      if (Date.now() > end) throw new Error(`listener ${JSON.stringify(id)}: expected ${n} messages, have ${JSON.stringify(messages)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** Lets in-flight messages arrive, then says whether any for `id` came. */
  const quietFor = async (id: unknown, ms = 300) => {
    await new Promise((r) => setTimeout(r, ms));
    return messages.filter((m) => m.id === id);
  };
  return { ws, send, take, quietFor, messages, closed: () => closed, headers: res.headers };
}
