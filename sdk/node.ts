/**
 * The SDK for Node (package.json "exports" condition `node`): the same API as
 * index.ts, but where the runtime has no global WebSocket (Node 20, or Node 22
 * with `--no-experimental-websocket`) `initializeBlaze` opens the listen socket
 * with the `ws` package, loaded only then, so it stays an optional peer.
 */
import { initializeBlaze as initializeWith, type Blaze, type BlazeSettings, type SocketLike } from "./database";
import { BlazeError } from "./errors";

export * from "./index";

/** `initializeBlaze` of index.ts, with the `ws` package as the socket where no global WebSocket exists. */
export function initializeBlaze(settings: BlazeSettings): Blaze {
  if (settings?.webSocket || typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function") return initializeWith(settings);
  return initializeWith({ ...settings, webSocket: openWithWs });
}

async function openWithWs(url: string): Promise<SocketLike> {
  let WebSocket: WsConstructor;
  try {
    ({ WebSocket } = (await import("ws")) as { WebSocket: WsConstructor });
  } catch {
    throw new BlazeError("unimplemented", "this Node has no global WebSocket: install the ws package (npm install ws) to listen");
  }
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.addEventListener("open", () => resolve(ws));
    ws.addEventListener("error", () => reject(new BlazeError("unavailable", `could not open ${url}`)));
  });
}

/** The part of ws's WebSocket used here (ws implements the browser's event interface); no @types/ws needed. */
type WsConstructor = new (url: string) => SocketLike & { addEventListener(type: "open", cb: () => void): void };
