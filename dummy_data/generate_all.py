"""Regenerates every builder's dummy data: runs each `dummy_data/<builder>/generate.py`."""

import pathlib
import runpy

ROOT = pathlib.Path(__file__).resolve().parent

if __name__ == "__main__":
  for script in sorted(ROOT.glob("*/generate.py")):
    print("generating", script.parent.name)
    runpy.run_path(str(script), run_name="__main__")
