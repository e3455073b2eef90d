"""Ground-truth geometry of mnist_derived: plain numpy, vectorised over batches.

Pixel (row i, column j) has its center at (x=j, y=i) throughout.
"""

from mnist_derived.geometry.box import box_overlaps
from mnist_derived.geometry.box import coco_boxes
from mnist_derived.geometry.box import edge_rectangle
from mnist_derived.geometry.box import normalized_boxes
from mnist_derived.geometry.box import overlaps
from mnist_derived.geometry.box import tight_boxes
from mnist_derived.geometry.circle import disc_masks
from mnist_derived.geometry.circle import disc_subpixels
from mnist_derived.geometry.circle import min_enclosing_circles
from mnist_derived.geometry.circle import normalize_circles
from mnist_derived.geometry.circle import covering_float32
from mnist_derived.geometry.circle import denormalize_circles
from mnist_derived.geometry.circle import empty_mask_circle
from mnist_derived.geometry.threshold import CONSTANT_IMAGE_THRESHOLD
from mnist_derived.geometry.threshold import foreground_masks
from mnist_derived.geometry.threshold import tss_thresholds
