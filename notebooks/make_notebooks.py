"""Writes the notebooks in this folder from the cells below (run it after editing a cell).

Each notebook starts with an install cell that works in Colab and does nothing elsewhere, and runs
top to bottom on the bundled sample sources; tests/test_notebooks.py executes every one of them.
"""

import pathlib

import nbformat
from nbformat import v4

HERE = pathlib.Path(__file__).resolve().parent

INSTALL = '''\
# In Colab: install tfds_builders (TensorFlow is already there). Elsewhere: nothing to do,
# install the package with `pip install '.[tf-cpu,notebooks]'` from a checkout.
import sys
REPOSITORY = "git+https://github.com/tfds-builders/tfds_builders"  # or a path to a wheel/checkout
if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", f"install -q '{REPOSITORY}#egg=tfds_builders[notebooks]'")'''

SETUP = '''\
import os, pathlib, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
import tfds_builders
from tfds_builders.builder_base import sample_sources_dir

tfds.disable_progress_bar()
# The bundled sample sources stand in for the real files; point SOURCES at your own manual_dir
# (or set it to None to download) to use the full dataset.
SOURCES = sample_sources_dir()
DATA_DIR = pathlib.Path(tempfile.mkdtemp(prefix="tfds_builders_nb_"))
print(tfds_builders.builder_names())'''


def md(text):
  return v4.new_markdown_cell(text)


def code(text):
  return v4.new_code_cell(text)


NOTEBOOKS = {
    "mnist_keras.ipynb": [
        md("# MNIST-family datasets → a Keras CNN\n\n`tfds.load` any of the MNIST-family builders "
           "(`mnist_idx`, `fashion_mnist_idx`, `kmnist_idx`, `emnist_idx/...`, `qmnist`), train "
           "a small CNN, evaluate it."),
        code(INSTALL),
        code(SETUP),
        code('''\
NAME = "mnist_idx"  # try "fashion_mnist_idx", "kmnist_idx", "emnist_idx/digits", "qmnist"
download_config = tfds.download.DownloadConfig(manual_dir=SOURCES / NAME.split("/")[0]) if SOURCES else None
(train, test), info = tfds.load(NAME, split=["train", "test"], as_supervised=True, with_info=True,
                                data_dir=DATA_DIR,
                                download_and_prepare_kwargs={"download_config": download_config})
print(info.features)
print({split: info.splits[split].num_examples for split in info.splits})'''),
        code('''\
def scale(image, label):
    return tf.cast(image, tf.float32) / 255.0, label

train_ds = train.map(scale).shuffle(10_000, seed=0).batch(128).prefetch(tf.data.AUTOTUNE)
test_ds = test.map(scale).batch(128).prefetch(tf.data.AUTOTUNE)
num_classes = info.features["label"].num_classes
model = tf.keras.Sequential([
    tf.keras.Input(shape=info.features["image"].shape),
    tf.keras.layers.Conv2D(32, 3, activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    tf.keras.layers.Conv2D(64, 3, activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(num_classes, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(train_ds, epochs=2, verbose=2)'''),
        code('''\
loss, accuracy = model.evaluate(test_ds, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f} on {info.splits['test'].num_examples} images")
assert np.isfinite(loss)'''),
    ],
}


def main():
  for name, cells in NOTEBOOKS.items():
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []}})
    nbformat.write(notebook, HERE / name)
    print("wrote", HERE / name)


if __name__ == "__main__":
  main()
