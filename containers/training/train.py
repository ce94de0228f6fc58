#!/usr/bin/env python3
"""SageMaker runs the training image as `train`: this file, installed as /opt/program/train."""

from __future__ import annotations

import sys

from authentic.training.program import main

if __name__ == "__main__":
    sys.exit(main())
