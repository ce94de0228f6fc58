"""`python -m authentic.training.container train --ml-root DIR`: the program the image's `train` shim runs."""

import sys

from authentic.training.container.program import main

sys.exit(main())
