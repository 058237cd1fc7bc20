"""Import chapters/course.py, the helpers the notebooks share, for testing."""

import importlib
import sys
from pathlib import Path

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


def load():
    if str(CHAPTERS) not in sys.path:
        sys.path.insert(0, str(CHAPTERS))
    return importlib.import_module("course")
