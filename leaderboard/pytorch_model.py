"""Trains a small PyTorch model through mnist_derived.loaders; writes its
test predictions as a file `mnist-derived score` takes.

    python leaderboard/pytorch_model.py fg --data_dir DIR --out preds.npz
    python leaderboard/pytorch_model.py circles --data_dir DIR --out preds.npz

Reads an array_record build (`tfds build ... --file_format array_record`);
no TensorFlow is imported. Needs `pip install 'mnist-derived[torch]'`.
"""

import argparse
import time

import numpy as np
import torch
from torch import nn

from mnist_derived import files
from mnist_derived import geometry
from mnist_derived import loaders

CIRCLE_WEIGHT = 10.0


def conv_block(inputs, outputs):
  return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1),
                       nn.BatchNorm2d(outputs), nn.ReLU())


class ForegroundNet(nn.Module):
  """Per-pixel logits from local features and the image's mean intensity,
  the statistic a per-image threshold depends on."""

  def __init__(self, width=16):
    super().__init__()
    self.features = nn.Sequential(conv_block(1, width), conv_block(width, width))
    self.head = nn.Conv2d(width + 2, 1, 1)

  def forward(self, x):
    context = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
    return self.head(torch.cat([self.features(x), x, context], dim=1))

  def loss(self, batch):
    return nn.functional.binary_cross_entropy_with_logits(
        self(images(batch)), batch["mask"].permute(0, 3, 1, 2).float())

  def predictions(self, batch):
    """The arrays of a predictions file for the batch."""
    return {"mask": torch.sigmoid(self(images(batch)))[:, 0].numpy()}


class CirclesNet(nn.Module):
  """A label head and a circle head (cx, cy, r normalised) on a small CNN."""

  def __init__(self, num_classes=10):
    super().__init__()
    self.body = nn.Sequential(conv_block(1, 32), nn.MaxPool2d(2),
                              conv_block(32, 64), nn.MaxPool2d(2),
                              conv_block(64, 64), nn.Flatten())
    self.label = nn.Linear(64 * 7 * 7, num_classes)
    self.circle = nn.Linear(64 * 7 * 7, 3)

  def forward(self, x):
    features = self.body(x)
    return self.label(features), self.circle(features)

  def loss(self, batch):
    logits, circle = self(images(batch))
    # Normalised circle errors are hundredths: weight them up beside the
    # cross-entropy, or the circle head barely moves in a few epochs.
    return (nn.functional.cross_entropy(logits, batch["label"])
            + CIRCLE_WEIGHT * nn.functional.l1_loss(
                circle, batch["circle_normalized"]))

  def predictions(self, batch):
    logits, circle = self(images(batch))
    circle = geometry.denormalize_circles(circle.numpy(), 28, 28)
    circle[:, 2] = np.maximum(circle[:, 2], 0)
    return {"label": logits.argmax(dim=1).numpy(), "circle": circle}


def images(batch):
  return batch["image"].permute(0, 3, 1, 2).float() / 255


# task: (dataset, its model)
TASKS = {"fg": ("mnist_fg/mnist", ForegroundNet),
         "circles": ("mnist_circles/mnist", CirclesNet)}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("task", choices=sorted(TASKS))
  parser.add_argument("--data_dir", "--data-dir", dest="data_dir")
  parser.add_argument("--out", required=True, help="predictions .npz")
  parser.add_argument("--epochs", type=int, default=2)
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--workers", type=int, default=2)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  torch.manual_seed(args.seed)
  dataset, architecture = TASKS[args.task]
  model = architecture()
  optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
  train = loaders.torch_loader(dataset, "train", args.batch_size,
                               num_workers=args.workers, seed=args.seed,
                               data_dir=args.data_dir)
  start = time.perf_counter()
  for epoch in range(args.epochs):
    model.train()
    total = 0.0
    for batch in train:
      optimizer.zero_grad()
      loss = model.loss(batch)
      loss.backward()
      optimizer.step()
      total += loss.item() * len(batch["index"])
    print(f"epoch {epoch + 1}: loss {total / len(train.dataset):.4f}",
          flush=True)
  model.eval()
  test = loaders.torch_loader(dataset, "test", 256, shuffle=False,
                              num_workers=args.workers,
                              data_dir=args.data_dir)
  arrays = {}
  with torch.no_grad():
    for batch in test:
      for name, value in [("index", batch["index"].numpy()),
                          *model.predictions(batch).items()]:
        arrays.setdefault(name, []).append(value)
  files.save_npz(
      args.out, {k: np.concatenate(v) for k, v in arrays.items()})
  print(f"trained in {time.perf_counter() - start:.0f} s;"
        f" {sum(p.numel() for p in model.parameters())} parameters;"
        f" predictions in {args.out}")


if __name__ == "__main__":
  main()
