"""Deriving rows in worker processes, for a catch-up far behind (a rebuild, the first
query after a large import): the fold is CPU-bound Python, one core per process.

Workers read the committed events (and believed rows) on their own connections and
send back batches of writes; the catching-up process writes them in its one
transaction. Each customer is derived by exactly one worker, from committed data the
transaction has not touched, so the writes are those `derive` makes in process.

Workers are plain subprocesses speaking pickle over their stdin and stdout, not a
`multiprocessing` pool: that would import the caller's main module again in each
worker, which re-runs any script without a `__main__` guard.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from ledger.domain.errors import StoreUnavailable, first_line
from ledger.domain.timeline import Timeline
from projections.read_model.derive import EventSql, Writes, derive, follow, no_beliefs
from projections.read_model.sql import CursorRaw, Raw
from projections.read_model.tables import engine

PARALLEL = 60_000
"""Positions from which a catch-up derives in worker processes: below, starting them
(half a second) costs more than it saves."""
WORKERS = 2
# `import ledger` first: the package imports the application, which imports this module.
_SERVE = "from projections.read_model.parallel import serve; serve()"


@dataclass(frozen=True)
class _Failed:
    message: str


def workers(url: URL, positions: int) -> int:
    """How many worker processes a catch-up over `positions` positions should use."""
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    count = min(WORKERS, os.cpu_count() or 1)
    return count if not in_memory and positions >= PARALLEL and count > 1 else 0


def derived(
    url: URL,
    sql: EventSql,
    chunks: Sequence[Sequence[str]],
    done: int,
    ends: Sequence[int],
    count: int,
) -> Generator[Writes, None, None]:
    """`derive` of each chunk of customers, in order, computed by `count` workers. Chunk
    i goes to worker i % count, which gets its next chunk as soon as it hands this one
    back (so it never blocks writing while being written to)."""
    address = url.render_as_string(hide_password=False)
    processes = [_start(address) for _ in range(min(count, len(chunks)))]
    jobs = [(sql, list(chunk), done, list(ends)) for chunk in chunks]
    finished = False
    try:
        for number, process in enumerate(processes):
            _send(process, jobs[number])
        for number in range(len(jobs)):
            process = processes[number % len(processes)]
            result = _receive(process)
            if number + len(processes) < len(jobs):
                _send(process, jobs[number + len(processes)])
            yield result
        finished = True
    finally:
        for process in processes:
            _stop(process, finished)


def serve() -> None:
    """A worker's loop: derive each job read from stdin, write the result to stdout.
    Without the cyclic garbage collector: the jobs and results make no cycles, and
    reference counting frees each job's objects (a worker stayed at about 120 MiB over
    the 50 jobs of a 100k rebuild), where a collection would scan them for nothing."""
    gc.disable()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by accident goes to stderr, not into the results
    # The URL comes first on stdin, never on the command line: `ps` would show its password.
    database = engine(make_url(pickle.load(sys.stdin.buffer)))
    while True:
        try:
            job = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        result: Writes | _Failed
        if isinstance(job, Folded):
            result = job.writes()
        else:
            sql, customers, done, ends = job
            try:
                with database.connect() as conn:
                    result = derive(Raw(conn), sql, customers, done, ends)
            except DBAPIError as exc:
                result = _Failed(f"cannot read the ledger: {first_line(exc.orig or exc)}")
        pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


@dataclass(frozen=True)
class Folded:
    """New customers' timelines an import folded, to derive rows from (`read_model_inline`):
    they have no rows yet, and their rows are believed from `stop`."""

    timelines: list[tuple[str, Timeline]]
    stop: int
    sqlite: bool

    def writes(self) -> Writes:
        writes, days = Writes(), CursorRaw(None, self.sqlite)  # only its dates are used
        for customer, timeline in self.timelines:
            follow(customer, timeline, no_beliefs([customer])[customer], self.stop, writes, days)
        return writes


class Helpers:
    """Worker processes deriving the rows of `Folded` jobs while an import folds on; the
    results come back in the order the jobs went out."""

    def __init__(self, url: URL, count: int) -> None:
        address = url.render_as_string(hide_password=False)
        self.processes = [_start(address) for _ in range(count)]
        self.sent = self.received = 0

    def send(self, job: Folded) -> None:
        _send(self.processes[self.sent % len(self.processes)], job)
        self.sent += 1

    @property
    def waiting(self) -> int:
        return self.sent - self.received

    def receive(self) -> Writes:
        result = _receive(self.processes[self.received % len(self.processes)])
        self.received += 1
        return result

    def close(self) -> None:
        for process in self.processes:
            _stop(process, self.waiting == 0)


def _start(address: str) -> subprocess.Popen[bytes]:
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )
    _send(process, address)
    return process


def _send(process: subprocess.Popen[bytes], job: Any) -> None:
    pickle.dump(job, _pipe(process.stdin), protocol=pickle.HIGHEST_PROTOCOL)
    _pipe(process.stdin).flush()


def _receive(process: subprocess.Popen[bytes]) -> Writes:
    try:
        result = pickle.load(_pipe(process.stdout))
    except EOFError:
        raise StoreUnavailable("a worker process of the read model stopped") from None
    if isinstance(result, _Failed):
        raise StoreUnavailable(result.message)
    assert isinstance(result, Writes)
    return result


def _stop(process: subprocess.Popen[bytes], finished: bool) -> None:
    """Ends a worker: at the end of its jobs it returns by itself, otherwise it is killed
    (the catch-up failed or was interrupted; its transaction is rolled back)."""
    try:
        _pipe(process.stdin).close()
        process.wait(timeout=10 if finished else 0)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
    _pipe(process.stdout).close()


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None
    return stream
