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


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compiled_templates_are_kept_beside_the_doctrees_and_follow_their_source(tmp_path):
    """A template compiled by one site build is read back by the next (a new process, here a
    new environment), renders the same, and a changed template is compiled again."""
    from jinja2 import FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment

    template_cache = _load("template_cache")
    source = tmp_path / "theme"
    source.mkdir()
    page = "<h1>{{ title|e }}</h1>{% for x in items %}<li>{{ x }}</li>{% endfor %}"
    (source / "page.html").write_text(page)
    out = tmp_path / "work" / "_build"

    def render() -> str:
        environment = SandboxedEnvironment(loader=FileSystemLoader(str(source)))
        app = type("App", (), {"doctreedir": str(out / ".doctrees")})()
        app.builder = type("Builder", (), {"templates": type("T", (), {"environment": environment})()})()
        template_cache._use_cache(app)
        return environment.get_template("page.html").render(title="<b>", items=[1, 2])

    plain = SandboxedEnvironment(loader=FileSystemLoader(str(source))).get_template("page.html")
    assert render() == plain.render(title="<b>", items=[1, 2]) == "<h1>&lt;b&gt;</h1><li>1</li><li>2</li>"
    kept = list((out / template_cache.FOLDER).iterdir())
    assert len(kept) == 1  # in the work folder, not in the site (out / "html")
    assert render() == "<h1>&lt;b&gt;</h1><li>1</li><li>2</li>"  # read back
    (source / "page.html").write_text("<h2>{{ title|e }}</h2>")
    assert render() == "<h2>&lt;b&gt;</h2>"  # a changed template is compiled again
    # no builder templates (e.g. a LaTeX build): nothing to do
    template_cache._use_cache(type("App", (), {"builder": object(), "doctreedir": str(out)})())
