"""Preloaded last into the forkserver: runs the calling script there, once.

Every worker then forks with it imported, instead of re-running it (``main_script``).
"""

from __future__ import annotations

from safelight.workers.main_script import preload_main

preload_main()
