"""Process limits: every generator and server process raises its file limit."""

from __future__ import annotations

import resource


def raise_nofile(want: int = 65536) -> int:
    """Raise RLIMIT_NOFILE's soft limit as far as the hard limit allows; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
