"""A stand-in for the `vllm` CLI: `fake_vllm.py serve MODEL --host H --port P ...`.

FAKE_VLLM_MODE picks what it does: "serve" (answer GET /v1/models like vLLM), "die" (log, then exit 3),
"hang" (never answer). With VLLM_API_KEY set it answers only requests that send that key.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def main() -> None:
    args = sys.argv[1:]
    assert args[0] == "serve", args
    model, mode = args[1], os.environ.get("FAKE_VLLM_MODE", "serve")
    print(f"fake vllm: {' '.join(args)}", flush=True)
    if mode == "die":
        for number in range(60):
            print(f"log line {number}", flush=True)
        print("ValueError: cannot load the model", flush=True)
        sys.exit(3)
    if mode == "hang":
        time.sleep(600)
    name = option(args, "--served-model-name", model)
    window = int(option(args, "--max-model-len", "4096"))
    key = os.environ.get("VLLM_API_KEY")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if key and self.headers.get("Authorization") != f"Bearer {key}":
                status, body = 401, {"error": "unauthorised"}
            elif self.path == "/v1/models":
                status, body = 200, {"object": "list", "data": [{"id": name, "max_model_len": window}]}
            else:
                status, body = 404, {"error": "not found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    HTTPServer((option(args, "--host"), int(option(args, "--port"))), Handler).serve_forever()


if __name__ == "__main__":
    main()
