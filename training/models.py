"""Keras models of the tasks: one function per architecture.

Every model takes uint8 images and rescales them itself, so a saved model
scores raw dataset images with no preprocessing to remember. Only built-in
layers are used, so saved models load with ``safe_mode=True``.
"""

import keras
from keras import layers

FG_FILTERS = (16, 32, 64)
MOSAIC_FILTERS = (16, 32, 64, 128)
CONTEXT_UNITS = 16
CIRCLES_FILTERS = (32, 64, 128)
PAIRS_FILTERS = (32, 64, 128)
CENTRES_FILTERS = (16, 32, 64)
DIGIT_FILTERS = (24, 48, 96)
NUM_DIGITS = 10


def conv_block(x, filters, convs=2, name=None):
  """`convs` x (3x3 conv, batch norm, ReLU)."""
  for i in range(convs):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                      kernel_initializer="he_normal",
                      name=f"{name}_conv{i}" if name else None)(x)
    # Momentum 0.9: moving statistics keep up within short CPU runs.
    x = layers.BatchNormalization(momentum=0.9,
                                  name=f"{name}_bn{i}" if name else None)(x)
    x = layers.Activation("relu", name=f"{name}_relu{i}" if name else None)(x)
  return x


def broadcast(vector, height, width):
  """Tiles a (C,) feature vector over an (H, W) grid."""
  x = layers.Reshape((1, 1, vector.shape[-1]))(vector)
  return layers.UpSampling2D(size=(height, width))(x)


def encoder(x, filters):
  """A U-Net's way down: (bottleneck features, each level's skip).

  Each level halves the resolution and doubles the features, so the
  deepest level sees a whole digit.
  """
  skips = []
  for depth, f in enumerate(filters[:-1]):
    x = conv_block(x, f, name=f"down{depth}")
    skips.append(x)
    x = layers.MaxPooling2D(name=f"pool{depth}")(x)
  return conv_block(x, filters[-1], name="bottleneck"), skips


def decoder(x, skips, filters):
  """The way up: mirrors `encoder`, joining each level's skip for sharp
  edges."""
  for depth, f in reversed(list(enumerate(filters[:-1]))):
    x = layers.Conv2DTranspose(f, 3, strides=2, padding="same",
                               name=f"up{depth}")(x)
    x = layers.Concatenate()([x, skips[depth]])
    x = conv_block(x, f, name=f"dec{depth}")
  return x


def get_unet(image_shape, num_classes, filters, name):
  """U-Net with a global context vector beside every output pixel.

  The foreground is `pixel >= a threshold set by the whole image`, so the head
  sees each pixel's own intensity, the decoder's local features, and a vector
  pooled over the image (the information a per-image threshold needs).

  num_classes == 1 gives a sigmoid foreground map, else per-pixel softmax.
  """
  height, width = image_shape[:2]
  inputs = keras.Input(shape=image_shape, dtype="uint8", name="image")
  pixels = layers.Rescaling(1 / 255, name="rescale")(inputs)

  x, skips = encoder(pixels, filters)

  context = layers.Concatenate(name="context_features")([
      layers.GlobalAveragePooling2D()(skips[0]),
      layers.GlobalAveragePooling2D()(x),
  ])
  context = layers.Dense(4 * CONTEXT_UNITS, activation="relu")(context)
  context = layers.Dense(CONTEXT_UNITS, activation="relu",
                         name="context")(context)

  x = decoder(x, skips, filters)
  x = layers.Concatenate(name="pixel_and_context")(
      [x, pixels, broadcast(context, height, width)])
  x = layers.Conv2D(filters[0], 1, activation="relu", name="head")(x)
  activation = "sigmoid" if num_classes == 1 else "softmax"
  outputs = layers.Conv2D(num_classes, 1, activation=activation,
                          name="mask")(x)
  return keras.Model(inputs, outputs, name=name)


def get_fg_model(image_shape=(28, 28, 1)):
  return get_unet(image_shape, 1, FG_FILTERS, name="fg_unet")


def get_mosaic_model(image_shape=(56, 56, 1), num_classes=NUM_DIGITS + 1):
  return get_unet(image_shape, num_classes, MOSAIC_FILTERS, name="mosaic_unet")


def get_circles_model(image_shape=(28, 28, 1), num_classes=NUM_DIGITS):
  """CNN with a label head and a circle head on shared features.

  The label head pools globally (what digit, wherever it is); the circle head
  keeps the 7x7 layout (where its extremes are), which global pooling would
  throw away.
  """
  inputs = keras.Input(shape=image_shape, dtype="uint8", name="image")
  x = layers.Rescaling(1 / 255, name="rescale")(inputs)
  # One conv at full resolution is cheap; the deeper levels do the work.
  x = conv_block(x, CIRCLES_FILTERS[0], convs=1, name="stem")
  for depth, f in enumerate(CIRCLES_FILTERS[1:]):
    x = layers.MaxPooling2D(name=f"pool{depth}")(x)
    x = conv_block(x, f, name=f"level{depth}")

  label = layers.GlobalAveragePooling2D()(x)
  label = layers.Dropout(0.3)(label)
  label = layers.Dense(128, activation="relu")(label)
  label = layers.Dense(num_classes, activation="softmax", name="label")(label)

  circle = layers.Conv2D(32, 1, activation="relu", name="circle_reduce")(x)
  circle = layers.Flatten()(circle)
  circle = layers.Dense(256, activation="relu")(circle)
  # Linear: a sigmoid saturates under L1's constant-size gradients.
  circle = layers.Dense(3, name="circle")(circle)
  return keras.Model(inputs, {"label": label, "circle": circle},
                     name="circles_cnn")


def get_pairs_model(image_shape=(36, 36, 1), num_classes=NUM_DIGITS):
  """A small CNN with a two-label head: one sigmoid per class, read as the
  pair of the two most probable classes (a pair's digits differ in class)."""
  inputs = keras.Input(shape=image_shape, dtype="uint8", name="image")
  x = layers.Rescaling(1 / 255, name="rescale")(inputs)
  for depth, f in enumerate(PAIRS_FILTERS):
    x = conv_block(x, f, convs=1 if depth == 0 else 2, name=f"level{depth}")
    x = layers.MaxPooling2D(name=f"pool{depth}")(x)
  x = layers.Flatten()(x)
  x = layers.Dropout(0.3)(x)
  x = layers.Dense(256, activation="relu")(x)
  digits = layers.Dense(num_classes, activation="sigmoid", name="digits")(x)
  return keras.Model(inputs, digits, name="pairs_cnn")


def get_centres_model(image_shape=(64, 64, 1), filters=CENTRES_FILTERS):
  """A U-Net at half resolution (a stride-2 stem) whose sigmoid map is 1 at
  each digit's centre (`training.scatter.heat_maps`)."""
  inputs = keras.Input(shape=image_shape, dtype="uint8", name="image")
  x = layers.Rescaling(1 / 255, name="rescale")(inputs)
  x = layers.Conv2D(filters[0], 3, strides=2, padding="same",
                    activation="relu", name="stem")(x)
  x, skips = encoder(x, filters)
  x = decoder(x, skips, filters)
  heat = layers.Conv2D(1, 1, activation="sigmoid", name="heat")(x)
  return keras.Model(inputs, heat, name="centres")


def get_digit_model(crop_shape=(32, 32, 1), num_classes=NUM_DIGITS,
                    filters=DIGIT_FILTERS):
  """One digit centred in a crop: the pixels it owns there (a U-Net) and
  its class (from the bottleneck, flattened: the centre's digit, not its
  neighbours')."""
  inputs = keras.Input(shape=crop_shape, dtype="uint8", name="crop")
  x = layers.Rescaling(1 / 255, name="rescale")(inputs)
  x, skips = encoder(x, filters)
  label = layers.Flatten()(x)
  label = layers.Dropout(0.3)(label)
  label = layers.Dense(128, activation="relu")(label)
  label = layers.Dense(num_classes, activation="softmax",
                       name="digit_label")(label)
  x = decoder(x, skips, filters)
  mask = layers.Conv2D(1, 1, activation="sigmoid", name="digit_mask")(x)
  return keras.Model(inputs, {"digit_mask": mask, "digit_label": label},
                     name="digit")


def get_scatter_model(image_shape=(64, 64, 1), crop_side=32,
                      num_classes=NUM_DIGITS):
  """The two networks of `training.scatter`'s pipeline as one model (one
  fit, one weights file): the image's centres, and one crop's digit."""
  centres = get_centres_model(image_shape)
  digit = get_digit_model((crop_side, crop_side, image_shape[-1]),
                          num_classes)
  image = keras.Input(shape=image_shape, dtype="uint8", name="image")
  crop = keras.Input(shape=digit.input_shape[1:], dtype="uint8", name="crop")
  outputs = {"centres": centres(image), **digit(crop)}
  return keras.Model({"image": image, "crop": crop}, outputs,
                     name="scatter_pipeline")
