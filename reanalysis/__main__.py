"""``python -m reanalysis``: see :mod:`reanalysis.cli`. A job of a build's workflow is run in a
process forked from the build's zygote when there is one (:mod:`reanalysis.warm`), which is
this module too, started as ``python -m reanalysis _zygote SOCKET``; the workflow itself is
``python -m reanalysis _snakemake ARGS`` (Snakemake's command line)."""

import sys

from . import warm

if sys.argv[1:2] == [warm.ZYGOTE_COMMAND] and len(sys.argv) == 3:
    from .cli import main

    warm.finish(warm.serve(sys.argv[2], main))  # returns in each forked job, with its status
if sys.argv[1:2] == ["_snakemake"]:  # the build's workflow (reanalysis.pipeline.snakemake_main)
    from .pipeline import snakemake_main

    snakemake_main(sys.argv[2:])
status = warm.run_forked("cli", sys.argv[1:])
if status is None:
    from .cli import main

    status = main()
sys.exit(status)
