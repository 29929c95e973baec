"""``python -m onestory`` runs the command line."""

import sys

from onestory.cli import main

sys.exit(main())
