/**
 * The HTTP API (Hono): CORS -> auth hook -> routes -> one error renderer.
 * Routes validate at the edge and call the shard client or the query engine.
 */
import { Hono } from "hono";
import { BlazeError } from "../core/errors";
import { adminOnly, authenticate } from "./auth";
import type { AppEnv } from "./context";
import { corsMiddleware } from "./cors";
import { errorResponse } from "./render-error";
import { adminRoutes } from "./routes/admin";
import { batchRoutes } from "./routes/batch";
import { docRoutes } from "./routes/docs";
import { listenRoutes } from "./routes/listen";
import { queryRoutes } from "./routes/query";
import { statusRoutes } from "./routes/status";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use("/v1/*", corsMiddleware);
  app.use("/v1/*", authenticate);
  app.use("/v1/status", adminOnly);
  app.use("/v1/status/*", adminOnly);
  app.use("/v1/admin/*", adminOnly);
  app.route("/v1/docs", docRoutes);
  app.route("/v1/batch", batchRoutes);
  app.route("/v1/listen", listenRoutes);
  app.route("/v1/query", queryRoutes);
  app.route("/v1/status", statusRoutes);
  app.route("/v1/admin", adminRoutes);
  app.all("/v1/*", (c) => errorResponse(new BlazeError("NOT_FOUND", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((e) => errorResponse(e));
  return app;
}
