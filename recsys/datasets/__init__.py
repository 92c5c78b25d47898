"""Event streams to replay through the engine: dataset loaders and a synthetic world.

Every loader yields :data:`Event` records in time order, catalogue and profiles before the
first interaction that needs them (the contract in :mod:`recsys.datasets.base`).
"""

from recsys.datasets.base import ErrorHandler, Event
from recsys.datasets.jsonl import load_jsonl
from recsys.datasets.movielens import DOWNLOAD_HINT, load_movielens_100k, load_movielens_latest
from recsys.datasets.synthetic import SyntheticWorld

__all__ = [
    "DOWNLOAD_HINT",
    "ErrorHandler",
    "Event",
    "SyntheticWorld",
    "load_jsonl",
    "load_movielens_100k",
    "load_movielens_latest",
]
