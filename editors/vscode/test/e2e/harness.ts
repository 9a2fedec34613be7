/**
 * A real `wholerepo serve` process driven through Microsoft's own protocol stack
 * (vscode-languageserver-protocol over stdio, as VS Code does), plus the scripted OpenAI-compatible
 * stub process (tests/editors/openai_stub_process.py) that stands in for the model.
 */

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { after, before } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import {
  ApplyWorkspaceEditRequest,
  ConfigurationRequest,
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  InitializedNotification,
  InitializeRequest,
  type InitializeResult,
  type ProtocolConnection,
  RegistrationRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type TextEdit,
  type WorkspaceEdit,
  WorkDoneProgressCreateRequest,
} from "vscode-languageserver-protocol/node";

/** The repository root: the nearest folder above this file with a pyproject.toml. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "pyproject.toml"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no pyproject.toml above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export function python(): string {
  const fromEnv = process.env.WHOLEREPO_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = path.join(repoRoot(), ".venv", "bin", "python");
  return fs.existsSync(venv) ? venv : "python3";
}

/** Resolves when `check` holds, polling; rejects after `ms` with `what` in the message. */
export async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface StubRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

export class ModelStub {
  readonly requests: StubRequest[] = [];
  readonly disconnects: string[] = [];
  readonly errors: string[] = [];
  private constructor(
    private readonly process: ChildProcessWithoutNullStreams,
    readonly url: string,
  ) {}

  static async start(): Promise<ModelStub> {
    const child = spawn(python(), ["-m", "tests.editors.openai_stub_process"], { cwd: repoRoot() });
    const lines = createInterface({ input: child.stdout });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      lines.once("line", (line) => resolve(JSON.parse(line).url));
      child.once("exit", (code) => reject(new Error(`model stub exited ${code}: ${stderr}`)));
    });
    const stub = new ModelStub(child, url);
    lines.on("line", (line) => {
      const message = JSON.parse(line);
      if (message.request) stub.requests.push(message.request);
      if (message.disconnect) stub.disconnects.push(message.disconnect);
      if (message.error) stub.errors.push(message.error);
    });
    return stub;
  }

  /** Queue a streamed FIM reply (`text`) or chat reply (`content`); see the stub's docstring. */
  script(reply: { path: string; text?: string; content?: string; pause?: number; repeat?: number }): void {
    this.process.stdin.write(JSON.stringify(reply) + "\n");
  }

  paths(): string[] {
    return this.requests.map((request) => request.path);
  }

  async stop(): Promise<void> {
    this.process.stdin.end();
    await new Promise((resolve) => (this.process.exitCode !== null ? resolve(null) : this.process.once("exit", resolve)));
  }
}

export interface Progress {
  token: string | number;
  kind: string;
  title?: string;
  message?: string;
  percentage?: number;
}

/** Files of a workspace as the client sees them; applyEdit changes these texts (and disk). */
export class Server {
  readonly progress: Progress[] = [];
  readonly created: (string | number)[] = [];
  readonly status: unknown[] = [];
  readonly applied: { label?: string; edit: WorkspaceEdit }[] = [];
  readonly logs: string[] = [];
  stderr = "";
  initializeResult!: InitializeResult;

  private constructor(
    readonly connection: ProtocolConnection,
    private readonly process: ChildProcessWithoutNullStreams,
    readonly root: string,
  ) {}

  static async start(root: string, initializationOptions: Record<string, unknown>): Promise<Server> {
    const child = spawn(python(), ["-m", "lsp_server.cli", "serve", "--stdio"], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: repoRoot() },
    });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const server = new Server(connection, child, root);
    child.stderr.on("data", (chunk) => (server.stderr += chunk));
    connection.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      server.created.push(token);
    });
    connection.onNotification("$/progress", (params: { token: string | number; value: Progress }) => {
      server.progress.push({ ...params.value, token: params.token });
    });
    connection.onNotification("wholerepo/status", (params: unknown) => {
      server.status.push(params);
    });
    connection.onNotification("window/logMessage", (params: { message: string }) => {
      server.logs.push(params.message);
    });
    connection.onRequest(RegistrationRequest.type, () => undefined);
    connection.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => initializationOptions));
    connection.onRequest(ApplyWorkspaceEditRequest.type, (params) => {
      server.applied.push({ label: params.label, edit: params.edit });
      server.applyToDisk(params.edit);
      return { applied: true };
    });
    connection.listen();
    server.initializeResult = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: path.basename(root) }],
      initializationOptions,
      capabilities: {
        general: { positionEncodings: ["utf-16"] },
        window: { workDoneProgress: true },
        workspace: { applyEdit: true, workspaceEdit: { documentChanges: true }, configuration: true },
        textDocument: {
          inlineCompletion: { dynamicRegistration: false },
          hover: { contentFormat: ["markdown", "plaintext"] },
          synchronization: { didSave: true },
          completion: { completionItem: { snippetSupport: false } },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ["", "quickfix", "refactor", "refactor.move", "refactor.rewrite"] } } },
        },
      },
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return server;
  }

  /** True once the server said both its engine and its index are ready (wholerepo/status). */
  ready(): boolean {
    const state = (part: unknown) => (part as { state?: string } | undefined)?.state;
    const engine = this.status.some((s) => state((s as Record<string, unknown>).engine) === "ready");
    const index = this.status.some((s) => state((s as Record<string, unknown>).index) === "ready");
    return engine && index;
  }

  uri(relative: string): string {
    return pathToFileURL(path.join(this.root, relative)).href;
  }

  read(relative: string): string {
    return fs.readFileSync(path.join(this.root, relative), "utf8");
  }

  async open(relative: string, text?: string): Promise<string> {
    const uri = this.uri(relative);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "python", version: 1, text: text ?? this.read(relative) },
    });
    return uri;
  }

  /** The server's edit, applied to the files on disk (the test client has no open editors to change). */
  private applyToDisk(edit: WorkspaceEdit): void {
    const byUri = new Map<string, TextEdit[]>();
    for (const [uri, edits] of Object.entries(edit.changes ?? {})) byUri.set(uri, edits);
    for (const change of edit.documentChanges ?? []) {
      if ("textDocument" in change) {
        byUri.set(change.textDocument.uri, change.edits.map((e) => ("newText" in e ? e : e) as TextEdit));
      }
    }
    for (const [uri, edits] of byUri) {
      const file = new URL(uri).pathname;
      fs.writeFileSync(file, applyEdits(fs.readFileSync(file, "utf8"), edits));
    }
  }

  async stop(): Promise<void> {
    try {
      await this.connection.sendRequest("shutdown");
      await this.connection.sendNotification("exit");
    } catch {
      // already gone
    }
    await new Promise((resolve) => {
      if (this.process.exitCode !== null) return resolve(null);
      const timer = setTimeout(() => this.process.kill(), 5000);
      this.process.once("exit", () => {
        clearTimeout(timer);
        resolve(null);
      });
    });
    this.connection.dispose();
  }
}

/** Applies LSP text edits (UTF-16 positions, as negotiated) to a text, last edit first. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  const offset = (p: { line: number; character: number }) =>
    p.line >= starts.length ? text.length : Math.min(starts[p.line] + p.character, text.length);
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let result = text;
  for (const edit of sorted) {
    result = result.slice(0, offset(edit.range.start)) + edit.newText + result.slice(offset(edit.range.end));
  }
  return result;
}

export interface Session {
  stub: ModelStub;
  server: Server;
  workspace: string;
  close(): Promise<void>;
}

/** A copy of tests/fixtures/editors/rooms, the model stub, and the server on them (openai backend). */
export async function startSession(): Promise<Session> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "wholerepo-vscode-e2e-"));
  fs.cpSync(path.join(repoRoot(), "tests", "fixtures", "editors", "rooms"), workspace, { recursive: true });
  fs.mkdirSync(path.join(workspace, ".git"));
  const stub = await ModelStub.start();
  const server = await Server.start(workspace, {
    backend: { kind: "openai", url: stub.url, model: MODEL },
    budgets: { context_tokens: 4096, max_tokens: 64 },
    index_dir: path.join(workspace, ".wholerepo-index"),
  });
  return {
    stub,
    server,
    workspace,
    async close() {
      await server.stop();
      await stub.stop();
      fs.rmSync(workspace, { recursive: true, force: true });
    },
  };
}

export const MODEL = "qwen2.5-coder-7b";

/** Registers before/after hooks for one session per test file, ready to use (engine and index ready). */
export function sessionPerFile(): () => Session {
  let session: Session | undefined;
  before(async () => {
    session = await startSession();
    const server = session.server;
    await until(() => server.ready(), "engine and index ready");
  });
  after(async () => {
    await session?.close();
  });
  return () => {
    if (!session) throw new Error("the session did not start");
    return session;
  };
}
