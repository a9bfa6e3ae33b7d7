import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Application } from "../../server/application.ts";
import { serve, type ServerHandle } from "../../server/run_app.ts";
import { StaticFiles, type StaticFilesOptions } from "../../server/static_files.ts";
import { isWindowsAlias } from "../../server/_static_index.ts";
import { portOf, RawClient, type RawResponse } from "./_client.ts";

const SECRET = "TOP SECRET outside the root";
const HELLO = "Hello, static";
const DATA = "0123456789abcdefghij".repeat(5);
const SCRIPT_NAME = "<script>alert(1)<script>.txt";
const QUOTE_NAME = `a&b "q" 'x'.txt`;

let parent = "";
let root = "";
let rootLink = "";
const handles: ServerHandle[] = [];
/** The server on the raw engine (strict reference), and the runtime's default one. */
let raw: ServerHandle;
let native: ServerHandle;
const files = new Map<string, StaticFiles>();

const MOUNTS: Record<string, StaticFilesOptions> = {
  "/static": {},
  "/listed": { showIndex: true },
  "/indexed": { index: "index.html" },
  "/follow": { followSymlinks: true, showIndex: true },
  "/within": { followSymlinks: "within" },
  "/dots": { dotFiles: true, showIndex: true },
  "/open": { followSymlinks: true, dotFiles: true },
  "/pre": { precompressed: true, headers: { "cache-control": "max-age=60" } },
};

/** The app under test: one StaticFiles per entry of MOUNTS (kept in `files`), on `root`. */
function makeApp(): Application {
  const app = new Application({ logger: { error() {}, info() {} } });
  for (const [prefix, options] of Object.entries(MOUNTS)) {
    const served = new StaticFiles(prefix, root, options);
    if (!files.has(prefix)) files.set(prefix, served);
    app.router.get(prefix + "/*", (req) => served.handler(req));
  }
  const viaLink = new StaticFiles("/vialink", rootLink);
  app.router.get("/vialink/*", (req) => viaLink.handler(req));
  const missing = new StaticFiles("/missing", join(parent, "no-such-dir"), { showIndex: true });
  app.router.get("/missing/*", (req) => missing.handler(req));
  return app;
}

before(async () => {
  parent = await mkdtemp(join(tmpdir(), "sluice-static-"));
  root = join(parent, "root");
  await mkdir(join(root, "sub", "deeper"), { recursive: true });
  await mkdir(join(root, "withindex"));
  await mkdir(join(root, ".hidden"));
  await mkdir(join(parent, "outside"));
  await writeFile(join(parent, "outside", "secret.txt"), SECRET);
  await writeFile(join(parent, "secret.txt"), SECRET);
  await writeFile(join(root, "hello.txt"), HELLO);
  await writeFile(join(root, "data.txt"), DATA);
  await writeFile(join(root, "app.css"), "body{}");
  await writeFile(join(root, "sub", "inner.txt"), "inner");
  await writeFile(join(root, "withindex", "index.html"), "<p>index</p>");
  await writeFile(join(root, ".secret"), "dot secret");
  await writeFile(join(root, ".hidden", "x.txt"), "hidden x");
  await writeFile(join(root, SCRIPT_NAME), "script file");
  await writeFile(join(root, QUOTE_NAME), "quote file");
  await writeFile(join(root, "with space.txt"), "spaced");
  await writeFile(join(root, "café.txt"), "accented");
  await writeFile(join(root, "100%.txt"), "percent");
  // Legal names on POSIX that are never served (nor listed): a backslash, a control character.
  await writeFile(join(root, "back\\slash.txt"), "backslash");
  await writeFile(join(root, "tab\there.txt"), "tab");
  await writeFile(join(root, "page.html"), "<p>plain page</p>");
  await writeFile(join(root, "page.html.gz"), gzipSync("<p>plain page</p>"));
  await writeFile(join(root, "page2.html"), "<p>page two</p>");
  await symlink(join(parent, "outside", "secret.txt"), join(root, "page2.html.gz"));
  await symlink(join(parent, "outside", "secret.txt"), join(root, "link-out"));
  await symlink("hello.txt", join(root, "link-in"));
  await symlink(join(parent, "outside"), join(root, "dirlink-out"));
  await symlink("sub", join(root, "dirlink-in"));
  rootLink = join(parent, "root-link");
  await symlink(root, rootLink);

  raw = await serve(makeApp(), { port: 0, hostname: "127.0.0.1", engine: "sluice" });
  handles.push(raw);
  native = await serve(makeApp(), { port: 0, hostname: "127.0.0.1" });
  handles.push(native);
});
after(async () => {
  for (const handle of handles) await handle.shutdown();
  if (parent !== "") await rm(parent, { recursive: true, force: true });
});

/** Sends `target` as it is (no normalisation) and reads the answer. */
async function rawGet(
  server: ServerHandle,
  target: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<RawResponse> {
  const client = await RawClient.open(portOf(server.addresses[0]));
  try {
    const fields = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    client.send(`${method} ${target} HTTP/1.1\r\nHost: x\r\n${fields}Connection: close\r\n\r\n`);
    return await client.response({ head: method === "HEAD" });
  } finally {
    client.close();
  }
}

function get(path: string, init?: RequestInit): Promise<Response> {
  return fetch(raw.url + path, { redirect: "manual", ...init });
}

async function body(path: string, init?: RequestInit): Promise<[number, string]> {
  const res = await get(path, init);
  return [res.status, await res.text()];
}

describe("StaticFiles", () => {
  test("StaticFiles.handler() serves a file with type, length, validators and HEAD", async () => {
    const res = await get("/static/hello.txt");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("content-length"), String(HELLO.length));
    assert.ok(res.headers.get("etag"));
    assert.ok(res.headers.get("last-modified"));
    assert.equal(await res.text(), HELLO);
    const head = await rawGet(raw, "/static/hello.txt", {}, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(HELLO.length));
    assert.deepEqual(await body("/static/app.css"), [200, "body{}"]);
    assert.deepEqual(await body("/static/sub/inner.txt"), [200, "inner"]);
  });

  test("StaticFiles.handler() decodes names once: spaces, UTF-8, a literal %", async () => {
    assert.deepEqual(await body("/static/with%20space.txt"), [200, "spaced"]);
    assert.deepEqual(await body("/static/caf%C3%A9.txt"), [200, "accented"]);
    assert.deepEqual(await body("/static/100%25.txt"), [200, "percent"]);
    assert.equal((await get("/static/100%2525.txt")).status, 404);
  });

  test("StaticFiles.handler() answers ranges, multi-ranges, 304 and 412 through fileResponse", async () => {
    const range = await get("/static/data.txt", { headers: { range: "bytes=10-14" } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get("content-range"), "bytes 10-14/100");
    assert.equal(await range.text(), "abcde");
    const multi = await get("/static/data.txt", { headers: { range: "bytes=0-1,98-99" } });
    assert.equal(multi.status, 206);
    assert.match(multi.headers.get("content-type") ?? "", /^multipart\/byteranges; boundary=/);
    const text = await multi.text();
    assert.match(text, /content-range: bytes 0-1\/100\r\n\r\n01\r\n/);
    assert.match(text, /content-range: bytes 98-99\/100\r\n\r\nij\r\n/);
    const etag = (await get("/static/data.txt")).headers.get("etag")!;
    const cached = await get("/static/data.txt", { headers: { "if-none-match": etag } });
    assert.equal(cached.status, 304);
    const tooFar = await get("/static/data.txt", { headers: { range: "bytes=500-" } });
    assert.equal(tooFar.status, 416);
    const failed = await get("/static/data.txt", { headers: { "if-match": '"nope"' } });
    assert.equal(failed.status, 412);
  });

  test("StaticFiles.handler() serves precompressed siblings and passes headers through", async () => {
    const gz = await rawGet(raw, "/pre/page.html", { "accept-encoding": "gzip" });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.equal(gz.headers.get("vary"), "Accept-Encoding");
    assert.equal(gz.headers.get("cache-control"), "max-age=60");
    assert.deepEqual(gz.body, new Uint8Array(gzipSync("<p>plain page</p>")));
    const linked = await rawGet(raw, "/pre/page2.html", { "accept-encoding": "gzip" });
    assert.equal(
      linked.headers.get("content-encoding"),
      undefined,
      "a symlinked sibling is not used",
    );
    assert.equal(linked.text, "<p>page two</p>");
    const plain = await rawGet(raw, "/pre/page.html");
    assert.equal(plain.headers.get("content-encoding"), undefined);
    assert.equal(plain.text, "<p>plain page</p>");
  });

  test("StaticFiles.handler() answers 404 for missing files and file names with a slash", async () => {
    assert.equal((await body("/static/nope.txt"))[0], 404);
    assert.equal((await body("/static/hello.txt/"))[0], 404);
    assert.equal((await body("/static/hello.txt/x"))[0], 404);
    assert.equal((await body("/missing/x.txt"))[0], 404);
    assert.equal((await body("/missing/"))[0], 404);
  });

  test("StaticFiles.handler() answers 403 for directories without showIndex or index", async () => {
    assert.equal((await body("/static/"))[0], 403);
    assert.equal((await body("/static/sub"))[0], 403);
    assert.equal((await body("/static/sub/"))[0], 403);
    assert.equal((await body("/indexed/sub/"))[0], 403);
  });

  test("StaticFiles index option serves index.html and redirects to the slash form", async () => {
    assert.deepEqual(await body("/indexed/withindex/"), [200, "<p>index</p>"]);
    const redirect = await get("/indexed/withindex?a=1");
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get("location"), "./withindex/?a=1");
    await redirect.body?.cancel();
    assert.equal((await get("/static/withindex/")).status, 403);
  });

  test("StaticFiles showIndex lists directories first with escaped names and encoded hrefs", async () => {
    const res = await get("/listed/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    const page = await res.text();
    assert.doesNotMatch(page, /<script>/);
    assert.match(page, /<title>Index of \/listed\/<\/title>/);
    assert.match(
      page,
      /<a href="\.\/%3Cscript%3Ealert\(1\)%3Cscript%3E\.txt">&lt;script&gt;alert\(1\)&lt;script&gt;\.txt<\/a>/,
    );
    assert.match(
      page,
      /&gt;a&amp;b &quot;q&quot; &#39;x&#39;\.txt<\/a>|>a&amp;b &quot;q&quot; &#39;x&#39;\.txt</,
    );
    assert.match(page, /href="\.\/a&amp;b%20%22q%22%20&#39;x&#39;\.txt"/);
    assert.match(page, /href="\.\/caf%C3%A9\.txt">café\.txt</);
    assert.match(page, /href="\.\/100%25\.txt"/);
    assert.doesNotMatch(
      page,
      /secret|hidden|link-|\.\.\//,
      "no dot-files, symlinks or parent link",
    );
    const names = [...page.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => m[2]);
    const dirs = names.filter((n) => n.endsWith("/"));
    assert.deepEqual(dirs, ["sub/", "withindex/"]);
    assert.deepEqual(names.slice(0, 2), dirs, "directories come first");
    const subPage = await (await get("/listed/sub/")).text();
    assert.match(subPage, /<a href="\.\.\/">\.\.\/<\/a>/);
    assert.match(subPage, /<a href="\.\/deeper\/">deeper\/<\/a>/);
  });

  test("StaticFiles showIndex links resolve to the files they name", async () => {
    const page = await (await get("/listed/")).text();
    const unescape = (s: string) =>
      s.replaceAll("&#39;", "'").replaceAll("&quot;", '"').replaceAll("&lt;", "<")
        .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
    const links = [...page.matchAll(/<a href="\.\/([^"]*)">/g)].map((m) => unescape(m[1]));
    assert.ok(links.length >= 8);
    for (const link of links.filter((l) => !l.endsWith("/"))) {
      const res = await get(`/listed/${link}`);
      assert.equal(res.status, 200, link);
      await res.body?.cancel();
    }
    const scripted = await body(`/listed/${links.find((l) => l.includes("script"))}`);
    assert.deepEqual(scripted, [200, "script file"]);
    const head = await rawGet(raw, "/listed/", {}, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get("content-length")), new TextEncoder().encode(page).length);
  });

  test("StaticFiles showIndex redirects a directory URL without its slash", async () => {
    const res = await get("/listed/sub");
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), "./sub/");
    await res.body?.cancel();
    const spaced = await rawGet(raw, "/listed/sub/deeper");
    assert.equal(spaced.headers.get("location"), "./deeper/");
  });

  test("StaticFiles hides dot-files by default and serves them with dotFiles", async () => {
    assert.equal((await body("/static/.secret"))[0], 404);
    assert.equal((await body("/static/.hidden/x.txt"))[0], 404);
    assert.equal((await rawGet(raw, "/static/%2esecret")).status, 404);
    assert.deepEqual(await body("/dots/.secret"), [200, "dot secret"]);
    assert.deepEqual(await body("/dots/.hidden/x.txt"), [200, "hidden x"]);
    assert.match(await (await get("/dots/")).text(), /href="\.\/\.secret"/);
    assert.equal((await rawGet(raw, "/dots/../secret.txt")).status, 404);
    assert.equal((await rawGet(raw, "/dots/%2e%2e/secret.txt")).status, 404);
  });

  test("StaticFiles refuses symbolic links by default, even ones inside the root", async () => {
    assert.equal((await body("/static/link-out"))[0], 404);
    assert.equal((await body("/static/link-in"))[0], 404);
    assert.equal((await body("/static/dirlink-in/inner.txt"))[0], 404);
    assert.equal((await body("/static/dirlink-out/secret.txt"))[0], 404);
    assert.deepEqual(await body("/vialink/hello.txt"), [200, HELLO], "a linked root is fine");
  });

  test('StaticFiles followSymlinks "within" follows links that stay inside the root', async () => {
    assert.deepEqual(await body("/within/link-in"), [200, HELLO]);
    assert.deepEqual(await body("/within/dirlink-in/inner.txt"), [200, "inner"]);
    assert.equal((await body("/within/link-out"))[0], 404);
    assert.equal((await body("/within/dirlink-out/secret.txt"))[0], 404);
  });

  test("StaticFiles followSymlinks true follows every link (aiohttp's follow_symlinks)", async () => {
    assert.deepEqual(await body("/follow/link-in"), [200, HELLO]);
    assert.deepEqual(await body("/follow/link-out"), [200, SECRET]);
    const page = await (await get("/follow/")).text();
    assert.match(page, /href="\.\/dirlink-in\/">dirlink-in\/</);
    assert.match(page, /href="\.\/link-in">link-in</);
    assert.equal((await rawGet(raw, "/follow/../secret.txt")).status, 404, "no traversal");
  });
});

/** Request-targets that try to leave the root, and the raw engine's answer. */
const TRAVERSALS: [target: string, status: number][] = [
  ["/static/../secret.txt", 404],
  ["/static/../outside/secret.txt", 404],
  ["/static/sub/../../secret.txt", 404],
  ["/static/%2e%2e/secret.txt", 404],
  ["/static/%2E%2e/outside/secret.txt", 404],
  ["/static/.%2e/secret.txt", 404],
  ["/static/..%2fsecret.txt", 404],
  ["/static/..%2Foutside%2Fsecret.txt", 404],
  ["/static/..%5csecret.txt", 404],
  ["/static/..%5Coutside%5Csecret.txt", 404],
  ["/static/sub%2f..%2f..%2fsecret.txt", 404],
  ["/static/sub%2finner.txt", 404],
  ["/static/back%5cslash.txt", 404],
  ["/static/tab%09here.txt", 404],
  ["/static/hello.txt%00.css", 404],
  ["/static/%00", 404],
  ["/static/sub/%0a", 404],
  ["/static//etc/passwd", 404],
  ["/static///secret.txt", 404],
  ["/static/%2fetc%2fpasswd", 404],
  ["/static/C:%5cWindows%5cwin.ini", 404],
  ["/static/./hello.txt", 404],
  ["/static/%2e/hello.txt", 404],
  ["/static/%c0%ae%c0%ae/secret.txt", 400],
  ["/static/%c0%af", 400],
  ["/static/%e0%80%ae%e0%80%ae/secret.txt", 400],
  ["/static/%zz", 400],
  ["/static/%", 400],
  ["/static/%2", 400],
  ["/static/%ff", 400],
];

describe("StaticFiles traversal", () => {
  test("StaticFiles never serves outside its root on the raw engine (exact statuses)", async () => {
    // "/open" follows every symlink and serves dot-files: only the path checks stand in the way.
    for (const prefix of ["/static", "/open"]) {
      for (const [target, status] of TRAVERSALS) {
        const path = prefix + target.slice("/static".length);
        const res = await rawGet(raw, path);
        assert.doesNotMatch(res.text, /SECRET|root:/, path);
        assert.equal(res.status, status, path);
      }
    }
  });

  test("StaticFiles never serves outside its root on the runtime's default server", async () => {
    for (const prefix of ["/static", "/open"]) {
      for (const [target] of TRAVERSALS) {
        const path = prefix + target.slice("/static".length);
        const res = await rawGet(native, path);
        assert.doesNotMatch(res.text, /SECRET|root:/, path);
        // A native server may normalise the target first (Bun turns "/static/./a" into "/static/a").
        assert.ok(res.status < 500, `${path}: ${res.status}`);
        if (res.status === 200) assert.doesNotMatch(res.text, /backslash|^tab$/, path);
      }
    }
  });

  test("StaticFiles refuses a raw backslash in the path", async () => {
    for (const server of [raw, native]) {
      for (const target of ["/static/..\\secret.txt", "/open/..\\secret.txt"]) {
        const res = await rawGet(server, target);
        assert.doesNotMatch(res.text, /SECRET/);
        assert.ok(res.status === 400 || res.status === 404, `${target}: ${res.status}`);
      }
    }
  });

  test("StaticFiles.serve() applies the same checks to a path given directly", async () => {
    const req = (pathname: string) => ({
      method: "GET",
      pathname,
      search: "",
      header: () => null,
    });
    for (const prefix of ["/static", "/open"]) {
      for (const [target, status] of TRAVERSALS) {
        const rest = target.slice("/static/".length);
        await assert.rejects(files.get(prefix)!.serve(req(target), rest), { status }, target);
      }
    }
    const served = files.get("/static")!;
    await assert.rejects(served.serve(req("/x"), "..\\secret.txt"), { status: 404 });
    await assert.rejects(served.serve(req("/x"), "back\\slash.txt"), { status: 404 });
    await assert.rejects(served.handler(req("/other/hello.txt")), { status: 404 });
    await assert.rejects(served.handler(req("/static")), { status: 404 });
    const ok = await served.serve(req("/x"), "hello.txt");
    assert.equal(await ok.text(), HELLO);
  });
});

describe("isWindowsAlias()", () => {
  test("isWindowsAlias() flags names Windows reads as another (refused there before any check)", () => {
    // Each would defeat the dot-file or symlink check on Windows: `.env.` opens `.env`,
    // `HTACCE~1` opens `.htaccess`, `a.txt::$DATA` the file's stream, `NUL.txt` a device.
    for (
      const alias of [
        ".env.",
        "secret.txt ",
        "secret.txt. . ",
        "HTACCE~1",
        "PROGRA~12",
        "a.txt::$DATA",
        "C:",
        "NUL",
        "nul.txt",
        "Com1",
        "lpt9.log",
        "CON .txt",
        "conin$",
      ]
    ) assert.equal(isWindowsAlias(alias), true, alias);
    for (
      const plain of ["hello.txt", ".env", "console.log", "nullable.js", "com10", "a~b", "x.y"]
    ) {
      assert.equal(isWindowsAlias(plain), false, plain);
    }
  });
});

describe("StaticFiles.url()", () => {
  test("StaticFiles.url() encodes each segment under the prefix", () => {
    const served = files.get("/static")!;
    assert.equal(served.url("hello.txt"), "/static/hello.txt");
    assert.equal(served.url("/sub/inner.txt"), "/static/sub/inner.txt");
    assert.equal(served.url("with space.txt"), "/static/with%20space.txt");
    assert.equal(served.url("café.txt"), "/static/caf%C3%A9.txt");
    assert.equal(served.url(SCRIPT_NAME), "/static/%3Cscript%3Ealert(1)%3Cscript%3E.txt");
    assert.equal(served.url("100%.txt?x#y"), "/static/100%25.txt%3Fx%23y");
    assert.equal(new StaticFiles("/", root).url("a b"), "/a%20b");
    for (const bad of ["../secret.txt", "sub/../../x", "./a", "a//b"]) {
      assert.throws(() => served.url(bad), TypeError, bad);
    }
  });

  test("StaticFiles.url() round-trips through the server", async () => {
    const served = files.get("/static")!;
    for (const name of ["with space.txt", "café.txt", "100%.txt", SCRIPT_NAME, QUOTE_NAME]) {
      const res = await get(served.url(name) as string);
      assert.equal(res.status, 200, name);
      await res.body?.cancel();
    }
  });

  test("StaticFiles.url() appends a content hash that changes with the file", async () => {
    const served = files.get("/static")!;
    const path = join(root, "versioned.js");
    await writeFile(path, "console.log(1)");
    const first = await served.url("versioned.js", { appendVersion: true });
    const match = /^\/static\/versioned\.js\?v=([A-Za-z0-9_-]{16})$/.exec(first);
    assert.ok(match, first);
    assert.equal(await served.url("versioned.js", { appendVersion: true }), first, "stable");
    assert.deepEqual(await body(first), [200, "console.log(1)"]);
    await writeFile(path, "console.log(2)");
    const later = new Date(Date.now() + 5_000);
    await utimes(path, later, later);
    const second = await served.url("versioned.js", { appendVersion: true });
    assert.notEqual(second, first);
    assert.match(second, /^\/static\/versioned\.js\?v=[A-Za-z0-9_-]{16}$/);
    assert.equal(
      await served.url("versioned.js", { appendVersion: false }),
      "/static/versioned.js",
    );
  });

  test("StaticFiles.url() gives no version to what would not be served", async () => {
    const served = files.get("/static")!;
    assert.equal(await served.url("nope.js", { appendVersion: true }), "/static/nope.js");
    assert.equal(await served.url(".secret", { appendVersion: true }), "/static/.secret");
    assert.equal(await served.url("link-in", { appendVersion: true }), "/static/link-in");
    assert.equal(await served.url("sub", { appendVersion: true }), "/static/sub");
    assert.match(await files.get("/dots")!.url(".secret", { appendVersion: true }), /\?v=/);
    const byDefault = new StaticFiles("/s", root, { appendVersion: true });
    assert.match(await byDefault.url("hello.txt"), /^\/s\/hello\.txt\?v=[\w-]{16}$/);
  });
});

describe("new StaticFiles()", () => {
  test("new StaticFiles() refuses prefixes that are not literal paths and bad options", () => {
    for (
      const prefix of ["static", "/st:atic", "/a/../b", "/a/./b", "/files/*", "/a b", "/a%20b", ""]
    ) {
      assert.throws(() => new StaticFiles(prefix, root), TypeError, prefix);
    }
    assert.equal(new StaticFiles("/static/", root).prefix, "/static");
    assert.equal(new StaticFiles("/", root).prefix, "");
    assert.throws(() => new StaticFiles("/s", ""), TypeError);
    assert.throws(() => new StaticFiles("/s", root, { index: "a/b.html" }), TypeError);
    assert.throws(
      () => new StaticFiles("/s", root, { followSymlinks: "yes" as unknown as boolean }),
      TypeError,
    );
  });
});
