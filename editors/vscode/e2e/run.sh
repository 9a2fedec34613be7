#!/usr/bin/env bash
# `make e2e-vscode`: the extension in a real VS Code (code-server 4.139 = VS Code 1.139), driven by
# Playwright in Debian's headless chromium. Builds and installs the .vsix offline, opens a fixture
# workspace whose server talks to a scripted OpenAI-compatible stub on 127.0.0.1, types in a file,
# and saves a screenshot with the ghost-text completion and a hover explanation visible.
# Output: bench/results/e2e-vscode.png (override with E2E_SCREENSHOT) and a JSON summary beside it.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
SHOT="${E2E_SCREENSHOT:-$REPO/bench/results/e2e-vscode.png}"
CACHE="${WHOLEREPO_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wholerepo-e2e}"

"$HERE/install.sh"
# shellcheck disable=SC1091
. "$CACHE/env.sh"

echo "[e2e] building the .vsix"
(cd "$REPO/editors/vscode" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent package)

WORK="$(mktemp -d /tmp/wholerepo-e2e.XXXXXX)"
cleanup() {
    for pid in ${CODE_PID:-} ${STUB_PID:-}; do kill "$pid" 2>/dev/null || true; done
    exec 3>&- 2>/dev/null || true
    [ -n "${KEEP_E2E:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

echo "[e2e] scripted model server"
mkfifo "$WORK/stub.in"
(cd "$REPO" && exec "$PYTHON" -m tests.editors.openai_stub_process <"$WORK/stub.in" >"$WORK/stub.out" 2>"$WORK/stub.err") &
STUB_PID=$!
exec 3>"$WORK/stub.in"
for _ in $(seq 100); do [ -s "$WORK/stub.out" ] && break; sleep 0.1; done
STUB_URL="$("$PYTHON" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$WORK/stub.out")"
# The model continues from the cursor; every keystroke may ask again.
echo '{"path": "/v1/completions", "text": "angle_area(width, height)", "repeat": 200}' >&3

echo "[e2e] workspace and extension"
cp -r "$REPO/tests/fixtures/editors/rooms" "$WORK/workspace"
git -C "$WORK/workspace" init -q
mkdir -p "$WORK/workspace/.vscode" "$WORK/user/User"
cat >"$WORK/workspace/.vscode/settings.json" <<JSON
{
  "wholerepo.server.command": ["$PYTHON", "-m", "lsp_server.cli", "serve", "--stdio"],
  "wholerepo.backend.kind": "openai",
  "wholerepo.backend.url": "$STUB_URL",
  "wholerepo.backend.model": "qwen2.5-coder-7b"
}
JSON
cat >"$WORK/user/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "security.workspace.trust.enabled": false,
  "editor.inlineSuggest.enabled": true,
  "editor.hover.delay": 200,
  "editor.quickSuggestions": { "other": "off", "comments": "off", "strings": "off" },
  "editor.wordBasedSuggestions": "off",
  "editor.minimap.enabled": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "extensions.autoCheckUpdates": false,
  "telemetry.telemetryLevel": "off",
  "chat.disableAIFeatures": true,
  "window.commandCenter": false
}
JSON
export PATH="$NODE24/bin:$PATH"
"$CODE_SERVER_BIN" --extensions-dir "$WORK/extensions" --user-data-dir "$WORK/user" \
    --install-extension "$REPO/editors/vscode/dist/wholerepo.vsix" >"$WORK/install.log" 2>&1
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "[e2e] code-server on 127.0.0.1:$PORT"
"$CODE_SERVER_BIN" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check \
    --disable-workspace-trust --extensions-dir "$WORK/extensions" --user-data-dir "$WORK/user" \
    "$WORK/workspace" >"$WORK/code-server.log" 2>&1 &
CODE_PID=$!
for _ in $(seq 300); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done

mkdir -p "$(dirname "$SHOT")"
echo "[e2e] driving the editor"
status=0
NODE_PATH="$PLAYWRIGHT_NODE_PATH" node "$HERE/drive.js" \
    --url "http://127.0.0.1:$PORT/?folder=$WORK/workspace" --chromium "$CHROMIUM" --screenshot "$SHOT" \
    --file rooms.py --line 8 --type "rect" --hover-word rectangle_area \
    --accepted "total += rectangle_area(width, height)" || status=$?
echo "[e2e] model requests seen by the stub: $(grep -c '"request"' "$WORK/stub.out" || true)"
if [ "$status" != 0 ]; then
    echo "[e2e] FAILED ($status); code-server's log: $WORK/code-server.log (kept)" >&2
    KEEP_E2E=1
fi
exit "$status"
