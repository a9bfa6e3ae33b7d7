import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SluiceError } from "../../util/errors.ts";

class TimeoutError extends SluiceError {}

describe("SluiceError", () => {
  test("SluiceError carries code, message, name and cause", () => {
    const cause = new Error("root");
    const err = new SluiceError("SLUICE_ERR_EXAMPLE", "Cannot do it: reason", { cause });
    assert.ok(err instanceof Error);
    assert.ok(err instanceof SluiceError);
    assert.equal(err.code, "SLUICE_ERR_EXAMPLE");
    assert.equal(err.message, "Cannot do it: reason");
    assert.equal(err.name, "SluiceError");
    assert.equal(err.cause, cause);
  });

  test("SluiceError subclasses take their own name and keep the prototype check", () => {
    const err = new TimeoutError("SLUICE_ERR_TIMEOUT", "Cannot connect: timed out");
    assert.equal(err.name, "TimeoutError");
    assert.ok(err instanceof SluiceError);
    assert.ok(err instanceof TimeoutError);
    assert.ok(!(new SluiceError("SLUICE_ERR_X", "x") instanceof TimeoutError));
  });

  test("SluiceError instanceof rejects other values", () => {
    for (const value of [new Error("x"), null, undefined, "SluiceError", 1, {}]) {
      assert.ok(!(value instanceof SluiceError));
    }
  });

  describe("across two copies of the package", () => {
    let dir = "";
    let Copy: typeof SluiceError;

    before(async () => {
      // A second copy of the module, as when two versions of Sluice are installed.
      dir = mkdtempSync(join(tmpdir(), "sluice-copy-"));
      const source = fileURLToPath(new URL("../../util/errors.ts", import.meta.url));
      const target = join(dir, "errors.ts");
      copyFileSync(source, target);
      ({ SluiceError: Copy } = await import(pathToFileURL(target).href));
    });

    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    test("SluiceError instanceof recognises an error from the other copy", () => {
      assert.notEqual(Copy, SluiceError);
      assert.ok(new Copy("SLUICE_ERR_X", "x") instanceof SluiceError);
      assert.ok(new SluiceError("SLUICE_ERR_X", "x") instanceof Copy);
    });

    test("SluiceError subclasses do not match errors from the other copy", () => {
      assert.ok(!(new Copy("SLUICE_ERR_TIMEOUT", "x") instanceof TimeoutError));
    });
  });
});
