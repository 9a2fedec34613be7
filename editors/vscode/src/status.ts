/**
 * What the status bar says, derived from the server's `wholerepo/status` notifications and the
 * `$/progress` of indexing. Pure: the extension only copies `text` and `tooltip` onto the item.
 */

export interface ServerStatus {
  engine?: string;
  index?: string;
  detail?: string;
}

export interface Progress {
  title: string;
  message?: string;
  percentage?: number;
}

export type Phase = "starting" | "running" | "stopped" | "failed";

export class StatusModel {
  private phase: Phase = "starting";
  private server: ServerStatus = {};
  private readonly progress = new Map<string, Progress>();
  private failure = "";

  setPhase(phase: Phase, failure = ""): void {
    this.phase = phase;
    this.failure = failure;
    if (phase !== "running") {
      this.progress.clear();
    }
  }

  /** Takes a `wholerepo/status` params object; unknown fields are ignored, known ones must be text. */
  updateServer(params: unknown): void {
    if (typeof params !== "object" || params === null) {
      return;
    }
    const fields = params as Record<string, unknown>;
    const next: ServerStatus = { ...this.server };
    for (const key of ["engine", "index", "detail"] as const) {
      const value = describe(fields[key]);
      if (value !== undefined) {
        next[key] = value;
      }
    }
    // Why an engine is unavailable or indexing failed: the server's own sentence, for the tooltip.
    const messages = (["engine", "index"] as const)
      .map((key) => fields[key])
      .map((part) => (typeof part === "object" && part !== null ? (part as Record<string, unknown>).message : undefined))
      .filter((message): message is string => typeof message === "string" && message.length > 0);
    if (messages.length) {
      next.detail = messages.join("\n");
    }
    this.server = next;
  }

  beginProgress(token: string, title: string, message?: string, percentage?: number): void {
    // The server titles its work "wholerepo: indexing"; the item already says wholerepo.
    this.progress.set(token, { title: title.replace(/^wholerepo:\s*/i, ""), message, percentage });
  }

  reportProgress(token: string, message?: string, percentage?: number): void {
    const current = this.progress.get(token);
    if (current) {
      this.progress.set(token, {
        title: current.title,
        message: message ?? current.message,
        percentage: percentage ?? current.percentage,
      });
    }
  }

  endProgress(token: string): void {
    this.progress.delete(token);
  }

  get text(): string {
    const busy = [...this.progress.values()].at(-1);
    if (busy) {
      const percent = busy.percentage === undefined ? "" : ` ${Math.round(busy.percentage)}%`;
      return `$(sync~spin) wholerepo: ${busy.title.toLowerCase()}${percent}`;
    }
    switch (this.phase) {
      case "starting":
        return "$(loading~spin) wholerepo";
      case "stopped":
        return "$(circle-slash) wholerepo: stopped";
      case "failed":
        return "$(error) wholerepo: failed";
      default: {
        const parts = [this.server.engine, this.server.index].filter((part) => part);
        return `$(sparkle) wholerepo${parts.length ? ": " + parts.join(" · ") : ""}`;
      }
    }
  }

  get tooltip(): string {
    const lines = [`server: ${this.phase}${this.failure ? ` (${this.failure})` : ""}`];
    if (this.server.engine) lines.push(`engine: ${this.server.engine}`);
    if (this.server.index) lines.push(`index: ${this.server.index}`);
    if (this.server.detail) lines.push(this.server.detail);
    for (const busy of this.progress.values()) {
      lines.push(`${busy.title}${busy.message ? `: ${busy.message}` : ""}`);
    }
    return lines.join("\n");
  }
}

/** A status field as one short phrase: text as is, an object by its `state` plus counts. */
function describe(value: unknown): string | undefined {
  if (typeof value === "string") {
    return value;
  }
  if (typeof value !== "object" || value === null) {
    return undefined;
  }
  const fields = value as Record<string, unknown>;
  const words: string[] = [];
  for (const key of ["name", "backend", "model", "state"]) {
    if (typeof fields[key] === "string" && fields[key]) {
      words.push(fields[key] as string);
    }
  }
  if (typeof fields.files === "number") {
    words.push(`${fields.files} files`);
  }
  return words.length ? words.join(" ") : undefined;
}
