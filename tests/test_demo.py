"""The README's main job, on mnist_idx only (CI also runs the full command)."""

import re

from tfds_builders.__main__ import main


def test_demo_builds_loads_and_trains(tmp_path, capsys, no_network):
  assert main(["demo", "--only", "mnist_idx", "--data_dir", str(tmp_path)]) == 0
  out = capsys.readouterr().out
  assert re.search(r"^built mnist_idx +test 12, train 24 ", out, re.M)
  assert re.search(r"^loaded mnist_idx +test 12, train 24 \(image, label\) pairs$", out, re.M)
  trained = re.search(r"^trained a Keras CNN on mnist_idx for 1 epoch\(s\): train loss "
                      r"([\d.]+), test loss ([\d.]+), test accuracy ([\d.]+) "
                      r"\(24 train / 12 test images\)$", out, re.M)
  assert trained, out
  # 10 classes: an untrained-for-long model sits near chance; the loss is a real number near ln 10.
  assert 1.0 < float(trained.group(1)) < 4.0
  assert 0.0 <= float(trained.group(3)) <= 1.0
  assert out.rstrip().endswith("done")
