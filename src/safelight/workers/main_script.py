"""Runs the calling script in the forkserver, as CPython's "__main__" preload should.

Kept apart from ``server.py`` so the parent can name the variable without importing (and
running) the server's preload. See ``processes.start_forkserver`` for why.
"""

from __future__ import annotations

import os
import sys

MAIN_PATH_VARIABLE = "SAFELIGHT_FORKSERVER_MAIN"


def preload_main() -> bool:
    """Import the script named by the variable as ``__mp_main__`` (True if it is now loaded).

    Workers forked afterwards find ``__main__`` already set to that file and skip re-running
    it (``multiprocessing.spawn._fixup_main_from_path``). A script that fails here is left to
    each worker to run, as without the preload.
    """
    path = os.environ.pop(MAIN_PATH_VARIABLE, None)
    if not path:
        return False
    if getattr(sys.modules["__main__"], "__file__", None) == path:
        return True  # a CPython with the fix preloaded it already
    from multiprocessing import process, spawn

    current = process.current_process()
    current._inheriting = True  # type: ignore[attr-defined]  # as forkserver.main does
    try:
        spawn.import_main_path(path)
    except Exception:  # noqa: BLE001 - workers will run it (and report) themselves
        return False
    finally:
        del current._inheriting  # type: ignore[attr-defined]
    return True
