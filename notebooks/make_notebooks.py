"""Writes the notebooks in this folder from the cells below (run it after editing a cell).

Each notebook starts with an install cell that works in Colab and does nothing elsewhere, and runs
top to bottom on the bundled sample sources; tests/test_notebooks.py executes every one of them.
"""

import pathlib

import nbformat
from nbformat import v4

HERE = pathlib.Path(__file__).resolve().parent

INSTALL = '''\
# In Colab: install tfds_builders (TensorFlow is already there). Set SOURCE to where your copy is:
# a git URL ("git+https://...") or a file URL of an uploaded wheel or checkout ("file:///content/..."). Elsewhere this cell
# does nothing: install with `pip install '.[tf-cpu,notebooks]'` from a checkout.
import sys
SOURCE = ""
if "google.colab" in sys.modules:
    if not SOURCE:
        raise ValueError("Set SOURCE to a git URL or file:// URL of tfds_builders")
    get_ipython().run_line_magic("pip", f"install -q 'tfds_builders[notebooks] @ {SOURCE}'")'''

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
# Built datasets go to a temporary folder that is deleted when the kernel stops (or when this
# cell runs again); set DATA_DIR to a folder of your own to keep them.
_data_dir = tempfile.TemporaryDirectory(prefix="tfds_builders_nb_")
DATA_DIR = pathlib.Path(_data_dir.name)
print("datasets:", ", ".join(tfds_builders.builder_names()))
print("data dir, deleted when the kernel stops:", DATA_DIR)'''


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
    "smallnorb_explorer.ipynb": [
        md("# smallNORB explorer\n\nSliders for category, instance, elevation, azimuth and "
           "lighting show both cameras of the matching `norb_small` example; below, a turntable "
           "strip varies only the azimuth. Look-ups go through `PoseIndex`: the split is indexed "
           "once, then every slider move is a dictionary look-up."),
        code(INSTALL),
        code(SETUP),
        code('''\
import matplotlib.pyplot as plt
import ipywidgets as widgets
from tfds_builders.smallnorb.lookup import PoseIndex

builder = tfds.builder("norb_small", data_dir=DATA_DIR)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
    manual_dir=SOURCES / "norb_small"))   # None here downloads the real files from NYU
index = PoseIndex.load("norb_small", split="train", data_dir=DATA_DIR)
print(index.num_examples, "pairs indexed;", "categories:", index.category_names)'''),
        code('''\
def show(category, instance, elevation, azimuth, lighting):
    found = index.find(category, instance, elevation, azimuth, lighting, degrees=True)
    if not found:
        print(f"no {category} #{instance} at elevation {elevation}°, azimuth {azimuth}°, "
              f"lighting {lighting} in this split")
        return
    pair = found[0]
    fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
    for ax, key, camera in zip(axes, ("image", "image2"), ("left camera", "right camera")):
        ax.imshow(pair[key][:, :, 0], cmap="gray", vmin=0, vmax=255)
        ax.set_title(camera)
        ax.axis("off")
    fig.suptitle(f"{pair['id'].decode()}: {category} #{instance}, elevation {elevation}°, "
                 f"azimuth {azimuth}°, lighting {lighting}")
    plt.show()
    print("shown:", pair["id"].decode())

controls = widgets.interactive(
    show,
    category=widgets.Dropdown(options=index.category_names, value="four-legged animals"),
    instance=widgets.IntSlider(value=4, min=0, max=9),
    elevation=widgets.IntSlider(value=40, min=30, max=70, step=5, description="elevation °"),
    azimuth=widgets.IntSlider(value=0, min=0, max=340, step=20, description="azimuth °"),
    lighting=widgets.IntSlider(value=1, min=0, max=5),
)
display(controls)
'''),
        code('''\
# The same view without sliders, e.g. for a saved or exported notebook.
show("four-legged animals", instance=4, elevation=40, azimuth=0, lighting=1)'''),
        code('''\
# The turntable: one object, one elevation and lighting, every azimuth the split holds, in order.
strip = index.turntable("four-legged animals", instance=4, elevation=40, lighting=1, degrees=True)
fig, axes = plt.subplots(1, len(strip), figsize=(1.6 * len(strip), 1.8))
for ax, example in zip(np.atleast_1d(axes), strip):
    ax.imshow(example["image"][:, :, 0], cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"{int(example['azimuth_degrees'])}°")
    ax.axis("off")
plt.show()
print("turntable azimuths:", [int(e["azimuth_degrees"]) for e in strip])'''),
    ],
    "imagenet_setup.ipynb": [
        md("# ImageNet (ILSVRC2012) with `ilsvrc2012`\n\n"
           "1. **What to download** (registration at https://image-net.org/download-images): "
           "`ILSVRC2012_img_train.tar` (138 GiB), `ILSVRC2012_img_val.tar` (6.3 GiB), optionally "
           "the test tar, and `ILSVRC2012_devkit_t12.tar.gz` (the validation labels' ID table and "
           "the class names and descriptions).\n"
           "2. **Where to put it**: one folder, your `manual_dir`, with exactly those names. An "
           "already extracted tree (`train/<wnid>/*.JPEG`, `val/`, `test/`) works too; nothing "
           "is extracted or copied.\n"
           "3. **Check** the folder, **build**, read **class names**.\n\n"
           "This notebook runs on the small sample archives bundled with the package; set "
           "`MANUAL_DIR` to your folder for the real thing."),
        code(INSTALL),
        code(SETUP),
        code('''\
from tfds_builders.imagenet import ilsvrc2012
from tfds_builders.imagenet.classes import readable_name

MANUAL_DIR = SOURCES / "ilsvrc2012"   # your folder, e.g. pathlib.Path("~/imagenet").expanduser()
# What a build would read, through the same resolver (a gs:// folder works too).
print(ilsvrc2012.describe_manual_dir(MANUAL_DIR))'''),
        code('''\
# What a user sees when the folder is wrong: one message listing every path and what to do.
empty = DATA_DIR / "not_imagenet"
empty.mkdir(exist_ok=True)
(empty / "ILSVRC2012_img_val.tar.crdownload").write_bytes(b"")
try:
    ilsvrc2012.describe_manual_dir(empty)
except tfds_builders.errors.ManualDirError as e:
    print(e)'''),
        code('''\
builder = tfds.builder("ilsvrc2012", data_dir=DATA_DIR)   # or "ilsvrc2012_raw256"
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=MANUAL_DIR))
print({split: info.num_examples for split, info in builder.info.splits.items()})'''),
        code('''\
classes = builder.info.metadata["classes"]
for example in tfds.as_numpy(builder.as_dataset(split="validation").take(4)):
    label = int(example["label"])
    print(example["file_name"].decode(), example["image"].shape, classes["wnid"][label],
          "-", readable_name(builder.info, label))
    print("    ", classes["gloss"][label][:100])'''),
        md("## Bounding boxes: `ilsvrc2012_localization`\n\n"
           "Put the two box archives from the same download page beside the images, "
           "`ILSVRC2012_bbox_train_v2.tar.gz` and `ILSVRC2012_bbox_val_v3.tgz`, and build "
           "`ilsvrc2012_localization`: the same examples plus `objects`, each image's boxes as "
           "normalised `(ymin, xmin, ymax, xmax)` with their labels (empty for the train images "
           "without a box XML). That is the layout `tf.image.sample_distorted_bounding_box` "
           "takes, so a box-aware random crop, the usual ImageNet training crop, is one call."),
        code('''\
boxes = tfds.builder("ilsvrc2012_localization", data_dir=DATA_DIR)
boxes.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=MANUAL_DIR))
for example in tfds.as_numpy(boxes.as_dataset(split="validation", shuffle_files=False).take(3)):
    print(example["file_name"].decode(), [
        (readable_name(boxes.info, label), [round(float(v), 3) for v in bbox])
        for bbox, label in zip(example["objects"]["bbox"], example["objects"]["label"])])'''),
        code('''\
import matplotlib.pyplot as plt

def box_aware_crop(example):
    """A random crop covering at least half of one of the image's boxes (any crop without boxes)."""
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(example["image"]), bounding_boxes=example["objects"]["bbox"][tf.newaxis],
        min_object_covered=0.5, area_range=(0.1, 1.0), use_image_if_no_bounding_boxes=True)
    return {**example, "crop": tf.slice(example["image"], begin, size)}

shown = boxes.as_dataset(split="validation", shuffle_files=False).map(box_aware_crop).take(4)
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for column, example in enumerate(shown):
    image = tf.image.convert_image_dtype(example["image"], tf.float32)[tf.newaxis]
    drawn = tf.image.draw_bounding_boxes(image, example["objects"]["bbox"][tf.newaxis],
                                         colors=[[1.0, 1.0, 0.0, 1.0]])[0]
    axes[0, column].imshow(drawn)
    axes[0, column].set_title(example["file_name"].numpy().decode()[-13:-5], fontsize=9)
    axes[1, column].imshow(example["crop"])
    axes[1, column].set_title(f"crop {example['crop'].shape[1]}x{example['crop'].shape[0]}",
                              fontsize=9)
for ax in axes.flat:
    ax.axis("off")
plt.show()
# For training: boxes.as_dataset(split="train").map(box_aware_crop), then resize the crops.
print("box-aware crops of", len(axes[1]), "validation images")'''),
        md("## Big machines: Apache Beam\n\n"
           "On one machine, build without Beam, as above: the single-process build is the fast "
           "path (it streams the real train set in about 10 minutes on the 2-core machine of "
           "benchmarks/RESULTS.md). Beam's Python runner costs about 26 times its CPU per image, "
           "and more worker processes do not help, since every example passes through the "
           "launching process; use it only to check a pipeline before a cluster run.\n\n"
           "Beam pays off on a cluster runner with a real shuffle (Dataflow, Flink, Spark). A "
           "`gs://` manual_dir works from every worker: each streams the tars from the bucket, "
           "nothing copied.\n\n"
           "```bash\ntfds build --imports tfds_builders ilsvrc2012 --manual_dir "
           "gs://my-bucket/imagenet --data_dir gs://my-bucket/tfds \\\n"
           "  --beam_pipeline_options=\"runner=DataflowRunner,project=my-project,"
           "region=us-central1,temp_location=gs://my-bucket/tmp,"
           "extra_package=dist/tfds_builders-0.1.0.tar.gz\"\n```\n\n"
           "Every worker needs `tfds_builders` installed (`python setup.py sdist`, passed as "
           "`extra_package`) and write access to the data dir; docs/beam.md lists the runners and "
           "what was tested on each."),
    ],
}


def main(out_dir=HERE):
  for name, cells in NOTEBOOKS.items():
    for i, cell in enumerate(cells):
      cell["id"] = f"cell-{i}"  # stable ids: regenerating an unchanged notebook changes nothing
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []}})
    nbformat.write(notebook, pathlib.Path(out_dir) / name)
    print("wrote", pathlib.Path(out_dir) / name)


if __name__ == "__main__":
  main()
