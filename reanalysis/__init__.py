"""Re-analysis of published studies of radiotherapy with immunotherapy in advanced HCC.

Modules, in import order (data → checks → artefacts → pages → CLI):

- data: ``vocabulary`` (names shared by parameters, checks and pages), ``printed`` (printed
  values with their precision), ``data`` and ``schema`` (load and validate extracted data);
- checks: ``stats`` (tests, CIs, GRIM, McNemar ranges, interactions), ``checks`` (the typed
  :class:`~reanalysis.checks.Check` record and one module per family of checks, run from a
  registry), ``audit`` (every check across studies, and cross-study summaries), ``rates``
  (response rates with CIs), ``feasibility``, ``radiobiology`` (BED/EQD2), ``recon_inputs``,
  ``recon_model``, ``reconstruct``, ``survival``, ``pseudo`` and ``validation`` (pseudo patient
  data from printed summaries),
  ``meta`` and ``synthesis`` (random-effects pooling); ``patient`` (patient-level mode:
  ``schema``, ``synthetic`` cohorts, analyses in ``design``, ``descriptive``, ``survival``,
  ``matching``, ``subgroups``; response models in ``response_data``, ``models``, ``metrics``,
  ``explain``; chapter section ``report``);
- artefacts: ``text`` (text from data escaped for HTML, Markdown and spreadsheets),
  ``outputs`` (one builder per standard table), ``tables`` (the renderer),
  ``plots`` (the figure builders), ``figures`` (the style, layout and showing of a figure),
  ``downloads`` (CSV/PNG/SVG/zip beside tables and figures);
- pages: ``report`` (study chapters), ``synthesis_report``;
- running: ``params``, ``pipeline`` and ``manifest`` (execute chapters, build the book),
  ``warm`` (jobs and kernels forked from one process that has imported the stack), ``kernels``
  (a chapter's kernel over Unix sockets), ``cli`` and ``reconstruct_cli``.
"""

import os
import sys

__version__ = "0.1.0"


def _matplotlib_folder_of_this_environment() -> None:
    """Point Matplotlib at a folder of this Python environment (``<venv>/var/matplotlib``) for
    its font list and settings, instead of the user-wide ``~/.cache/matplotlib``, which every
    environment with the same Matplotlib version shares. That list names font files by path: a
    half-installed environment elsewhere once wrote one without Matplotlib's own fonts, and
    this book's next figures were drawn with other fonts, other bytes. (A user's
    ``~/.config/matplotlib/matplotlibrc`` is left out too; the figures have their own style.)

    Only inside a virtual environment whose folder can be made and written, and only when
    ``MPLCONFIGDIR`` is not set: a user's choice stands. Here, because this runs before any of
    the package's modules imports Matplotlib; chapters' kernels and a build's jobs inherit it."""
    if "MPLCONFIGDIR" in os.environ or sys.prefix == sys.base_prefix:
        return
    folder = os.path.join(sys.prefix, "var", "matplotlib")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return
    if os.access(folder, os.W_OK | os.X_OK):
        os.environ["MPLCONFIGDIR"] = folder


_matplotlib_folder_of_this_environment()
