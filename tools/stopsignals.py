"""SIGINT, SIGTERM and SIGHUP end kernkit's long-running commands (``boot``, ``matrix``) the same
way: what is finished is kept (reports, history, a clean kernel shutdown that closes listeners),
workers are ended, and the exit status is 128 + the signal's number (130, 143, 129)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


class Stopped(KeyboardInterrupt):
    """A stop signal arrived: raised where the command can stop (it unwinds as Ctrl-C does)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum


def signum_of(exc: KeyboardInterrupt) -> int:
    return exc.signum if isinstance(exc, Stopped) else signal.SIGINT


def word(signum: int) -> str:
    """What the command says it was: "interrupted", "terminated", "hung up"."""
    return _WORDS.get(signum, "stopped")


def exit_status(signum: int) -> int:
    return 128 + signum


def raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def on_stop_signals(handler: Callable[[int, object], None] = raise_stopped) -> Iterator[None]:
    """Handle the stop signals with ``handler`` (by default: raise :class:`Stopped`) while inside;
    outside the main thread, where Python cannot take signals, nothing changes."""
    import threading  # here: kernkit --help, which imports this module, needs no threads

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
