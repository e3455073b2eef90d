"""Scores of the three tasks and the predictions scorer (numpy only).

`metrics` holds every score; `predictions` the predictions-file format and
its checks; `score` the `mnist-derived score` command and `Evaluator`.
"""

from mnist_derived.evaluation.score import Evaluator
