"""Every notebook runs top to bottom on the bundled sample sources, in a real Jupyter kernel."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path):
  notebook = nbformat.read(path, as_version=4)
  client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}})
  client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
  outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
  for expected in EXPECTED[path.name]:
    assert expected in text
  pictures = [o for o in outputs if "image/png" in o.get("data", {})]
  assert pictures or path.name != "smallnorb_explorer.ipynb"
