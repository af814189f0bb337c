"""Every notebook runs top to bottom on the bundled sample sources, in a real Jupyter kernel, and
leaves nothing behind."""

import importlib.util
import os
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


# What each notebook must print when it ran on the bundled sample sources.
EXPECTED = {
    "mnist_keras.ipynb": ["test accuracy", "on 12 images"],
    "smallnorb_explorer.ipynb": ["8 pairs indexed", "shown: train_00002",
                                 "turntable azimuths: [0, 20, 40, 60]"],
    "imagenet_setup.ipynb": ["devkit: ILSVRC2012_devkit_t12.tar.gz",
                             "ILSVRC2012_img_val.tar.crdownload: an unfinished download",
                             "{'train': 21, 'validation': 7, 'test': 4}",
                             "ILSVRC2012_val_00000001.JPEG (52, 36, 3) n01751748 - sea snake"],
}


def test_every_notebook_is_tested():
  assert sorted(p.name for p in NOTEBOOKS) == sorted(EXPECTED)


def test_notebooks_are_what_make_notebooks_writes(tmp_path):
  spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOK_DIR / "make_notebooks.py")
  make_notebooks = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(make_notebooks)
  make_notebooks.main(tmp_path)
  for path in NOTEBOOKS:
    assert (tmp_path / path.name).read_text() == path.read_text(), (
        f"notebooks/{path.name} is stale: run `python notebooks/make_notebooks.py`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path):
  notebook = nbformat.read(path, as_version=4)
  client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}})
  # The kernel's temporary folder is one of the test's own, so that what a notebook leaves in it
  # can be seen (and nothing is left in the machine's /tmp).
  kernel_tmp = tmp_path / "kernel_tmp"
  kernel_tmp.mkdir()
  # Raises CellExecutionError, with the cell and traceback, if any cell fails; then shuts the
  # kernel down, as closing the notebook does.
  client.execute(env=dict(os.environ, TMPDIR=str(kernel_tmp)))
  outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
  for expected in EXPECTED[path.name]:
    assert expected in text
  pictures = [o for o in outputs if "image/png" in o.get("data", {})]
  assert pictures or path.name != "smallnorb_explorer.ipynb"
  data_dir, = re.findall(r"^data dir, deleted when the kernel stops: (.*)$", text, re.M)
  assert pathlib.Path(data_dir).parent == kernel_tmp
  assert not pathlib.Path(data_dir).exists()
  assert list(kernel_tmp.glob("tfds_builders_nb_*")) == []
