"""The server's process-wide state: the cyclic garbage collector is never switched off from a
worker thread or under a running event loop (a command's main thread may pause it)."""

from __future__ import annotations

import asyncio
import gc
import threading

from storage.snapshots import paused_gc


def test_paused_gc_pauses_collection_on_a_commands_main_thread():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_gc_leaves_collection_on_in_a_worker_thread():
    seen: list[bool] = []

    def work() -> None:
        with paused_gc():
            seen.append(gc.isenabled())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [True]
    assert gc.isenabled()


def test_paused_gc_leaves_collection_on_while_an_event_loop_runs():
    async def serve() -> list[bool]:
        inside = []
        with paused_gc():
            inside.append(gc.isenabled())
        inside.append(await asyncio.to_thread(lambda: _in_thread()))
        return inside

    def _in_thread() -> bool:
        with paused_gc():
            return gc.isenabled()

    assert asyncio.run(serve()) == [True, True]
    assert gc.isenabled()
