#!/usr/bin/env python3
"""SageMaker runs the inference image as `serve`: this shim, the image's entry point."""

import sys

from authentic.inference.server import main

if __name__ == "__main__":
    sys.exit(main())
