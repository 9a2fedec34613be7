import { test } from "node:test";
import assert from "node:assert/strict";
import { StatusModel } from "../../src/status";

test("starting, then the engine and index state the server reports", () => {
  const status = new StatusModel();
  assert.match(status.text, /loading~spin/);
  status.setPhase("running");
  assert.equal(status.text, "$(sparkle) wholerepo");
  // The shape `wholerepo serve` sends (lsp_server/lifecycle.py).
  status.updateServer({
    engine: { state: "ready", backend: "openai", model: "qwen", notes: [] },
    index: { state: "ready", files: 812, seconds: 1.5 },
  });
  assert.equal(status.text, "$(sparkle) wholerepo: openai qwen ready · ready 812 files");
  status.updateServer({ index: "stale", unknown: 3 });
  assert.equal(status.text, "$(sparkle) wholerepo: openai qwen ready · stale");
  assert.match(status.tooltip, /^server: running\nengine: openai qwen ready\nindex: stale$/);
});

test("the server's reason for an unavailable engine goes to the tooltip", () => {
  const status = new StatusModel();
  status.setPhase("running");
  status.updateServer({ engine: { state: "unavailable", backend: "local", message: "no local model" } });
  assert.equal(status.text, "$(sparkle) wholerepo: local unavailable");
  assert.match(status.tooltip, /\nno local model$/);
});

test("indexing progress shows while it runs, with its percentage, and goes away at the end", () => {
  const status = new StatusModel();
  status.setPhase("running");
  status.beginProgress("t1", "wholerepo: Indexing", "0/40 files", 0);
  assert.equal(status.text, "$(sync~spin) wholerepo: indexing 0%");
  status.reportProgress("t1", "30/40 files", 75);
  assert.equal(status.text, "$(sync~spin) wholerepo: indexing 75%");
  assert.match(status.tooltip, /Indexing: 30\/40 files/);
  status.reportProgress("unknown-token", "ignored", 1);
  status.endProgress("t1");
  assert.equal(status.text, "$(sparkle) wholerepo");
});

test("a failure says so and clears progress", () => {
  const status = new StatusModel();
  status.setPhase("running");
  status.beginProgress("t", "Indexing");
  status.setPhase("failed", "could not start wholerepo");
  assert.equal(status.text, "$(error) wholerepo: failed");
  assert.match(status.tooltip, /could not start wholerepo/);
  status.updateServer(null);
  status.updateServer("not an object");
  assert.equal(status.text, "$(error) wholerepo: failed");
});
