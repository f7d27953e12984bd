"""Writing a file whole or not at all: the one way the package replaces a file it keeps.

A reader (another job, a web server, the next build) sees the old file or the new one, never
half of one: the bytes go into a new file beside the target, which is then renamed over it.
Nothing here imports more than the standard library's ``os``: ``manifest`` (the no-change
check) and ``buildstate`` (the book's lock) import it before anything heavier.
"""

from __future__ import annotations

import os
from pathlib import Path

NAME_TRIES = 100  # as tempfile: another random name when one is taken


def write_whole(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all, through ``.<name>.<random>.tmp`` beside it.

    The file gets the permissions any new file gets (0666 less the umask), not the 0600 of
    :func:`tempfile.mkstemp`: a book's notebooks and stamps, and a user's ``execute -o`` output,
    are read by others too (a shared checkout, a web server running as another user)."""
    for _ in range(NAME_TRIES):
        tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_aside(path: Path, data: bytes) -> None:
    """:func:`write_whole` for a file of the build's own that it can work out again (a cache, a
    record, a hint), its folder made if missing: a failure (a read-only checkout, a full disk) is
    ignored, and the next build works it out again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, data)
    except OSError:
        pass
