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
  ``plots``, ``downloads`` (CSV/PNG/SVG/zip beside tables and figures);
- pages: ``report`` (study chapters), ``synthesis_report``;
- running: ``params``, ``pipeline`` and ``manifest`` (execute chapters, build the book), ``cli``
  and ``reconstruct_cli``.
"""

__version__ = "0.1.0"
