import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { type DemoServer, startDemoServer } from "../../examples/demo_server.ts";

/** Sends raw bytes and collects everything until the server closes (bounded by a timer). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 5 s; got ${JSON.stringify(out)}`));
    }, 5000);
    socket.on("data", (d: Uint8Array) => (out += new TextDecoder("latin1").decode(d)));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on("error", reject);
    socket.write(request);
  });
}

describe("examples/demo_server", () => {
  let server: DemoServer;
  before(async () => {
    server = await startDemoServer("127.0.0.1", 0);
  });
  after(async () => {
    await server.close();
  });

  test("startDemoServer() answers GET / and GET /json", async () => {
    const home = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(home.status, 200);
    assert.equal(await home.text(), "Hello from Sluice!\n");
    const json = await fetch(`http://127.0.0.1:${server.port}/json`);
    assert.deepEqual(await json.json(), { message: "Hello, World!" });
  });

  test("startDemoServer() echoes a POST body and answers 404 elsewhere", async () => {
    const echo = await fetch(`http://127.0.0.1:${server.port}/echo`, {
      method: "POST",
      body: "ping",
    });
    assert.equal(await echo.text(), "ping");
    const missing = await fetch(`http://127.0.0.1:${server.port}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  test("startDemoServer() answers pipelined requests in order, then closes on Connection: close", async () => {
    const reply = await raw(
      server.port,
      "GET /json HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    const first = reply.indexOf('{"message"');
    const second = reply.indexOf("Hello from Sluice!");
    assert.ok(first > 0 && second > first, reply);
    assert.match(reply, /connection: close/);
  });

  test("startDemoServer() answers a smuggling attempt with 400 and closes", async () => {
    const reply = await raw(
      server.port,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(reply.match(/HTTP\/1\.1/g)?.length, 1);
  });

  test("startDemoServer() refuses an echo body over 1 MiB with 413", async () => {
    const big = new Uint8Array(1024 * 1024 + 1);
    const res = await fetch(`http://127.0.0.1:${server.port}/echo`, { method: "POST", body: big });
    assert.equal(res.status, 413);
    await res.body?.cancel();
  });

  test("startDemoServer() streams /stream in chunks", async () => {
    const reply = await raw(
      server.port,
      "GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert.match(reply, /transfer-encoding: chunked/);
    for (let n = 1; n <= 5; n++) assert.ok(reply.includes(`line ${n}\n`), reply);
    assert.ok(reply.endsWith("0\r\n\r\n"), reply);
  });

  test("startDemoServer() serves the class-based view and the mounted sub-application", async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const user = await fetch(`${base}/users/a%20b`);
    assert.deepEqual(await user.json(), { id: "a b" });
    assert.match(user.headers.get("server-timing") ?? "", /^total;dur=/);
    const put = await fetch(`${base}/users/7`, { method: "PUT", body: '{"name":"Ada"}' });
    assert.deepEqual(await put.json(), { id: "7", saved: { name: "Ada" } });
    const del = await fetch(`${base}/users/7`, { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get("allow"), "GET, HEAD, OPTIONS, PUT");
    await del.body?.cancel();
    const time = await fetch(`${base}/api/time`);
    assert.ok(!Number.isNaN(Date.parse(((await time.json()) as { now: string }).now)));
    assert.match(time.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });
});
