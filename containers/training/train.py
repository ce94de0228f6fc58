#!/usr/bin/env python3
"""SageMaker runs the training image as `train`: this shim, installed as /opt/program/train."""

import sys

from authentic.training.container.program import main

if __name__ == "__main__":
    sys.exit(main())
