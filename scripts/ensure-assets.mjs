// Makes sure the static assets folder that wrangler.toml names exists, so
// `wrangler dev`, the tests and `wrangler deploy --dry-run` can start before
// the demo app is built. The demo build (later) writes into the same folder.
import { mkdirSync, existsSync, writeFileSync } from "node:fs";

const dir = new URL("../demo/dist/", import.meta.url);
mkdirSync(dir, { recursive: true });
const index = new URL("index.html", dir);
if (!existsSync(index)) {
  writeFileSync(
    index,
    `<!doctype html><meta charset="utf-8"><title>Blaze</title>
<h1>Blaze is running</h1><p>The HTTP API is under <code>/v1/</code>. See the README for a tour.</p>\n`,
  );
}
