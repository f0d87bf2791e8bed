"""A background thread that runs until asked to stop: the shape of every collector loop."""

from __future__ import annotations

import threading


class Worker:
    """Subclasses implement `_run`, which returns once `self._stop` is set."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError
