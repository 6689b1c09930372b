"""`python -m lhcgen.cli ...`"""

import sys

from lhcgen.cli import main

sys.exit(main())
