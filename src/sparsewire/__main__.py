"""``python -m sparsewire`` is the ``sparsewire`` command."""

import sys

from sparsewire.cli.main import main

sys.exit(main())
