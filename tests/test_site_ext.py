"""The book's own Sphinx extensions (``book/_ext``) that do not need a built site."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parent.parent / "book" / "_ext"
_spec = importlib.util.spec_from_file_location("nav_once", EXT / "nav_once.py")
nav_once = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nav_once)


class _Templates:
    def __init__(self) -> None:
        self.rendered: list[str] = []

    def render(self, template: str, context: dict) -> str:
        self.rendered.append(template)
        return "" if template == "empty.html" else "<p>x</p>"


class _App:
    def __init__(self) -> None:
        self.builder = type("Builder", (), {"templates": _Templates()})()


@pytest.fixture
def utils(monkeypatch):
    from pydata_sphinx_theme import utils

    monkeypatch.setattr(utils, "_update_and_remove_templates", utils._update_and_remove_templates)
    nav_once.setup(None)
    nav_once.setup(None)  # a second build in the same process wraps it once
    return utils


def test_the_navigation_is_not_rendered_to_check_it_is_empty(utils):
    """pydata-sphinx-theme renders each sidebar template to drop empty ones; the book theme's
    navigation is never empty and is not rendered for the check (it is rendered for the page);
    an empty template is still dropped and pydata's own skipped templates stay skipped."""
    app = _App()
    kept = utils._update_and_remove_templates(
        app=app,
        context={},
        templates=["sbt-sidebar-nav.html", "empty.html", "icon-links.html", "navbar-nav.html"],
        section="sidebars",
        templates_skip_empty_check=["navbar-nav.html"],
    )
    assert kept == ["sbt-sidebar-nav.html", "icon-links.html", "navbar-nav.html"]
    assert app.builder.templates.rendered == ["empty.html", "icon-links.html"]


def test_the_site_numbers_no_figures():
    """The book's Sphinx configuration as jupyter-book makes it: ``numfig`` off, and not turned
    back on by the LaTeX extension's hook (which it does for every builder), so that a site build
    does not walk every page's doctree to number figures that are HTML."""
    from jupyter_book.config import get_final_config

    root = EXT.parent.parent
    cli = {"latex_individualpages": False}  # what `jupyter-book build` passes
    config, _ = get_final_config(user_yaml=root / "_config.yml", cli_config=cli, sourcedir=root)
    assert config["numfig"] is False
    assert "sphinx_jupyterbook_latex" not in config["extensions"]
