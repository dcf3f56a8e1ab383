"""Files that hold credentials: created readable by their owner only, from the first byte.

Writing a file and then `chmod`-ing it leaves a moment in which it has the umask's mode (often 0644)
and any user of the machine can read the password in it.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Create (or truncate) `path` with mode 0600 and write `text`; an existing file keeps its inode but
    gets mode 0600 before anything is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode applies to new files only
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(text)
    finally:
        if fd != -1:
            os.close(fd)
