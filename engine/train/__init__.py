"""Training the embedded default model: corpus, tokenizer, FIM and repo-level documents, the loop, evaluation.

`python -m engine.train --out DIR` runs all of it (see engine/train/__main__.py). Others use only what is named here.
"""

from .data import DataSettings, PreparedData, prepare_data
from .loop import TrainSettings
from .run import ARMS, EvalSettings, run_training
from .tokenizer import train_tokenizer

__all__ = [
    "ARMS",
    "DataSettings",
    "EvalSettings",
    "PreparedData",
    "TrainSettings",
    "prepare_data",
    "run_training",
    "train_tokenizer",
]
