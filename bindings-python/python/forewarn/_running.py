"""How running monitors meet the process's signals and its end."""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
from typing import Any, Iterator

from . import _native

__all__ = ["sigterm_stops"]

# Monitors still running in the background when the interpreter exits are stopped the
# graceful way (in-flight checks finish, states are written), waiting at most this long.
_STOP_AT_EXIT = 30.0
atexit.register(_native.stop_all, _STOP_AT_EXIT)


@contextlib.contextmanager
def sigterm_stops(native: "_native.Monitor") -> Iterator[None]:
    """While a monitor runs in the foreground of the main thread, SIGTERM (when its action is
    still the default, ending the process) stops it gracefully instead."""
    term = getattr(signal, "SIGTERM", None)
    if (
        term is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(term) is not signal.SIG_DFL
    ):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        _native.request_stop(native)

    signal.signal(term, stop)
    try:
        yield
    finally:
        signal.signal(term, signal.SIG_DFL)
