"""The one thread that owns the engine, and admission to it.

An engine is one sequence with one KV cache (``backends/base.py``), so every job that may
touch it runs on a single worker thread, one after the other, in arrival order (a
one-thread executor is a FIFO queue). Two requests never share the cache; what they do
share, on purpose, is its prefix: ``speculative.decode.prefill`` keeps the cached tokens a
new prompt starts with (the fixed instructions, the same file edited again).

Merge-only jobs never touch the engine and run on the event loop's default thread pool
beside it, and so do the jobs of a remote engine (``--backend openai``): it holds no KV
cache, and the upstream batches concurrent requests itself. Both kinds count against one admission limit (``queue_size``): a request over
it is refused at once (429 with Retry-After) rather than queued without bound.

Cancellation is cooperative: a job gets a ``threading.Event`` and the model path checks it
after every forward pass (``on_step``), raising ``Cancelled``; a job whose client left
while it waited is dropped before it starts.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class Busy(Exception):
    """The admission limit is reached (429)."""


class NotReady(Exception):
    """The model is still loading or failed to load (503)."""


class Cancelled(Exception):
    """The client went away; raised between forward passes to stop the job."""


class EngineWorker:
    """Admission and execution for the jobs of one server.

    ``load`` (run once, on the worker thread, by ``start``) loads the model; until it
    returns, model jobs are refused with ``NotReady``. ``needs_model=False`` (a merge-only
    server) is ready at once and never loads anything.
    """

    def __init__(self, load: Callable[[], Any], *, queue_size: int, needs_model: bool, serial: bool = True) -> None:
        self._load = load
        self.serial = serial  # False for a remote engine: no KV cache here, the upstream batches
        self.queue_size = queue_size
        self.needs_model = needs_model
        self.state = "loading" if needs_model else "ready"
        self.error = ""
        self.admitted = 0  # touched only on the event loop's thread: no lock needed
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastapply-engine")

    def start(self) -> None:
        if self.needs_model:
            self._executor.submit(self._load_now)

    def _load_now(self) -> None:
        try:
            self._load()
            self.state = "ready"
        except Exception as exc:  # reported by /health and every model request
            self.state, self.error = "error", f"{type(exc).__name__}: {exc}"

    def admit(self, *, model: bool) -> None:
        """Take one admission slot or refuse; pair with ``release`` (``run`` does both)."""
        if model and self.state != "ready":
            raise NotReady(self.error or "the model is loading")
        if self.admitted >= self.queue_size:
            raise Busy(f"{self.admitted} requests are already admitted (queue size {self.queue_size})")
        self.admitted += 1

    def release(self) -> None:
        self.admitted -= 1

    async def run(self, job: Callable[[threading.Event], Any], cancel: threading.Event, *, model: bool) -> Any:
        """Run an admitted job (``admit`` first) and release its slot when it ends."""
        try:
            loop = asyncio.get_running_loop()
            executor = self._executor if model and self.serial else None
            return await loop.run_in_executor(executor, self._start_unless_cancelled, job, cancel)
        finally:
            self.release()

    @staticmethod
    def _start_unless_cancelled(job, cancel: threading.Event):
        if cancel.is_set():  # the client left while the job waited its turn
            raise Cancelled()
        return job(cancel)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
