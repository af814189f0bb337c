"""Runs documentation blocks (Python snippets, `tfds ...` command lines) each in a process of its
own, without paying TensorFlow's import for each.

`BlockRunner` starts this file as a server: it imports TensorFlow, tensorflow_datasets and TFDS's
command line once (about 5 s of CPU), never `tfds_builders`, then forks a fresh child per request.
A child is a copy of a process that has run nothing but those imports, so a block sees what it
would see as `python block.py` or as the `tfds` console script (whose entry point is the
`launch_cli` called here): nothing registered that the block does not import itself, its own
environment, working directory, `sys.argv` and stdout/stderr, and a normal interpreter exit
(atexit handlers run). TFDS reads its default data dir (`TFDS_DATA_DIR`) once, at import: it is
always the same path, a symbolic link that each request points at a data dir of its own.

A Python block runs statement by statement in one namespace, as a script runs; before each
top-level statement the child writes a marker line to stdout, so the output of each statement
can be told apart. A bare expression named in `shown` is evaluated as a REPL would, and its value
(its repr, or a rendering given with it) is written after a marker of its own.

Network: the server is started with `sitecustomize` from `no_network_dir()` on PYTHONPATH, which
refuses every address but this machine's (the GCS emulator runs on 127.0.0.1); its children and
any process they start (Beam's workers) inherit it.
"""

import ast
import builtins
import json
import os
import pathlib
import re
import select
import signal
import subprocess
import sys
import time
import traceback

MARKER = "\x1e"

def no_network_dir(parent: pathlib.Path) -> pathlib.Path:
  # Here, not at the top: this file also runs as the server, where `support` is not a package.
  from support import loopback
  return loopback.sitecustomize_dir(parent)


class Result:
  """What a child did: exit code, stdout, stderr and, for Python, each statement's output."""

  def __init__(self, returncode, stdout, stderr):
    self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
    # [(kind, line, text)], kind "statement" (output of the statement starting at `line`) or
    # "shown" (the value of the bare expression at `line`).
    self.outputs = [(kind, int(line), text) for kind, line, text in re.findall(
        MARKER + r"(statement|shown) (\d+)\n([^" + MARKER + "]*)", stdout)]

  def __repr__(self):
    return (f"exit code {self.returncode}\n--- stdout (last 3000 characters)\n"
            f"{self.stdout[-3000:]}\n--- stderr (last 6000 characters)\n{self.stderr[-6000:]}")


class BlockRunner:
  """The client: `run_python(...)` and `run_argv(...)` return a `Result`."""

  def __init__(self, workdir: pathlib.Path, env: dict):
    self.workdir = pathlib.Path(workdir)
    self.workdir.mkdir(parents=True, exist_ok=True)
    # TFDS_DATA_DIR is read at import (and is the `tfds` command's --data_dir default): one
    # path for every child, pointed at each request's own folder.
    self.default_data_dir = self.workdir / "default_data_dir"
    self.base_env = dict(env, PYTHONPATH=str(no_network_dir(self.workdir)),
                         TFDS_DATA_DIR=str(self.default_data_dir))
    self.log = open(self.workdir / "server.log", "w")
    self.process = subprocess.Popen(
        [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self.log, env=self.base_env, cwd=self.workdir, text=True)
    self._answer(timeout=300)  # "ready", once the imports are done
    self.count = 0

  def env(self, **overrides):
    """The environment a block runs with: the server's (network refused), plus `overrides`."""
    return dict(self.base_env, **overrides)

  def run_python(self, source, *, cwd, env, data_dir, shown=None, timeout=600) -> Result:
    """`source` as `python block.py` in `cwd`, with `data_dir` as TFDS's default data dir;
    `shown` maps lines of bare expressions to None (show the repr) or to an expression over `_`
    (the value) that renders it."""
    return self._request({"kind": "python", "source": source, "shown": shown or {}},
                         cwd=cwd, env=env, data_dir=data_dir, timeout=timeout)

  def run_argv(self, argv, *, cwd, env, data_dir, merge=False, timeout=600) -> Result:
    """A command line already split into words: `tfds ...` runs TFDS's command line in a child,
    `python -m MODULE ...` the module; anything else is exec'd as it is (found on PATH). With
    `merge`, stderr goes into stdout, in the order written, as on a terminal."""
    return self._request({"kind": "argv", "argv": list(argv), "merge": merge}, cwd=cwd, env=env,
                         data_dir=data_dir, timeout=timeout)

  def _request(self, request, *, cwd, env, data_dir, timeout):
    assert env.get("TFDS_DATA_DIR") == str(self.default_data_dir), "use data_dir="
    pathlib.Path(data_dir).mkdir(parents=True, exist_ok=True)
    link = self.workdir / "default_data_dir.new"
    link.unlink(missing_ok=True)
    link.symlink_to(pathlib.Path(data_dir).resolve(), target_is_directory=True)
    os.replace(link, self.default_data_dir)
    self.count += 1
    out = self.workdir / f"{self.count}.stdout"
    err = self.workdir / f"{self.count}.stderr"
    request.update(cwd=str(cwd), env=env, stdout=str(out), stderr=str(err), timeout=timeout,
                   script=str(self.workdir / f"{self.count}_block.py"))
    self.process.stdin.write(json.dumps(request) + "\n")
    self.process.stdin.flush()
    answer = self._answer(timeout=timeout + 60)
    stderr = err.read_text(errors="replace") if err.exists() else ""
    if answer["returncode"] == "timeout":
      stderr += f"\n[killed: still running after {timeout} s]"
    return Result(answer["returncode"], out.read_text(errors="replace"), stderr)

  def _answer(self, timeout):
    ready, _, _ = select.select([self.process.stdout], [], [], timeout)
    line = self.process.stdout.readline() if ready else ""
    if not line:
      self.close()
      raise RuntimeError("the block runner stopped answering; its log:\n"
                         + (self.workdir / "server.log").read_text()[-5000:])
    return json.loads(line)

  def close(self):
    if self.process.poll() is None:
      self.process.stdin.close()
      try:
        self.process.wait(timeout=30)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()
    self.log.close()


# --- the server -------------------------------------------------------------------------------

def _serve():
  answers = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)  # whatever the imports print goes to the log, not into the answers
  sys.path.pop(0)  # this folder: a block imports only what it would import as a script
  import tensorflow  # noqa: F401
  import tensorflow_datasets  # noqa: F401
  from tensorflow_datasets.scripts.cli import main  # noqa: F401  (Beam, mlcroissant, ...)
  assert "tfds_builders" not in sys.modules and "gcsfs" not in sys.modules
  answers.write(json.dumps({"ready": True}) + "\n")
  answers.flush()
  for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
      answers.close()
      _child(request)  # never returns
    answers.write(json.dumps({"returncode": _wait(pid, request["timeout"])}) + "\n")
    answers.flush()


def _wait(pid, timeout):
  deadline = time.monotonic() + timeout
  while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
      try:
        os.killpg(pid, signal.SIGKILL)  # what the child left running (none, normally)
      except ProcessLookupError:
        pass
      return os.waitstatus_to_exitcode(status)
    if time.monotonic() > deadline:
      os.killpg(pid, signal.SIGKILL)
      os.waitpid(pid, 0)
      return "timeout"
    time.sleep(0.05)


def _child(request):
  code = 1
  try:
    os.setpgid(0, 0)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, name in ((1, "stdout"), (2, "stderr")):
      if request.get("merge") and fd == 2:
        os.dup2(1, 2)
        sys.stdout.reconfigure(line_buffering=True)  # as on a terminal
        continue
      target = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
      os.dup2(target, fd)
      os.close(target)
    if request["kind"] == "python":
      code = _run_python(request)
    else:
      code = _run_argv(request["argv"])
  except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if not isinstance(e.code, (int, type(None))):
      print(e.code, file=sys.stderr)
  except BaseException:  # noqa: BLE001  (reported as a script's uncaught exception is)
    traceback.print_exc()
    code = 1
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
  # A normal exit from here, so that atexit handlers run as they would in a script; SystemExit
  # cannot be caught on the way out: nothing above this call in the child catches it.
  sys.exit(code)


def _run_python(request):
  path = pathlib.Path(request["script"])
  path.write_text(request["source"])
  sys.argv = [str(path)]
  sys.path.insert(0, str(path.parent))
  tree = ast.parse(request["source"], str(path))
  namespace = {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins}
  shown = {int(line): render for line, render in request["shown"].items()}
  for statement in tree.body:
    if isinstance(statement, ast.Expr) and statement.lineno in shown:
      value = eval(compile(ast.Expression(statement.value), str(path), "eval"), namespace)
      render = shown.pop(statement.lineno)
      text = repr(value) if render is None else eval(render, {"_": value})  # noqa: S307
      sys.stdout.write(f"{MARKER}shown {statement.lineno}\n{text}\n")
    else:
      sys.stdout.write(f"{MARKER}statement {statement.lineno}\n")
      exec(compile(ast.Module([statement], type_ignores=[]), str(path), "exec"), namespace)
    sys.stdout.flush()
  if shown:
    raise AssertionError(f"lines {sorted(shown)} are not bare expressions of the block")
  return 0


def _run_argv(argv):
  if argv[0] == "tfds":
    sys.argv = argv
    from tensorflow_datasets.scripts.cli.main import launch_cli
    launch_cli()  # app.run: exits with the command's code
    return 0
  if argv[0] in ("python", "python3") and len(argv) > 2 and argv[1] == "-m":
    import runpy
    sys.argv = argv[2:]
    runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    return 0
  sys.stdout.flush()
  sys.stderr.flush()
  os.execvp(argv[0], argv)


if __name__ == "__main__":
  _serve()
