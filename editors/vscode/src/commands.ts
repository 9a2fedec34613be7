/**
 * Arguments for the server's commands and the text shown for their results. Pure, so both the
 * argument order the server expects and the rendering are unit-tested without VS Code.
 */

export interface Cursor {
  uri: string;
  line: number;
  character: number;
}

/** `wholerepo.refactor`: the instruction, then (optionally) the document and cursor it starts from. */
export function refactorArguments(instruction: string, where?: Cursor): unknown[] {
  if (!instruction.trim()) {
    throw new Error("a refactor needs an instruction");
  }
  return where
    ? [instruction, where.uri, { line: where.line, character: where.character }]
    : [instruction];
}

/** True when `wholerepo.refactor` arguments (from the server's code action) hold no instruction yet. */
export function needsInstruction(args: unknown[]): boolean {
  return typeof args[0] !== "string" || args[0].trim() === "";
}

/** The same arguments with the instruction the user typed in first place. */
export function withInstruction(args: unknown[], instruction: string): unknown[] {
  return [instruction, ...args.slice(1)];
}

/** `wholerepo.explain`: the document and the position of the symbol. */
export function explainArguments(uri: string, line: number, character: number): unknown[] {
  return [uri, { line, character }];
}

/**
 * A command's result as document text: markdown for explanations, pretty JSON for the context pack.
 * A string is shown as is; `{markdown|text|value: string}` by that field; nothing gives undefined.
 */
export function resultAsDocument(result: unknown, language: "markdown" | "json"): string | undefined {
  if (result === undefined || result === null) {
    return undefined;
  }
  if (typeof result === "string") {
    return result;
  }
  if (language === "markdown" && typeof result === "object") {
    const fields = result as Record<string, unknown>;
    for (const key of ["markdown", "text", "value"]) {
      if (typeof fields[key] === "string") {
        return fields[key] as string;
      }
    }
  }
  return JSON.stringify(result, null, 2);
}
