import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  LifecycleError,
  runCleanup,
  runShutdown,
  runStartup,
  toIncomingHandler,
} from "../../server/lifecycle.ts";
import type { IncomingRequest, ServeInfo, ServerApp } from "../../server/types.ts";
import { SluiceError } from "../../util/errors.ts";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

/** An app whose every hook and context records its name in `log`. */
function recordingApp(log: string[]) {
  const hook = (name: string) => {
    const fn = async (app: unknown) => {
      await tick();
      assert.equal(app, result);
      log.push(name);
    };
    Object.defineProperty(fn, "name", { value: name });
    return fn;
  };
  const context = (name: string) =>
    async function* (app: unknown) {
      assert.equal(app, result);
      await tick();
      log.push(`${name}:enter`);
      yield;
      await tick();
      log.push(`${name}:exit`);
    };
  const result = {
    fetch: () => new Response("ok"),
    onStartup: [hook("startup1"), hook("startup2")],
    cleanupCtx: [context("ctx1"), context("ctx2"), context("ctx3")],
    onShutdown: [hook("shutdown1"), hook("shutdown2")],
    onCleanup: [hook("cleanup1"), hook("cleanup2")],
  };
  return result;
}

function boom(message: string) {
  return function failing(): never {
    throw new Error(message);
  };
}

describe("server/lifecycle signals", () => {
  test("runStartup/runShutdown/runCleanup run hooks in aiohttp's order, contexts torn down in reverse", async () => {
    const log: string[] = [];
    const app = recordingApp(log);
    await runStartup(app);
    assert.deepEqual(log, ["startup1", "startup2", "ctx1:enter", "ctx2:enter", "ctx3:enter"]);
    log.length = 0;
    await runShutdown(app);
    assert.deepEqual(log, ["shutdown1", "shutdown2"]);
    log.length = 0;
    await runCleanup(app);
    assert.deepEqual(log, ["ctx3:exit", "ctx2:exit", "ctx1:exit", "cleanup1", "cleanup2"]);
  });

  test("runStartup() and friends accept an app with no signal lists at all", async () => {
    const app: ServerApp = { fetch: () => new Response("ok") };
    await runStartup(app);
    await runShutdown(app);
    await runCleanup(app);
  });

  test("runStartup() refuses to start an app twice, and allows it again after runCleanup()", async () => {
    const log: string[] = [];
    const app = recordingApp(log);
    await runStartup(app);
    await assert.rejects(runStartup(app), TypeError);
    await runCleanup(app);
    log.length = 0;
    await runStartup(app);
    assert.deepEqual(log, ["startup1", "startup2", "ctx1:enter", "ctx2:enter", "ctx3:enter"]);
    await runCleanup(app);
  });

  test("runStartup() with a failing onStartup hook: LifecycleError naming it, later hooks and contexts never run, onCleanup not run", async () => {
    const log: string[] = [];
    const app = recordingApp(log);
    const cause = new Error("database is down");
    const failing = () => {
      throw cause;
    };
    Object.defineProperty(failing, "name", { value: "openDatabase" });
    app.onStartup.splice(1, 0, failing as never);
    const error = await runStartup(app).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof LifecycleError);
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, "SLUICE_ERR_STARTUP");
    assert.equal(error.hook, "onStartup[1] (openDatabase)");
    assert.equal(error.cause, cause);
    assert.deepEqual(error.errors, [cause]);
    assert.equal(
      error.message,
      "Cannot start the application: onStartup[1] (openDatabase): database is down",
    );
    assert.deepEqual(log, ["startup1"]);
    // Nothing is left entered: runCleanup() afterwards (which runners skip after a failed
    // startup) only runs the onCleanup hooks.
    await runCleanup(app);
    assert.deepEqual(log, ["startup1", "cleanup1", "cleanup2"]);
  });

  test("runStartup() with a failing cleanup context: the ones entered are torn down in reverse, then it rejects", async () => {
    const log: string[] = [];
    const app = recordingApp(log);
    app.cleanupCtx.splice(
      2,
      0,
      // deno-lint-ignore require-yield
      async function* broken() {
        log.push("broken:enter");
        await tick();
        throw new Error("no socket");
      },
    );
    await assert.rejects(runStartup(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_STARTUP");
      assert.equal(error.hook, "cleanupCtx[2] (broken)");
      assert.match(error.message, /no socket/);
      return true;
    });
    assert.deepEqual(log, [
      "startup1",
      "startup2",
      "ctx1:enter",
      "ctx2:enter",
      "broken:enter",
      "ctx2:exit",
      "ctx1:exit",
    ]);
  });

  test("runStartup() reports teardown errors of a failed startup after the startup error", async () => {
    const teardown = new Error("teardown failed");
    const startup = new Error("second context failed");
    const app: ServerApp = {
      cleanupCtx: [
        async function* first() {
          yield;
          throw teardown;
        },
        // deno-lint-ignore require-yield
        async function* second() {
          await tick();
          throw startup;
        },
      ],
    };
    await assert.rejects(runStartup(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_STARTUP");
      assert.equal(error.hook, "cleanupCtx[1] (second)");
      assert.deepEqual(error.errors, [startup, teardown]);
      assert.match(error.message, /\(2 failures\)/);
      return true;
    });
  });

  test("runStartup() refuses a cleanup context that ends without yielding", async () => {
    const app: ServerApp = {
      // deno-lint-ignore require-yield
      cleanupCtx: [async function* noYield() {
        await tick();
      }],
    };
    await assert.rejects(runStartup(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_STARTUP");
      assert.match(error.message, /cleanupCtx\[0\] \(noYield\) ended without a 'yield'/);
      return true;
    });
  });

  test("runCleanup() reports a context that yields twice, still closes it and tears the others down", async () => {
    const log: string[] = [];
    const app: ServerApp = {
      cleanupCtx: [
        async function* one() {
          yield;
          log.push("one:exit");
        },
        async function* twice() {
          try {
            yield;
            log.push("twice:after first");
            yield;
            log.push("twice:after second (never)");
          } finally {
            log.push("twice:finally");
          }
        },
      ],
      onCleanup: [() => void log.push("cleanup")],
    };
    await runStartup(app);
    await assert.rejects(runCleanup(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_CLEANUP");
      assert.equal(error.hook, "cleanupCtx[1] (twice)");
      assert.match(error.message, /cleanupCtx\[1\] \(twice\) has more than one 'yield'/);
      return true;
    });
    assert.deepEqual(log, ["twice:after first", "twice:finally", "one:exit", "cleanup"]);
  });

  test("runCleanup() runs everything even when several parts fail, then reports every error", async () => {
    const log: string[] = [];
    const first = new Error("ctx teardown");
    const app: ServerApp = {
      cleanupCtx: [
        async function* a() {
          yield;
          log.push("a:exit");
        },
        async function* b() {
          yield;
          throw first;
        },
      ],
      onCleanup: [boom("hook one"), () => void log.push("cleanup2"), boom("hook three")],
    };
    await runStartup(app);
    await assert.rejects(runCleanup(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_CLEANUP");
      assert.equal(error.errors.length, 3);
      assert.equal(error.errors[0], first);
      assert.equal(error.cause, first);
      assert.match(error.message, /^Cannot clean the application up \(3 failures\): /);
      assert.match(error.message, /onCleanup\[0\] \(failing\): hook one/);
      assert.match(error.message, /onCleanup\[2\] \(failing\): hook three/);
      return true;
    });
    assert.deepEqual(log, ["a:exit", "cleanup2"]);
    // The contexts were resumed once; a second cleanup runs the onCleanup hooks only.
    log.length = 0;
    await assert.rejects(runCleanup(app), LifecycleError);
    assert.deepEqual(log, ["cleanup2"]);
  });

  test("runShutdown() runs every onShutdown hook even after one fails, then reports", async () => {
    const log: string[] = [];
    const app: ServerApp = {
      onShutdown: [boom("first"), async () => {
        await tick();
        log.push("second");
      }],
    };
    await assert.rejects(runShutdown(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_SHUTDOWN");
      assert.equal(error.hook, "onShutdown[0] (failing)");
      assert.equal(
        error.message,
        "Cannot shut the application down: onShutdown[0] (failing): first",
      );
      return true;
    });
    assert.deepEqual(log, ["second"]);
  });

  test("runStartup() names an anonymous hook by its index alone and wraps a thrown non-Error", async () => {
    const app: ServerApp = {
      onStartup: [
        (() => () => {
          throw "plain string";
        })(),
      ],
    };
    await assert.rejects(runStartup(app), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.hook, "onStartup[0]");
      assert.equal(error.cause, "plain string");
      assert.equal(error.message, "Cannot start the application: onStartup[0]: plain string");
      return true;
    });
  });
});

describe("server/lifecycle toIncomingHandler()", () => {
  const info = { engine: "sluice" } as ServeInfo;
  const platformRequest = new Request("http://localhost/x");
  const request = { request: platformRequest, pathname: "/x" } as IncomingRequest;

  test("toIncomingHandler() treats a plain function as a fetch handler (platform Request in)", async () => {
    const seen: unknown[] = [];
    const handler = toIncomingHandler((req, i) => {
      seen.push(req, i);
      return new Response("fn");
    });
    const response = await handler(request, info);
    assert.equal(await response.text(), "fn");
    assert.equal(seen[0], platformRequest);
    assert.equal(seen[1], info);
  });

  test("toIncomingHandler() prefers handleIncoming over fetch and calls it as a method", async () => {
    const app = {
      name: "app",
      handleIncoming(this: { name: string }, req: IncomingRequest, i: ServeInfo) {
        assert.equal(req, request);
        assert.equal(i, info);
        return new Response(`incoming ${this.name}`);
      },
      fetch: () => new Response("fetch"),
    };
    const response = await toIncomingHandler(app as ServerApp)(request, info);
    assert.equal(await response.text(), "incoming app");
  });

  test("toIncomingHandler() falls back to fetch, called as a method with the platform Request", async () => {
    const app = {
      name: "edge",
      fetch(this: { name: string }, req: Request, i: ServeInfo) {
        assert.equal(req, platformRequest);
        assert.equal(i, info);
        return new Response(`fetch ${this.name}`);
      },
    };
    const response = await toIncomingHandler(app as ServerApp)(request, info);
    assert.equal(await response.text(), "fetch edge");
  });

  test("toIncomingHandler() refuses what has neither handler with a TypeError", () => {
    for (const bad of [{}, null, undefined, 42, "app", { fetch: "no" }]) {
      assert.throws(
        () => toIncomingHandler(bad as never),
        (error: unknown) =>
          error instanceof TypeError && /^Cannot serve the application: /.test(error.message),
      );
    }
  });
});
