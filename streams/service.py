"""What the worker's agents, timers and views share: the Faust app, the engine, settings and counters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faust

from recsys.engine import Engine
from recsys.settings import Settings
from streams.global_reader import GlobalReader
from streams.metrics import Metrics


@dataclass
class Service:
    """The app and what its agents share; built by :func:`create_app`."""

    app: faust.App
    engine: Engine
    settings: Settings
    stats: dict[str, int]
    metrics: Metrics
    reader: GlobalReader

    @property
    def model_dir(self) -> Path:
        return self.settings.data_dir / "model"
