"""Progress for long operations: a bar on a terminal, nothing at all when output is piped.

Drawn on stderr and only when both stdout and stderr are terminals, so a redirected or
piped command prints exactly its output and a script never sees a bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")


def on_terminal(screen: Console) -> bool:
    return Console().is_terminal and screen.is_terminal


class Stages:
    """The stages of one long operation, each a bar (pulsing when its length is unknown)."""

    def __init__(self, bar: Progress | None) -> None:
        self.bar = bar

    def track(
        self, items: Iterable[T], description: str, total: int | None = None, then: str = ""
    ) -> Iterator[T]:
        """The items, one by one, advancing a bar; `then` names the stage that follows."""
        if self.bar is None:
            yield from items
            return
        task = self.bar.add_task(description, total=total)
        for item in items:
            yield item
            self.bar.advance(task)
        self.bar.update(task, total=self.bar.tasks[-1].completed)
        if then:
            self.bar.add_task(then, total=None)


@contextmanager
def steps(screen: Console | None = None) -> Iterator[Stages]:
    screen = screen or Console(stderr=True)
    if not on_terminal(screen):
        yield Stages(None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=screen, transient=True) as bar:
        yield Stages(bar)


def tracked(
    items: Iterable[T], description: str, total: int | None = None, screen: Console | None = None
) -> Iterator[T]:
    """The items, one by one, advancing a bar of their own."""
    with steps(screen) as stages:
        yield from stages.track(items, description, total)


@contextmanager
def working(description: str, screen: Console | None = None) -> Iterator[None]:
    """A pulsing bar, with the time elapsed, while a step of unknown length runs."""
    with steps(screen) as stages:
        if stages.bar is not None:
            stages.bar.add_task(description, total=None)
        yield


def counter(stages: Stages, description: str) -> Callable[[int], None] | None:
    """A bar counting up to a number it is told (None when no bar is drawn)."""
    bar = stages.bar
    if bar is None:
        return None
    task = bar.add_task(description, total=None)
    return lambda done: bar.update(task, completed=done)


@contextmanager
def reaching(screen: Console, description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A bar told (done, total) as it goes, e.g. a rebuild up to the head."""
    with steps(screen) as stages:
        if stages.bar is None:
            yield None
            return
        bar = stages.bar
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
