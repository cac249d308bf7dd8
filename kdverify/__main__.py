"""``python -m kdverify`` runs the command line."""

import sys

from kdverify.cli import main

sys.exit(main())
