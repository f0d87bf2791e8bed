"""The cluster (writer) endpoint and the reader endpoint: TCP proxies that follow failovers.

Aurora's endpoints are DNS names; here they are fixed ports on 127.0.0.1 served by one asyncio
loop in one thread of the supervisor. The cluster manager publishes `Routes` whenever they
change; a connection whose instance left its endpoint (a dead or replaced writer, a promoted or
failed reader) is cut at once, so clients see the loss and reconnect to the new target. A new
connection that finds no target (a failover in progress) waits up to `hold_s` for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import itertools
import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from cluster.decide import ClusterView
from core.errors import BorealisError
from core.topology import Role

log = logging.getLogger(__name__)


class Endpoint(enum.StrEnum):
    WRITER = "writer"
    READER = "reader"


@dataclass(frozen=True)
class Backend:
    instance_id: str
    port: int


@dataclass(frozen=True)
class Routes:
    """Where each endpoint sends new connections; built by the manager, never changed."""

    writer: Backend | None = None
    readers: tuple[Backend, ...] = ()
    # Readers whose open connections may stay although they take no new ones right now (a
    # reader being repointed at a new writer); a dead, hung or promoted one is not here.
    running_readers: frozenset[str] = frozenset()

    def targets(self, endpoint: Endpoint) -> tuple[Backend, ...]:
        if endpoint is Endpoint.WRITER:
            return (self.writer,) if self.writer else ()
        # Aurora: with no replica available the reader endpoint points at the primary.
        return self.readers or ((self.writer,) if self.writer else ())

    def keeps(self, endpoint: Endpoint, backend: Backend) -> bool:
        """Whether an open connection through `endpoint` to `backend` may stay."""
        if endpoint is Endpoint.READER and backend.instance_id in self.running_readers:
            return True
        return backend in self.targets(endpoint)


def routes_from_view(view: ClusterView, ports: Mapping[str, int], writer_ok: bool) -> Routes:
    """The writer while it runs and no failover or reboot is under way (a hung writer stays a
    target until it is failed over, as in AWS); readers that are healthy right now."""
    writer = view.writer
    writer_backend = None
    if writer_ok and writer.process_alive and not writer.busy:
        writer_backend = Backend(writer.id, ports[writer.id])
    readers = tuple(Backend(i.id, ports[i.id]) for i in view.instances if i.healthy_reader)
    running = frozenset(
        i.id
        for i in view.instances
        if i.role is Role.READER and i.process_alive and (i.busy or not i.held)
    )
    return Routes(writer_backend, readers, running)


@dataclass(eq=False)  # compared and hashed by identity: links live in a set
class _Link:
    endpoint: Endpoint
    backend: Backend
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter

    def abort(self) -> None:
        for side in (self.client, self.server):
            transport = side.transport
            if transport is not None and not transport.is_closing():
                transport.abort()


@dataclass
class EndpointStats:
    connections_total: dict[str, int] = field(default_factory=dict)
    refused_total: dict[str, int] = field(default_factory=dict)
    cut_total: dict[str, int] = field(default_factory=dict)


class EndpointProxy:
    """Both endpoints on one event loop in one daemon thread."""

    def __init__(
        self,
        host: str,
        ports: Mapping[Endpoint, int],
        *,
        hold_s: float = 5.0,
        connect_timeout_s: float = 2.0,
    ) -> None:
        self.host = host
        self.ports = dict(ports)
        self.hold_s = hold_s
        self.connect_timeout_s = connect_timeout_s
        self.routes = Routes()
        self.stats = EndpointStats()
        self._links: set[_Link] = set()
        self._round_robin = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._routes_changed = asyncio.Event()
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(target=self._run, name="endpoints", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # --- from other threads ------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise BorealisError(f"cannot open the cluster endpoints: {self._error}")

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(5)

    def update(self, routes: Routes) -> None:
        """Publish new routes (thread-safe); cuts connections whose instance left."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._apply, routes)
        else:
            self.routes = routes

    def active_connections(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {e.value: {} for e in Endpoint}
        for link in list(self._links):
            per = counts[link.endpoint.value]
            per[link.backend.instance_id] = per.get(link.backend.instance_id, 0) + 1
        return counts

    # --- on the loop -------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            for endpoint, port in self.ports.items():
                server = self._loop.run_until_complete(
                    asyncio.start_server(
                        functools.partial(self._serve, endpoint),
                        self.host,
                        port,
                        reuse_address=True,
                    )
                )
                self._servers.append(server)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for link in list(self._links):
            link.abort()
        self._loop.stop()

    def _apply(self, routes: Routes) -> None:
        self.routes = routes
        self._routes_changed.set()
        self._routes_changed = asyncio.Event()
        for link in list(self._links):
            if not routes.keeps(link.endpoint, link.backend):
                log.info(
                    "%s endpoint: cutting a connection to %s (no longer a target)",
                    link.endpoint.value,
                    link.backend.instance_id,
                )
                self._count(self.stats.cut_total, link.endpoint)
                link.abort()

    def _pick(self, endpoint: Endpoint) -> Backend | None:
        targets = self.routes.targets(endpoint)
        if not targets:
            return None
        return targets[next(self._round_robin) % len(targets)]

    @staticmethod
    def _count(counter: dict[str, int], endpoint: Endpoint) -> None:
        counter[endpoint.value] = counter.get(endpoint.value, 0) + 1

    async def _open(
        self, endpoint: Endpoint
    ) -> tuple[Backend, asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to a current target, waiting up to hold_s for one to appear."""
        deadline = self._loop.time() + self.hold_s
        while True:
            backend = self._pick(endpoint)
            if backend is not None:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", backend.port),
                        self.connect_timeout_s,
                    )
                    if backend in self.routes.targets(endpoint):
                        return backend, reader, writer
                    writer.transport.abort()
                except (OSError, TimeoutError):
                    pass
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return None
            changed = self._routes_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    async def _serve(
        self, endpoint: Endpoint, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        opened = await self._open(endpoint)
        if opened is None:
            self._count(self.stats.refused_total, endpoint)
            client_w.transport.abort()
            return
        backend, server_r, server_w = opened
        self._count(self.stats.connections_total, endpoint)
        for side in (client_w, server_w):
            sock = side.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(endpoint, backend, client_w, server_w)
        self._links.add(link)
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            self._links.discard(link)
            link.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy bytes until either side goes away, then close both ends."""
    try:
        while True:
            data = await source.read(65536)
            if not data:
                break
            sink.write(data)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        transport = sink.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
