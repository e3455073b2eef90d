"""PyTorch and grain loaders of a split, built or computed when read.

A built split is read from memory-mapped arrays (`DecodedSplit`): its first
use decodes it once into `.npy` files inside the build's own folder (see
`cache`), and a batch is one fancy index per feature. A `GeneratedSplit`
computes its examples from the source digits as they are read, value for
value the build's, in any number.

    from mnist_derived import loaders
    batches = loaders.torch_loader("mnist_fg/mnist", "train", batch_size=64,
                                   seed=0)        # dicts of torch tensors
    batches = loaders.grain_dataset("mnist_fg/mnist", "train", batch_size=64,
                                    seed=0)       # dicts of numpy arrays
    fresh = loaders.GeneratedSplit("mnist_mosaic/multimnist", "train",
                                   manual_dir="~/mnist",
                                   num_examples=60_000_000)
    batches = loaders.torch_loader(fresh, batch_size=128, seed=0)

Neither torch nor grain is imported until asked for, and TensorFlow only to
decode a build made as tfrecord.
"""

from mnist_derived.loaders.cache import decoded_columns
from mnist_derived.loaders.generated import GeneratedSplit
from mnist_derived.loaders.grain_batches import grain_dataset
from mnist_derived.loaders.order import epoch_order
from mnist_derived.loaders.pytorch import torch_loader
from mnist_derived.loaders.splits import DecodedSplit
from mnist_derived.loaders.splits import ExampleRows
from mnist_derived.loaders.splits import Split
