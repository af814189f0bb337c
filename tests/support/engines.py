"""The engines Beam runs on, as the project's own installer (.ci/engines) put them on this
machine. Tests only ask for what is installed: installing reaches Go's module proxy, outside this
machine, so the README's test command installs first (`.ci/engines .venv/bin/python prism`)."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def installed(engine: str) -> pathlib.Path:
  done = subprocess.run([str(REPO / ".ci" / "engines"), "--installed", sys.executable, engine],
                        capture_output=True, text=True, timeout=120)
  assert done.returncode == 0, done.stderr
  [line] = [l for l in done.stdout.splitlines() if l.startswith(f"{engine}=")]
  path = pathlib.Path(line.split("=", 1)[1])
  assert path.is_file(), f"{engine}: .ci/engines printed {path}, which is not a file"
  return path
