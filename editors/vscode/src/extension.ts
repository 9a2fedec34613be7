/**
 * The VS Code side of wholerepo: starts `wholerepo serve` through vscode-languageclient (which maps
 * inline completion, hover, code lens, diagnostics, rename and code actions to the editor by itself),
 * keeps a status bar item current, and adds the commands that need the editor's UI first.
 */

import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  TransportKind,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
} from "vscode-languageclient/node";
import { initializationOptions, readSettings, serverCommand, SettingsError } from "./settings";
import { StatusModel } from "./status";
import { explainArguments, needsInstruction, refactorArguments, resultAsDocument, withInstruction } from "./commands";

const SERVER_COMMANDS = { refactor: "wholerepo.refactor", explain: "wholerepo.explain", showContext: "wholerepo.showContext" };

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
const status = new StatusModel();
let statusItem: vscode.StatusBarItem;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("wholerepo", { log: true });
  statusItem = vscode.window.createStatusBarItem("wholerepo.status", vscode.StatusBarAlignment.Right, 100);
  statusItem.name = "wholerepo";
  statusItem.command = "wholerepo.showContextPanel";
  statusItem.show();
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand("wholerepo.refactorPrompt", refactorPrompt),
    vscode.commands.registerCommand("wholerepo.explainAtCursor", explainAtCursor),
    vscode.commands.registerCommand("wholerepo.showContextPanel", showContext),
    vscode.commands.registerCommand("wholerepo.restart", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("wholerepo")) {
        void restart();
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function start(): Promise<void> {
  let settings;
  try {
    settings = readSettings((key) => vscode.workspace.getConfiguration("wholerepo").get(key));
  } catch (error) {
    const message = error instanceof SettingsError ? error.message : String(error);
    status.setPhase("failed", message);
    render();
    void vscode.window.showErrorMessage(`wholerepo: ${message}`);
    return;
  }
  const { command, args } = serverCommand(settings);
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const options = initializationOptions(settings);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: options,
    outputChannel: output,
    middleware: {
      // The server's "Rewrite with wholerepo…" code action carries no instruction: ask for one here.
      executeCommand: async (command, args, next) => {
        if (command === SERVER_COMMANDS.refactor && needsInstruction(args)) {
          const instruction = await askInstruction();
          return instruction ? next(command, withInstruction(args, instruction)) : undefined;
        }
        return next(command, args);
      },
      workspace: {
        // The server asks for its `wholerepo` section; answer in the shape of initializationOptions
        // rather than with VS Code's raw settings tree (camelCase, client-only keys).
        configuration: (params, token, next) =>
          params.items.some((item) => item.section === "wholerepo")
            ? params.items.map((item) => (item.section === "wholerepo" ? options : null))
            : next(params, token),
      },
    },
  };
  client = new LanguageClient("wholerepo", "wholerepo", serverOptions, clientOptions);
  client.onDidChangeState((event) => {
    status.setPhase(event.newState === State.Running ? "running" : event.newState === State.Starting ? "starting" : "stopped");
    render();
  });
  status.setPhase("starting");
  render();
  try {
    await client.start();
  } catch (error) {
    status.setPhase("failed", `could not start ${command}: ${String(error)}`);
    render();
    void vscode.window.showErrorMessage(`wholerepo: could not start the server (${command} ${args.join(" ")}): ${String(error)}`);
    return;
  }
  const running = client;
  running.onNotification("wholerepo/status", (params: unknown) => {
    status.updateServer(params);
    render();
  });
  // Indexing progress goes to the status bar item (this replaces the client's own progress popup).
  running.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
    const key = String(token);
    const subscription = running.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === "begin") {
        status.beginProgress(key, value.title, value.message, value.percentage);
      } else if (value.kind === "report") {
        status.reportProgress(key, value.message, value.percentage);
      } else {
        status.endProgress(key);
        subscription.dispose();
      }
      render();
    });
  });
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop().catch((error: unknown) => output.appendLine(`stopping the server: ${String(error)}`));
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

function render(): void {
  statusItem.text = status.text;
  statusItem.tooltip = status.tooltip;
}

async function runServerCommand(command: string, args: unknown[]): Promise<unknown> {
  if (!client || !client.isRunning()) {
    void vscode.window.showWarningMessage("wholerepo: the language server is not running.");
    return undefined;
  }
  try {
    return await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  } catch (error) {
    void vscode.window.showErrorMessage(`wholerepo: ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

async function askInstruction(): Promise<string | undefined> {
  const instruction = await vscode.window.showInputBox({
    title: "wholerepo: refactor",
    prompt: "What should change? (the whole repository is in scope)",
    placeHolder: "e.g. rename fetch_user to load_user and update every caller",
    ignoreFocusOut: true,
  });
  return instruction?.trim() || undefined;
}

async function refactorPrompt(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const instruction = await askInstruction();
  if (!instruction) {
    return;
  }
  const where = editor ? { uri: editor.document.uri.toString(), line: editor.selection.active.line, character: editor.selection.active.character } : undefined;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "wholerepo: refactoring…", cancellable: false },
    // The server applies the edit itself through workspace/applyEdit; VS Code asks to confirm multi-file edits.
    () => runServerCommand(SERVER_COMMANDS.refactor, refactorArguments(instruction, where)),
  );
}

async function explainAtCursor(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("wholerepo: open a file and put the cursor on a symbol to explain it.");
    return;
  }
  const position = editor.selection.active;
  const result = await runServerCommand(
    SERVER_COMMANDS.explain,
    explainArguments(editor.document.uri.toString(), position.line, position.character),
  );
  await showDocument(result, "markdown");
}

async function showContext(): Promise<void> {
  const result = await runServerCommand(SERVER_COMMANDS.showContext, []);
  if (result === null) {
    void vscode.window.showInformationMessage("wholerepo: no completion yet; the context of the last one shows here.");
    return;
  }
  await showDocument(result, "markdown");
}

async function showDocument(result: unknown, language: "markdown" | "json"): Promise<void> {
  const content = resultAsDocument(result, language);
  if (content === undefined) {
    return;
  }
  const document = await vscode.workspace.openTextDocument({ content, language });
  if (language === "markdown") {
    await vscode.commands.executeCommand("markdown.showPreviewToSide", document.uri);
  } else {
    await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }
}
