"""``python -m reanalysis``: see :mod:`reanalysis.cli`. A job of a build's workflow is run in a
process forked from the build's zygote when there is one (:mod:`reanalysis.warm`), which is
this module too, started as ``python -m reanalysis _zygote SOCKET [site]``; the workflow itself is
``python -m reanalysis _snakemake ARGS`` (Snakemake's command line)."""

import sys

from . import warm

if sys.argv[1:2] == [warm.ZYGOTE_COMMAND] and sys.argv[2:3] and sys.argv[3:] in ([], [warm.SITE_ZYGOTE]):
    from .cli import main

    site = sys.argv[3:] == [warm.SITE_ZYGOTE]
    sys.exit(warm.serve(sys.argv[2], main, site=site))  # returns in each forked job, with its status
if sys.argv[1:2] == ["_snakemake"]:  # the build's workflow (reanalysis.pipeline.snakemake_main)
    from .pipeline import snakemake_main

    snakemake_main(sys.argv[2:])
status = warm.run_forked("cli", sys.argv[1:])
if status is None:
    from .cli import main

    status = main()
sys.exit(status)
