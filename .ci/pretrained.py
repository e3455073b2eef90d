"""CI: each shipped baseline, loaded into a fresh model of its task,
re-scores the real test split to the figures its results file reports.

    python .ci/pretrained.py DATA_DIR
"""

import json
import pathlib
import sys

from training import portable
from training import runner

RESULTS = pathlib.Path(__file__).parents[1] / "results"


def main():
  data_dir = sys.argv[1]
  shipped = sorted(portable.PRETRAINED.glob("*.weights.h5"))
  assert shipped, "no shipped weights"
  for path in shipped:
    task = path.name.split(".")[0]
    reported = json.loads((RESULTS / f"{task}.json").read_text())
    scores = runner.evaluate(task, None, data_dir=data_dir)
    compared = [k for k, v in scores.items() if isinstance(v, (int, float))
                and k in reported]
    differ = [(k, scores[k], reported[k]) for k in compared
              if scores[k] != reported[k]]
    assert compared and not differ, (task, differ)
    print(f"{task}: {path.stat().st_size / 1e6:.1f} MB of weights re-score"
          f" {len(compared)} figures of results/{task}.json exactly")


if __name__ == "__main__":
  main()
