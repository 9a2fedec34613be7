/**
 * End to end, explanations: hover and the `wholerepo.explain` command of the real server.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { ExecuteCommandRequest, HoverRequest, type MarkupContent } from "vscode-languageserver-protocol/node";
import { sessionPerFile, until } from "./harness";

const session = sessionPerFile();

test("hover explains a symbol defined in another file", async () => {
  const { server } = session();
  const uri = await server.open("rooms.py");
  const hover = await server.connection.sendRequest(HoverRequest.type, {
    textDocument: { uri },
    position: { line: 0, character: "from geometry import rect".length },
  });
  assert.ok(hover, "no hover");
  const contents = hover.contents as MarkupContent;
  assert.equal(contents.kind, "markdown");
  assert.match(contents.value, /rectangle_area/);
  assert.match(contents.value, /geometry\.py/);
});

test("executeCommand wholerepo.explain answers with the model's account, citations checked", async () => {
  const { server, stub } = session();
  const narrative = "`rectangle_area` (geometry.py:4) multiplies width by height; rooms.py:1 imports it.";
  stub.script({ path: "/v1/chat/completions", content: narrative });
  const result = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
    command: "wholerepo.explain",
    arguments: [server.uri("rooms.py"), { line: 0, character: 25 }],
  })) as { markdown: string; model: string };
  assert.equal(result.model, "qwen2.5-coder-7b");
  assert.match(result.markdown, /multiplies width by height/);
  assert.match(result.markdown, /geometry\.py:4/);
  await until(() => stub.paths().includes("/v1/chat/completions"), "the stub to report the chat request");
  const prompt = JSON.stringify(stub.requests.find((r) => r.path === "/v1/chat/completions")?.body);
  assert.match(prompt, /def rectangle_area/, "the definition's code went to the model");
});
