"""``python -m reanalysis``: see :mod:`reanalysis.cli`."""

import sys

from .cli import main

sys.exit(main())
