import { test } from "node:test";
import assert from "node:assert/strict";
import { initializationOptions, readSettings, serverCommand, SettingsError } from "../../src/settings";

const lookup = (values: Record<string, unknown>) => (key: string) => values[key];

test("defaults: local backend, `wholerepo serve` on PATH, every feature on", () => {
  const settings = readSettings(lookup({}));
  assert.deepEqual(serverCommand(settings), { command: "wholerepo", args: ["serve", "--stdio"] });
  assert.deepEqual(initializationOptions(settings), {
    backend: { kind: "local" },
    budgets: { context_tokens: 8192, max_tokens: 128 },
    features: {
      inline_completion: true,
      completion: true,
      hover: true,
      code_lens: true,
      diagnostics: true,
      review: false,
      refactor: true,
    },
  });
});

test("a python path runs the CLI module; an explicit command wins over it", () => {
  const python = readSettings(lookup({ "server.pythonPath": " /opt/venv/bin/python " }));
  assert.deepEqual(serverCommand(python), {
    command: "/opt/venv/bin/python",
    args: ["-m", "lsp_server.cli", "serve", "--stdio"],
  });
  const explicit = readSettings(
    lookup({ "server.pythonPath": "/opt/venv/bin/python", "server.command": ["/x/wholerepo", "serve", "--tcp", "127.0.0.1:9"] }),
  );
  assert.deepEqual(serverCommand(explicit), { command: "/x/wholerepo", args: ["serve", "--tcp", "127.0.0.1:9"] });
});

test("openai backend passes url, model and the NAME of the key variable", () => {
  const settings = readSettings(
    lookup({
      "backend.kind": "openai",
      "backend.url": "http://127.0.0.1:8000/v1",
      "backend.model": "qwen2.5-coder-7b",
      "backend.apiKeyEnv": "DEEPSEEK_API_KEY",
      "budgets.contextTokens": 32768,
      "features.codeLens": false,
    }),
  );
  const options = initializationOptions(settings);
  assert.deepEqual(options.backend, {
    kind: "openai",
    url: "http://127.0.0.1:8000/v1",
    model: "qwen2.5-coder-7b",
    api_key_env: "DEEPSEEK_API_KEY",
  });
  assert.deepEqual(options.budgets, { context_tokens: 32768, max_tokens: 128 });
  assert.equal((options.features as Record<string, boolean>).code_lens, false);
});

test("bad settings name the setting", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ "backend.kind": "gpt" }, "wholerepo.backend.kind"],
    [{ "backend.kind": "openai", "backend.model": "m" }, "wholerepo.backend.url"],
    [{ "backend.kind": "openai", "backend.url": "http://h/v1" }, "wholerepo.backend.model"],
    [{ "backend.apiKeyEnv": "sk-live-1234" }, "wholerepo.backend.apiKeyEnv"],
    [{ "budgets.maxTokens": 0 }, "wholerepo.budgets.maxTokens"],
    [{ "budgets.contextTokens": 12.5 }, "wholerepo.budgets.contextTokens"],
    [{ "server.command": "wholerepo serve" }, "wholerepo.server.command"],
    [{ "features.hover": "yes" }, "wholerepo.features.hover"],
  ];
  for (const [values, key] of cases) {
    assert.throws(
      () => readSettings(lookup(values)),
      (error: unknown) => error instanceof SettingsError && error.message.startsWith(`${key}:`),
      JSON.stringify(values),
    );
  }
});
