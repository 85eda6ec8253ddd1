// SDK size: esbuild bundles (minified, ESM, browser) one small app that uses
// the core of the SDK (documents, queries, listeners, batches,
// transactions), gzips it (level 9) and reports the bytes, next to the same
// app written against @firebase/firestore when that package is installed
// (`npm i --no-save @firebase/app @firebase/firestore`; the `firebase`
// meta-package does not install here). Target (design.md): under 20 KB.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { ROOT } from "../lib/dev-server.mjs";

const TARGET_BYTES = 20 * 1024;

/** The app, the same for both SDKs but for the import and the initialisation. */
const app = (importFrom, init) => `
import { ${init.name}, collection, doc, getDoc, setDoc, updateDoc, deleteDoc, addDoc, getDocs, query, where, orderBy, limit,
  startAfter, onSnapshot, writeBatch, runTransaction, increment, serverTimestamp } from ${JSON.stringify(importFrom)};
${init.extraImport ?? ""}
const db = ${init.code};
const users = collection(db, "users");
await setDoc(doc(users, "alice"), { name: "Alice", age: 30, seen: serverTimestamp() });
await updateDoc(doc(users, "alice"), { age: increment(1) });
const ref = await addDoc(users, { name: "Bob" });
const first = await getDocs(query(users, where("age", ">=", 18), orderBy("age", "desc"), limit(10)));
await getDocs(query(users, orderBy("age", "desc"), startAfter(first.docs[first.docs.length - 1]), limit(10)));
console.log((await getDoc(ref)).data());
const stop = onSnapshot(query(users, where("age", ">=", 18)), (s) => s.docChanges().forEach((c) => console.log(c.type, c.doc.id)));
onSnapshot(doc(users, "alice"), (s) => console.log(s.data()));
const b = writeBatch(db);
b.set(doc(users, "carol"), { age: 41 });
b.delete(ref);
await b.commit();
await runTransaction(db, async (tx) => {
  const s = await tx.get(doc(users, "alice"));
  tx.update(doc(users, "alice"), { age: s.get("age") + 1 });
});
stop();
await deleteDoc(doc(users, "carol"));
`;

async function bundle(dir, name, source) {
  const entry = join(dir, `${name}.mjs`);
  writeFileSync(entry, source);
  const out = await build({ entryPoints: [entry], bundle: true, minify: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "silent", absWorkingDir: ROOT, nodePaths: [join(ROOT, "node_modules")] });
  const code = out.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), "blaze-sdk-size-"));
  try {
    const blaze = await bundle(dir, "blaze", app(join(ROOT, "sdk/index.ts"), { name: "initializeBlaze", code: 'initializeBlaze({ url: "https://blaze.example" })' }));
    let firebase = null;
    try {
      createRequire(join(ROOT, "package.json")).resolve("@firebase/firestore");
      firebase = await bundle(
        dir,
        "firebase",
        app("@firebase/firestore", { name: "getFirestore", extraImport: 'import { initializeApp } from "@firebase/app";', code: 'getFirestore(initializeApp({ projectId: "x" }))' }),
      );
    } catch (e) {
      if (e?.code !== "MODULE_NOT_FOUND") throw e;
    }
    console.log(`blaze sdk    ${kb(blaze.minified)} minified, ${kb(blaze.gzipped)} gzipped (target under ${kb(TARGET_BYTES)}: ${blaze.gzipped < TARGET_BYTES ? "met" : "MISSED"})`);
    if (firebase) {
      console.log(`firestore    ${kb(firebase.minified)} minified, ${kb(firebase.gzipped)} gzipped`);
      console.log(`ratio        ${(firebase.gzipped / blaze.gzipped).toFixed(1)}x smaller than Firebase's`);
    } else {
      console.log("firestore    not installed here (npm i --no-save @firebase/app @firebase/firestore to compare)");
    }
    return { results: { blaze, firebase, targetBytes: TARGET_BYTES } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
