"""Re-analysis of published studies of radiotherapy with immunotherapy in advanced HCC.

Modules: ``data`` and ``schema`` (load and validate extracted data), ``stats`` (tests, CIs,
GRIM, McNemar ranges, interactions), ``audit`` (printed vs recomputed, across studies),
``feasibility`` (counts behind printed percentages), ``radiobiology`` (BED/EQD2),
``reconstruct``, ``survival``, ``pseudo`` and ``validation`` (pseudo patient data from printed
summaries), ``meta`` and ``synthesis`` (random-effects pooling), ``tables``, ``plots``,
``downloads`` (CSV/PNG/SVG/zip beside tables and figures) and
``report`` (chapter sections), ``params``, ``pipeline`` and ``manifest`` (execute chapters, build
the book), ``cli``; ``patient`` (patient-level mode: ``schema``, ``synthetic`` cohorts, analyses in
``design``, ``descriptive``, ``survival``, ``matching``, ``subgroups``; response models in
``response_data``, ``models``, ``metrics``, ``explain``; chapter section ``report``).
"""

__version__ = "0.1.0"
