#!/usr/bin/env python3
"""Checks models/lexicon.json and records its sha256 in models/manifest.json (no retraining).

    python3 training/lexicon.py models/ ["a sentence to try" ...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from funnel_training.lexicon import main  # noqa: E402

main(sys.argv[1:])
