import { test } from "node:test";
import assert from "node:assert/strict";
import { explainArguments, needsInstruction, refactorArguments, resultAsDocument, withInstruction } from "../../src/commands";

test("refactor arguments: instruction first, then where the cursor is", () => {
  assert.deepEqual(refactorArguments("rename a to b"), ["rename a to b"]);
  assert.deepEqual(refactorArguments("inline x", { uri: "file:///w/a.py", line: 3, character: 7 }), [
    "inline x",
    "file:///w/a.py",
    { line: 3, character: 7 },
  ]);
  assert.throws(() => refactorArguments("   "), /needs an instruction/);
});

test("explain arguments are the document and an LSP position", () => {
  assert.deepEqual(explainArguments("file:///w/a.py", 0, 4), ["file:///w/a.py", { line: 0, character: 4 }]);
});

test("results become document text", () => {
  assert.equal(resultAsDocument(null, "markdown"), undefined);
  assert.equal(resultAsDocument("# f", "markdown"), "# f");
  assert.equal(resultAsDocument({ markdown: "**g**", other: 1 }, "markdown"), "**g**");
  assert.equal(resultAsDocument({ budget: 8, items: [] }, "json"), '{\n  "budget": 8,\n  "items": []\n}');
});

test("the server's rewrite code action gets the instruction the user types", () => {
  const fromCodeAction = ["", "file:///w/a.py", { line: 2, character: 4 }];
  assert.equal(needsInstruction(fromCodeAction), true);
  assert.equal(needsInstruction([]), true);
  assert.equal(needsInstruction(["inline it"]), false);
  assert.deepEqual(withInstruction(fromCodeAction, "inline it"), ["inline it", "file:///w/a.py", { line: 2, character: 4 }]);
});
