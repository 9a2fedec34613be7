// Drives code-server in headless chromium: opens a file, types, waits for the extension's ghost text,
// hovers a symbol, and saves a screenshot with both visible. Exit status 0 only if both were seen.
// Usage: node drive.js --url URL --chromium PATH --screenshot PNG --file F --line N --type TEXT
//        --hover-word WORD --accepted TEXT       (playwright-core is found through NODE_PATH)
"use strict";
const fs = require("node:fs");
const { chromium } = require("playwright-core");

function options(argv) {
  const parsed = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    parsed[argv[i].slice(2)] = argv[i + 1];
  }
  for (const key of ["url", "chromium", "screenshot", "file", "line", "type", "hover-word", "accepted"]) {
    if (!parsed[key]) throw new Error(`missing --${key}`);
  }
  return parsed;
}

const GHOST = ".ghost-text-decoration, .ghost-text-decoration-preview, .ghost-text";

async function visibleText(page, selector) {
  return page.$$eval(selector, (nodes) =>
    nodes.filter((n) => n.getBoundingClientRect().width > 0).map((n) => n.textContent).join(""),
  );
}

async function main() {
  const opt = options(process.argv);
  const browser = await chromium.launch({
    executablePath: opt.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  const summary = { ghost: "", hover: "", status: "" };
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  try {
    page.setDefaultTimeout(120_000);
    await page.goto(opt.url);
    await page.waitForSelector(".monaco-workbench .part.editor");
    const status = page.locator(".statusbar-item", { hasText: "wholerepo" }).first();
    await status.waitFor();
    console.log("[drive] workbench up; extension status bar item present");

    await page.keyboard.press("Control+P");
    await page.keyboard.type(opt.file, { delay: 30 });
    await page.waitForSelector(".quick-input-list .monaco-list-row");
    await page.keyboard.press("Enter");
    await page.waitForSelector(`.tab[aria-label*="${opt.file}"]`);
    await page.locator(".monaco-editor .view-lines").first().click();
    // Type only once the server says its engine and its index are ready ("wholerepo: … ready · ready N files").
    await page.waitForFunction(
      () => [...document.querySelectorAll(".statusbar-item")].some((n) => /wholerepo:.*ready.*·.*ready/.test(n.textContent || "")),
      null,
      { timeout: 120_000 },
    ).catch(() => console.log("[drive] the status bar never said engine and index ready; going on"));
    summary.status = ((await status.textContent()) || "").trim();
    console.log(`[drive] status bar: ${summary.status}`);

    await page.keyboard.press("Control+G");
    await page.keyboard.type(opt.line);
    await page.keyboard.press("Enter");
    await page.keyboard.press("End");
    await page.keyboard.type(opt.type, { delay: 120 });
    let ghost = await page.waitForSelector(GHOST, { timeout: 30_000 }).catch(() => null);
    if (!ghost) {
      console.log("[drive] no ghost text after typing; asking explicitly (Alt+\\)");
      await page.keyboard.press("Alt+Backslash");
      ghost = await page.waitForSelector(GHOST, { timeout: 30_000 }).catch(() => null);
    }
    summary.ghost = ghost ? await visibleText(page, GHOST) : "";
    console.log(`[drive] ghost text: ${JSON.stringify(summary.ghost)}`);

    const line = page.locator(".view-lines .view-line").filter({ hasText: opt["hover-word"] }).first();
    await line.locator("span", { hasText: opt["hover-word"] }).last().hover();
    const hover = await page
      .waitForSelector(".monaco-hover:not(.hidden) .hover-contents", { state: "visible", timeout: 30_000 })
      .catch(() => null);
    summary.hover = hover ? ((await hover.textContent()) || "").trim() : "";
    console.log(`[drive] hover: ${JSON.stringify(summary.hover.slice(0, 300))}`);
    summary.ghostStillVisible = (await visibleText(page, GHOST)).length > 0;
    await page.screenshot({ path: opt.screenshot });
    // Tab accepts the suggestion: the line's own text (ghost decorations left out) holds the whole call.
    await page.keyboard.press("Tab");
    // Runs in the page: the first line whose own text (ghost decorations left out) contains `word`.
    const lineWith = ([ghostSelector, word]) => {
      for (const line of document.querySelectorAll(".view-lines .view-line")) {
        const copy = line.cloneNode(true);
        copy.querySelectorAll(ghostSelector).forEach((ghost) => ghost.remove());
        const text = (copy.textContent || "").replace(/\u00a0/g, " ");
        if (text.includes(word)) return text;
      }
      return "";
    };
    await page.waitForFunction(lineWith, [GHOST, opt.accepted], { timeout: 10_000 }).catch(() => null);
    summary.acceptedLine = await page.evaluate(lineWith, [GHOST, opt.accepted]);
    console.log(`[drive] after Tab: ${JSON.stringify(summary.acceptedLine)}`);
  } finally {
    if (!summary.acceptedLine) await page.screenshot({ path: opt.screenshot });
    fs.writeFileSync(opt.screenshot.replace(/\.png$/, ".json"), JSON.stringify(summary, null, 2) + "\n");
    console.log(`[drive] screenshot: ${opt.screenshot}`);
    await browser.close();
  }
  process.exit(summary.ghost && summary.hover && summary.acceptedLine ? 0 : 1);
}

main().catch((error) => {
  console.error(`[drive] ${error.stack || error}`);
  process.exit(2);
});
