"""Start and stop: settings from initialize and workspace/configuration, the workspace's index built in
the background with `$/progress`, the model loaded in the background, status notifications."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import resource
import sys
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

from lsprotocol import types as t
from pygls.uris import to_fs_path

from agent import BackendError, Completer, Workspace, WorkspaceSettings, backend_from_settings

from .settings import parse_settings

CONFIG_SECTION = "wholerepo"
PROGRESS_INTERVAL_S = 0.2
QUIET_POLL_S = 0.5  # how often the server looks whether the editor has gone quiet
RUNTIME = "wholerepo.runtime"
log = logging.getLogger("wholerepo")


def register(server) -> None:
    forget_finished_handlers(server.protocol)

    @server.feature(t.INITIALIZE)
    def initialize(ls, params: t.InitializeParams) -> None:
        ls.init_options = params.initialization_options
        ls.settings = parse_settings(ls.init_options)
        ls.root = _root(params)

    @server.feature(t.INITIALIZED)
    async def initialized(ls, params: t.InitializedParams) -> None:
        ls.index_ready = asyncio.Event()
        await _load_configuration(ls)
        if ls.root is None:
            ls.index_status = {"state": "no workspace folder"}
            ls.report("no workspace folder: open a folder to index", t.MessageType.Warning)
        else:
            index_dir = Path(ls.settings.index_dir) if ls.settings.index_dir else None
            ls.ws = Workspace(ls.root, WorkspaceSettings(index_dir=index_dir))
            ls.spawn(build_index(ls))
        ls.workspace_opened.set()
        ls.spawn(start_engine(ls))
        ls.spawn(settle_when_quiet(ls))

    @server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls, params: t.DidChangeConfigurationParams) -> None:
        old_engine = ls.settings.engine
        await _load_configuration(ls, params.settings)
        if ls.settings.engine != old_engine:
            ls.spawn(start_engine(ls))

    @server.command(RUNTIME)
    async def runtime(ls, uri: str | None = None) -> dict:
        """What the server holds now (threads, asyncio tasks, memory, requests in flight), to see that
        faults and load leave nothing behind; with a document URI, the text as the server has it."""
        return runtime_report(ls, uri)

    @server.feature(t.SHUTDOWN)
    async def shutdown(ls, params: None) -> None:
        for task in list(ls.background) + list(ls.inflight.values()):
            task.cancel()
        if ls.backend is not None:
            await ls.backend.aclose()
        if getattr(ls, "watcher", None) is not None:
            ls.watcher.stop()
        if ls.ws is not None:
            ls.ws.close()


def forget_finished_handlers(protocol) -> None:
    """Stop pygls 2.1 from keeping every finished notification handler for the server's lifetime.

    pygls files the future of each notification handler, and of each step of its built-in handlers,
    in `_request_futures` under a random id that nothing removes: every didChange would leave a task,
    its coroutine and frames behind (measured: two futures per edit, for good). Each entry now goes
    once its future is done; a request's own entry still serves `$/cancelRequest` while it runs.

    The removal runs later on the event loop, never inside the done callback: pygls's futures are also
    concurrent.futures ones, whose callbacks run at once, even while shutdown walks the same dict."""
    execute = protocol._execute_handler
    futures = protocol._request_futures

    def execute_and_forget(msg_id, handler, callback, args=None, kwargs=None):
        execute(msg_id, handler, callback, args, kwargs)
        if (future := futures.get(msg_id)) is not None:
            loop = asyncio.get_running_loop()
            future.add_done_callback(lambda done: loop.call_soon_threadsafe(_forget, futures, msg_id, done))

    protocol._execute_handler = execute_and_forget


def _forget(futures: dict, msg_id, future) -> None:
    if futures.get(msg_id) is future:  # not a newer request that reused the id
        del futures[msg_id]


def _root(params: t.InitializeParams) -> Path | None:
    uri = params.workspace_folders[0].uri if params.workspace_folders else params.root_uri
    path = to_fs_path(uri) if uri else params.root_path
    return Path(path) if path else None


async def _load_configuration(ls, pushed: object = None) -> None:
    """Init options, then the client's `wholerepo` section (asked when the client can answer)."""
    section = pushed.get(CONFIG_SECTION) if isinstance(pushed, dict) else None
    capabilities = ls.client_capabilities.workspace
    if section is None and capabilities is not None and capabilities.configuration:
        try:
            answer = await asyncio.wait_for(
                ls.workspace_configuration_async(t.ConfigurationParams([t.ConfigurationItem(section=CONFIG_SECTION)])),
                timeout=5,
            )
            section = answer[0] if answer else None
        except Exception as error:  # noqa: BLE001 - a client that cannot answer keeps the init options
            ls.report(f"workspace/configuration unanswered ({error}); using initializationOptions")
    ls.settings = parse_settings(ls.init_options, section if isinstance(section, dict) else None)
    for problem in ls.settings.problems:
        ls.report(problem, t.MessageType.Warning)


async def build_index(ls) -> None:
    """Index the workspace in a worker thread (whose own workers are processes), reporting progress."""
    token = str(uuid.uuid4())
    progress = await _begin_progress(ls, token, "wholerepo: indexing")
    loop = asyncio.get_running_loop()
    last = [0.0]

    def report(done: int, total: int) -> None:  # called on the indexing thread
        now = time.monotonic()
        if progress and (now - last[0] >= PROGRESS_INTERVAL_S or done == total):
            last[0] = now
            percentage = int(100 * done / total) if total else 100
            message = f"{done}/{total} files"
            loop.call_soon_threadsafe(
                ls.work_done_progress.report, token, t.WorkDoneProgressReport(message=message, percentage=percentage)
            )

    ls.index_status = {"state": "indexing"}
    ls.send_status()
    try:
        stats = await asyncio.to_thread(ls.ws.build_index, report)
    except Exception as error:
        ls.index_status = {"state": "failed", "message": str(error)}
        ls.report(f"indexing failed: {error}", t.MessageType.Error)
        ls.index_ready.set()  # nobody waits forever for an index that will not come; they read the state
        ls.send_status()
        return
    finally:
        if progress:
            ls.work_done_progress.end(token, t.WorkDoneProgressEnd(message="done"))
    ls.index_status = {"state": "ready", "files": stats.files, "seconds": round(stats.seconds, 2)}
    ls.report(f"indexed {stats.files} files in {stats.seconds:.1f}s")
    ls.watcher = ls.ws.index.watch()
    ls.index_ready.set()
    ls.send_status()


async def prepare_context(ls, completer) -> None:
    """Once the index is built, let the completer count what large packs need, in the background."""
    if ls.index_ready is None:
        return
    await ls.index_ready.wait()
    if ls.index_status.get("state") != "ready":
        return
    try:
        tokens = await completer.prepare()
    except Exception as error:  # noqa: BLE001 - the first packs then count for themselves
        ls.report(f"preparing the context packer failed: {error}", t.MessageType.Warning)
        return
    ls.quiet_gc.worked()  # the warm caches are settled at the next quiet moment
    if tokens:
        ls.report(f"context packer ready: {tokens:,} tokens in the workspace")


async def settle_when_quiet(ls) -> None:
    """Collect and freeze the heap whenever the editor has been quiet a while (agent/quiet_gc.py)."""
    while True:
        await asyncio.sleep(QUIET_POLL_S)
        if (settled := ls.quiet_gc.settle_if_quiet()) is not None:
            log.info("heap settled while quiet: %.0f ms, %d objects frozen", settled.seconds * 1000, settled.frozen)


async def _begin_progress(ls, token: str, title: str) -> bool:
    window = ls.client_capabilities.window
    if window is None or not window.work_done_progress:
        return False
    try:
        await ls.work_done_progress.create_async(token)
    except Exception as error:  # noqa: BLE001 - a client that refuses the token still gets its index
        ls.report(f"no progress reporting: the client refused window/workDoneProgress/create ({error})")
        return False
    ls.work_done_progress.begin(token, t.WorkDoneProgressBegin(title=title, percentage=0, cancellable=False))
    return True


async def start_engine(ls) -> None:
    """Build the backend off the loop (the local one loads torch and weights)."""
    engine = ls.settings.engine
    ls.engine_status = {"state": "loading", "backend": engine.backend}
    ls.send_status()
    if ls.backend is not None:
        old, ls.backend, ls.completer = ls.backend, None, None
        await old.aclose()
    try:
        backend = await asyncio.to_thread(backend_from_settings, engine)
    except BackendError as error:
        ls.engine_status = {"state": "unavailable", "backend": engine.backend, "message": str(error)}
        ls.report(f"no model for completions: {error}", t.MessageType.Warning)
        ls.send_status()
        return
    ls.backend = backend
    if ls.ws is not None:
        ls.completer = completer = Completer(ls.ws, backend, ls.settings.completion)
        completer.health.listen(lambda health: _engine_health_changed(ls, completer, health))
        ls.spawn(prepare_context(ls, completer))
    info = backend.info
    ls.engine_status = {"state": "ready", "backend": info.backend, "model": info.model, "notes": list(info.notes)}
    ls.report(f"model ready: {info.backend} {info.model}" + "".join(f" ({note})" for note in info.notes))
    ls.send_status()


def _engine_health_changed(ls, completer: Completer, health) -> None:
    """The model started failing, fails differently, or answers again: the status and the log say so."""
    if ls.completer is not completer or ls.backend is None:
        return  # a replaced engine's late news
    info = ls.backend.info
    engine = {"backend": info.backend, "model": info.model, "notes": list(info.notes)}
    if health.healthy:
        ls.engine_status = {"state": "ready", **engine}
        ls.report(f"model answering again: {info.backend} {info.model}")
    else:
        ls.engine_status = {"state": "failing", **engine, "message": health.problem}
        wait = round(health.retry_in_s, 1)
        ls.report(f"completions paused: {health.problem}; trying the model again in {wait:g} s", t.MessageType.Warning)
    ls.send_status()


def runtime_report(ls, uri: str | None = None) -> dict:
    """Threads, asyncio tasks, resident memory, completion counters and the engine's health."""
    health = ls.completer.health if ls.completer is not None else None
    report: dict[str, object] = {
        "threads": threading.active_count(),
        "tasks": len(asyncio.all_tasks()),
        "rss_bytes": resident_bytes(),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "python_blocks": sys.getallocatedblocks(),  # flat while RSS grows: the growth is outside Python's objects
        "inflight": len(ls.inflight),
        "background": len(ls.background),
        "handler_futures": len(ls.protocol._request_futures),  # what pygls holds per message being handled
        "counters": dict(ls.counters),
        "gc": {
            "frozen": gc.get_freeze_count(),
            "settles": ls.quiet_gc.settles,
            "last_settle_ms": round(ls.quiet_gc.last.seconds * 1000, 1) if ls.quiet_gc.last else None,
        },
        "engine_health": None
        if health is None
        else {
            "healthy": health.healthy,
            "problem": health.problem,
            "failures": health.failures,
            "skipped": health.skipped,
            "retry_in_s": round(health.retry_in_s, 3),
        },
    }
    if tracemalloc.is_tracing():  # the server runs under PYTHONTRACEMALLOC: where Python's memory went
        top = tracemalloc.take_snapshot().statistics("lineno")[:10]
        report["heap_top"] = [f"{stat.size >> 10} KiB in {stat.count} blocks: {stat.traceback}" for stat in top]
    if uri is not None:
        document = ls.workspace.text_documents.get(uri)
        report["document"] = (
            None
            if document is None
            else {
                "version": document.version,
                "chars": len(document.source),
                "sha256": hashlib.sha256(document.source.encode("utf-8", "surrogatepass")).hexdigest(),
            }
        )
    return report


def resident_bytes() -> int:
    """The process's resident memory now (Linux /proc), else its peak."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
