"""Re-analysis of published studies of radiotherapy with immunotherapy in advanced HCC.

Modules: ``data`` (load and validate extracted data), ``schema`` (pandera schemas),
``stats`` (tests, CIs, GRIM), ``audit`` (printed vs recomputed), ``tables`` and ``plots``
(display), ``params`` (chapter parameters), ``pipeline`` (execute chapters, build the book).
"""

__version__ = "0.1.0"
