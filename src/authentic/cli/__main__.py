"""`python -m authentic.cli ...`: the `authentic` command."""

import sys

from authentic.cli.main import main

sys.exit(main())
