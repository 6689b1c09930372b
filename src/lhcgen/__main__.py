"""`python -m lhcgen ...` (and `torchrun -m lhcgen train ...`)."""

import sys

from lhcgen.cli import main

sys.exit(main())
