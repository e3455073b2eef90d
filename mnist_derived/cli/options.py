"""Options several verbs share, spelled as `tfds` spells them."""


def add_data_dir(parser):
  """--data_dir; --data-dir is accepted too."""
  parser.add_argument("--data_dir", "--data-dir", dest="data_dir",
                      help="TFDS data dir (default: $TFDS_DATA_DIR, else"
                      " ~/tensorflow_datasets)")


def add_quiet(parser):
  parser.add_argument("--quiet", action="store_true",
                      help="no progress line on stderr while reading a split")


def add_split(parser, default="test"):
  parser.add_argument("--split", default=default,
                      help=f"the split (default: {default})")
