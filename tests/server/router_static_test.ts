import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Application } from "../../server/application.ts";
import { serve, type ServerHandle } from "../../server/run_app.ts";

let dir = "";
const handles: ServerHandle[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-router-static-"));
  await mkdir(join(dir, "css"));
  await writeFile(join(dir, "css", "app.css"), "body{}");
  await writeFile(join(dir, "a b.txt"), "spaced");
});
after(async () => {
  for (const handle of handles) await handle.shutdown();
  await rm(dir, { recursive: true, force: true });
});

const quiet = { logger: { error() {}, info() {} } };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

describe("AppRouter.static", () => {
  test("serves files under the prefix, GET and HEAD only, named URLs", async () => {
    const app = new Application(quiet);
    const files = app.router.static("/static", dir, { name: "static", showIndex: true });
    const css = await app.fetch(at("/static/css/app.css"));
    assert.equal(css.status, 200);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(await css.text(), "body{}");
    assert.equal(await (await app.fetch(at("/static/a%20b.txt"))).text(), "spaced");
    const head = await app.fetch(at("/static/css/app.css", { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    const post = await app.fetch(at("/static/css/app.css", { method: "POST" }));
    assert.equal(post.status, 405);
    assert.equal((await app.fetch(at("/static/..%2f..%2fetc/passwd"))).status, 404);
    assert.equal(
      app.router.url("static", { params: { filename: "a b.txt" } }),
      "/static/a%20b.txt",
    );
    assert.equal(
      app.router.url("static", { params: { filename: "css/app.css" }, query: { v: 2 } }),
      "/static/css/app.css?v=2",
    );
    assert.match(
      await files.url("css/app.css", { appendVersion: true }),
      /^\/static\/css\/app\.css\?v=[\w-]{16}$/,
    );
    const listing = await app.fetch(at("/static/"));
    assert.equal(listing.status, 200);
    assert.match(await listing.text(), /a%20b\.txt/);
    assert.throws(() => app.router.static("/other", dir, { name: "static" }), TypeError);
  });

  test("inside a mounted sub-application, through a real server", async () => {
    const root = new Application(quiet);
    const assets = new Application(quiet);
    assets.router.static("/files", dir, { name: "files", showIndex: true });
    root.mount("/assets", assets);
    const handle = await serve(root, { port: 0, hostname: "127.0.0.1", logger: quiet.logger });
    handles.push(handle);
    const res = await fetch(new URL("/assets/files/css/app.css", handle.url));
    assert.equal(await res.text(), "body{}");
    assert.equal(
      assets.router.url("files", { params: { filename: "css/app.css" } }),
      "/assets/files/css/app.css",
    );
    // A directory URL without its slash redirects relative to where it is, so the mount prefix holds.
    const redirect = await fetch(new URL("/assets/files/css", handle.url), { redirect: "manual" });
    assert.equal(redirect.status, 301);
    await redirect.body?.cancel();
    const followed = await fetch(
      new URL(redirect.headers.get("location")!, new URL("/assets/files/css", handle.url)),
    );
    assert.equal(followed.url, new URL("/assets/files/css/", handle.url).href);
    assert.equal(followed.status, 200);
    assert.match(await followed.text(), /app\.css/);
  });
});
