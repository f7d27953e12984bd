"""Sphinx extension: the theme's page templates compiled once, not on every site build.

Jinja compiles each template (the theme's layout, sidebar and navigation: about forty) to
Python code the first time a process renders it; each site build is a new process, so every
build compiled them again (about 0.45 s of a site step). Jinja's own bytecode cache keeps the
compiled code in the site's work folder, keyed by the template's name and a checksum of its
source: a changed or new template is compiled again, and what a page renders is the same
(``tests/test_site_ext.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FOLDER = ".templates"  # beside the doctrees, in the work folder: never copied into the site


def _use_cache(app: Any) -> None:
    from jinja2 import FileSystemBytecodeCache

    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is None:  # a builder without HTML templates
        return
    folder = Path(app.doctreedir).parent / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _use_cache)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
