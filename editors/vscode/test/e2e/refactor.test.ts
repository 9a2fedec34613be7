/**
 * End to end, refactoring: `wholerepo.refactor` with an instruction; the server asks the model
 * (scripted: the exploration answer, then search/replace blocks per file) and applies one multi-file
 * edit through workspace/applyEdit, which this client applies to the files.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { ExecuteCommandRequest } from "vscode-languageserver-protocol/node";
import { sessionPerFile } from "./harness";

const session = sessionPerFile();

const block = (search: string, replace: string) =>
  `<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

test("wholerepo.refactor applies a multi-file edit through workspace/applyEdit", async () => {
  const { server, stub } = session();
  stub.script({ path: "/v1/chat/completions", content: "FILE: geometry.py\nFILE: rooms.py" });
  stub.script({
    path: "/v1/chat/completions",
    content: block(
      "def rectangle_area(width: float, height: float) -> float:",
      "def rect_area(width: float, height: float) -> float:",
    ),
  });
  stub.script({
    path: "/v1/chat/completions",
    content: block("from geometry import rectangle_area", "from geometry import rect_area"),
  });
  const result = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
    command: "wholerepo.refactor",
    arguments: ["rename rectangle_area to rect_area", server.uri("geometry.py"), { line: 3, character: 6 }],
  })) as { applied: boolean; files: string[]; edits: number; label: string };
  assert.equal(result.applied, true, JSON.stringify(result));
  assert.deepEqual([...result.files].sort(), ["geometry.py", "rooms.py"]);
  assert.equal(result.edits, 2);
  assert.equal(server.applied.length, 1, "one workspace/applyEdit for the whole refactor");
  assert.equal(server.applied[0].label, result.label);
  assert.match(server.read("geometry.py"), /^def rect_area\(width: float, height: float\) -> float:$/m);
  assert.doesNotMatch(server.read("geometry.py"), /rectangle_area/);
  assert.match(server.read("rooms.py"), /^from geometry import rect_area$/m);
});

test("wholerepo.refactor without an instruction changes nothing and says why", async () => {
  const { server } = session();
  const before = server.applied.length;
  const result = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
    command: "wholerepo.refactor",
    arguments: ["", server.uri("geometry.py"), { line: 3, character: 6 }],
  })) as { message: string };
  assert.match(result.message, /needs an instruction/);
  assert.equal(server.applied.length, before);
});
