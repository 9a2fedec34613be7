/**
 * The extension's settings, read and checked without touching the `vscode` module so they can be
 * unit-tested in plain Node: which command starts the server, and the initializationOptions it gets.
 */

export type BackendKind = "local" | "openai";

export interface Settings {
  serverCommand: string[];
  pythonPath: string;
  backend: { kind: BackendKind; url: string; model: string; apiKeyEnv: string };
  budgets: { contextTokens: number; maxTokens: number };
  features: {
    inlineCompletion: boolean;
    completion: boolean;
    hover: boolean;
    codeLens: boolean;
    diagnostics: boolean;
    review: boolean;
    refactor: boolean;
  };
}

/** A setting that cannot work, named so the user can find and fix it. */
export class SettingsError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`wholerepo.${key}: ${message}`);
  }
}

/** Reads a value by its key under `wholerepo.` (VS Code's WorkspaceConfiguration.get fits). */
export type Lookup = (key: string) => unknown;

export function readSettings(get: Lookup): Settings {
  const kind = text(get, "backend.kind", "local");
  if (kind !== "local" && kind !== "openai") {
    throw new SettingsError("backend.kind", `must be "local" or "openai", not ${JSON.stringify(kind)}`);
  }
  const settings: Settings = {
    serverCommand: stringList(get, "server.command"),
    pythonPath: text(get, "server.pythonPath", ""),
    backend: {
      kind,
      url: text(get, "backend.url", ""),
      model: text(get, "backend.model", ""),
      apiKeyEnv: text(get, "backend.apiKeyEnv", ""),
    },
    budgets: {
      contextTokens: positiveInt(get, "budgets.contextTokens", 8192),
      maxTokens: positiveInt(get, "budgets.maxTokens", 128),
    },
    features: {
      inlineCompletion: flag(get, "features.inlineCompletion"),
      completion: flag(get, "features.completion"),
      hover: flag(get, "features.hover"),
      codeLens: flag(get, "features.codeLens"),
      diagnostics: flag(get, "features.diagnostics"),
      review: flag(get, "features.review", false),
      refactor: flag(get, "features.refactor"),
    },
  };
  if (kind === "openai") {
    if (!/^https?:\/\/\S+$/.test(settings.backend.url)) {
      throw new SettingsError("backend.url", "the openai backend needs an http(s) URL such as http://127.0.0.1:8000/v1");
    }
    if (!settings.backend.model) {
      throw new SettingsError("backend.model", "the openai backend needs a model name");
    }
  }
  if (settings.backend.apiKeyEnv && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(settings.backend.apiKeyEnv)) {
    throw new SettingsError("backend.apiKeyEnv", "must be the NAME of an environment variable, not the key itself");
  }
  return settings;
}

/** The process to start: an explicit command, else the given Python's module, else `wholerepo` on PATH. */
export function serverCommand(settings: Settings): { command: string; args: string[] } {
  if (settings.serverCommand.length > 0) {
    const [command, ...args] = settings.serverCommand;
    return { command, args };
  }
  if (settings.pythonPath) {
    return { command: settings.pythonPath, args: ["-m", "lsp_server.cli", "serve", "--stdio"] };
  }
  return { command: "wholerepo", args: ["serve", "--stdio"] };
}

/** What the server reads at `initialize` (the same keys it accepts through workspace/configuration). */
export function initializationOptions(settings: Settings): Record<string, unknown> {
  const backend: Record<string, unknown> = { kind: settings.backend.kind };
  if (settings.backend.kind === "openai") {
    backend.url = settings.backend.url;
    backend.model = settings.backend.model;
    if (settings.backend.apiKeyEnv) {
      backend.api_key_env = settings.backend.apiKeyEnv;
    }
  }
  return {
    backend,
    budgets: { context_tokens: settings.budgets.contextTokens, max_tokens: settings.budgets.maxTokens },
    features: {
      inline_completion: settings.features.inlineCompletion,
      completion: settings.features.completion,
      hover: settings.features.hover,
      code_lens: settings.features.codeLens,
      diagnostics: settings.features.diagnostics,
      review: settings.features.review,
      refactor: settings.features.refactor,
    },
  };
}

function text(get: Lookup, key: string, fallback: string): string {
  const value = get(key) ?? fallback;
  if (typeof value !== "string") {
    throw new SettingsError(key, `must be a string, not ${JSON.stringify(value)}`);
  }
  return value.trim();
}

function stringList(get: Lookup, key: string): string[] {
  const value = get(key) ?? [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new SettingsError(key, "must be a list of strings");
  }
  return value.filter((item) => item.length > 0);
}

function positiveInt(get: Lookup, key: string, fallback: number): number {
  const value = get(key) ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new SettingsError(key, `must be a positive whole number, not ${JSON.stringify(value)}`);
  }
  return value;
}

function flag(get: Lookup, key: string, fallback = true): boolean {
  const value = get(key) ?? fallback;
  if (typeof value !== "boolean") {
    throw new SettingsError(key, `must be true or false, not ${JSON.stringify(value)}`);
  }
  return value;
}
