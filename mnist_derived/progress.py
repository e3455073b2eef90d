"""A progress line on stderr for reads that take more than a few seconds
(decoding a split on first use, reading the truth of detections): shown
only on a terminal, after a short delay, and never under `--quiet`."""

import sys
import time

# A wait shorter than this shows nothing.
DELAY_SECONDS = 3.0
_REFRESH_SECONDS = 0.25
# Turned off by the command's --quiet.
enabled = True


def counted(items, total, what):
  """Yields items, drawing `what: k/total (p%)` on stderr while it runs."""
  shown = None
  start = time.monotonic()
  last = start
  count = 0
  for count, item in enumerate(items, 1):
    yield item
    now = time.monotonic()
    if now - last >= _REFRESH_SECONDS and now - start >= DELAY_SECONDS:
      last = now
      shown = shown or _terminal()
      if shown:
        _draw(shown, what, count, total)
  if shown:
    _draw(shown, what, count, total)
    shown.write("\n")
    shown.flush()


def _terminal():
  stream = sys.stderr
  return stream if enabled and stream.isatty() else False


def _draw(stream, what, count, total):
  share = f" ({100 * count / total:.0f}%)" if total else ""
  stream.write(f"\r{what}: {count}/{total}{share}")
  stream.flush()
