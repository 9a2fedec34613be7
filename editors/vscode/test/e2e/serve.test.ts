/**
 * End to end: the real `wholerepo serve` on a fixture workspace, driven from Node through
 * vscode-languageserver-protocol (VS Code's own protocol stack), with the scripted model stub.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CancellationTokenSource,
  ExecuteCommandRequest,
  InlineCompletionRequest,
  type InlineCompletionItem,
  type InlineCompletionList,
  LSPErrorCodes,
  ResponseError,
} from "vscode-languageserver-protocol/node";
import { applyEdits, MODEL, sessionPerFile, until } from "./harness";

const session = sessionPerFile();

function items(result: InlineCompletionList | InlineCompletionItem[] | null): InlineCompletionItem[] {
  if (!result) return [];
  return Array.isArray(result) ? result : result.items;
}

test("the server advertises inline completion, hover and its commands", () => {
  const { server } = session();
  const capabilities = server.initializeResult.capabilities;
  assert.ok(capabilities.inlineCompletionProvider, JSON.stringify(capabilities));
  assert.ok(capabilities.hoverProvider);
  const commands = capabilities.executeCommandProvider?.commands ?? [];
  for (const command of ["wholerepo.refactor", "wholerepo.explain", "wholerepo.showContext"]) {
    assert.ok(commands.includes(command), `${command} missing from ${JSON.stringify(commands)}`);
  }
});

test("indexing reports $/progress from begin to end on a token the server created", async () => {
  const { server } = session();
  await until(() => server.progress.some((p) => p.kind === "end"), "indexing progress to end");
  const token = server.progress.find((p) => p.kind === "begin")?.token;
  assert.notEqual(token, undefined, JSON.stringify(server.progress));
  assert.ok(server.created.includes(token!), "progress token was created with window/workDoneProgress/create");
  const kinds = server.progress.filter((p) => p.token === token).map((p) => p.kind);
  assert.equal(kinds[0], "begin");
  assert.equal(kinds.at(-1), "end");
});

test("the server reports engine and index state through wholerepo/status", () => {
  const { server } = session();
  const last = server.status.at(-1) as { engine: Record<string, unknown>; index: Record<string, unknown> };
  assert.equal(last.engine.backend, "openai");
  assert.equal(last.engine.model, MODEL);
  assert.equal(last.index.files, 2);
});

test("inline completion: the model's continuation replaces the typed word", async () => {
  const { server, stub } = session();
  const original = server.read("rooms.py");
  const typed = original.replace("        total += \n", "        total += rect\n");
  const uri = await server.open("rooms.py", typed);
  stub.script({ path: "/v1/completions", text: "angle_area(width, height)" });
  const line = 7;
  const character = "        total += rect".length;
  const result = await server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position: { line, character },
    context: { triggerKind: 1 },
  });
  const [item] = items(result);
  assert.ok(item, `no item: ${JSON.stringify(result)}`);
  const insert = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
  const range = item.range ?? { start: { line, character }, end: { line, character } };
  const applied = applyEdits(typed, [{ range, newText: insert }]);
  assert.equal(applied.split("\n")[line], "        total += rectangle_area(width, height)");
  // The stub reports what it received on its own schedule: wait for the line.
  await until(() => stub.paths().includes("/v1/completions"), "the stub to report the completion request");
  const prompt = JSON.stringify(stub.requests.filter((r) => r.path === "/v1/completions").at(-1)?.body);
  assert.match(prompt, /Area of a width x height rectangle/, "the imported definition is in the prompt");
});

test("wholerepo.showContext lists the pack behind the last completion", async () => {
  const { server } = session();
  const result = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
    command: "wholerepo.showContext",
    arguments: [],
  })) as { items: { path: string }[]; markdown: string; suggestion: string };
  assert.ok(result, "no context: the completion above should have left one");
  assert.ok(result.items.some((item) => item.path === "geometry.py"), JSON.stringify(result.items));
  assert.match(result.markdown, /`geometry\.py:\d+-\d+`/);
  assert.equal(result.suggestion, "rectangle_area(width, height)");
});

test("cancelling an inline completion cancels the request and the model stream", async () => {
  const { server, stub } = session();
  const uri = await server.open("rooms.py");
  stub.script({ path: "/v1/completions", text: "0.0", pause: 30 });
  const before = stub.requests.length;
  const source = new CancellationTokenSource();
  const pending = server.connection.sendRequest(
    InlineCompletionRequest.type,
    { textDocument: { uri }, position: { line: 7, character: 17 }, context: { triggerKind: 1 } },
    source.token,
  );
  await until(() => stub.requests.length > before, "the model request");
  source.cancel();
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof ResponseError, String(error));
    assert.equal(error.code, LSPErrorCodes.RequestCancelled);
    return true;
  });
  await until(() => stub.disconnects.includes("/v1/completions"), "the model stream to be closed", 10_000);
});

