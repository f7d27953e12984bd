"""Sphinx extension: each page's navigation is rendered once, not twice.

pydata-sphinx-theme (under sphinx-book-theme) drops a sidebar template that renders to nothing:
for each page it renders every sidebar template once to find out, then again for the page. It
skips that check only for its own navigation templates; the book theme's navigation
(``sbt-sidebar-nav.html``) is always a ``<nav>`` element, never empty, and is the costly one:
the whole table of contents, resolved for the page (about 0.08 s a page at 64 studies, twice).
This adds it to the templates the check skips (``tests/test_site_ext.py``); the pages are the
same bytes.
"""

from __future__ import annotations

from typing import Any

NEVER_EMPTY = ("sbt-sidebar-nav.html",)  # the book theme's navigation: a <nav> on every page


def setup(app: Any) -> dict[str, Any]:
    from pydata_sphinx_theme import utils

    check = utils._update_and_remove_templates
    if not getattr(check, "nav_once", False):  # once per process, however many builds

        def update_and_remove_templates(
            app: Any, context: dict, templates: Any, section: str, templates_skip_empty_check: Any = None
        ) -> list[str]:
            skipped = [*(templates_skip_empty_check or ()), *NEVER_EMPTY]
            return check(app, context, templates, section, templates_skip_empty_check=skipped)

        update_and_remove_templates.nav_once = True  # type: ignore[attr-defined]
        utils._update_and_remove_templates = update_and_remove_templates
    return {"parallel_read_safe": True, "parallel_write_safe": True}
