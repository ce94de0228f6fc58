"""The models this server holds in memory: each one's estimated cost against a memory budget, least-recent-use
order for eviction, and in-flight counts so a model serving a request is never evicted. Thread-safe."""

from __future__ import annotations

import bisect
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from authentic.contracts import MODEL_FILE
from authentic.errors import Conflict, InsufficientMemory, ModelArtifactError, NotFound
from authentic.inference.detector import Detector, RuntimeOptions
from authentic.inference.host import MiB, available_memory_bytes

LOG = logging.getLogger("authentic.inference")


@dataclass
class LoadedModel:
    name: str
    url: str
    detector: Detector
    cost_bytes: int
    loaded_at: float
    last_used: float
    in_flight: int = 0
    invocations: int = 0


@dataclass
class RegistryStats:
    budget_bytes: int
    used_bytes: int
    models: int
    loads: int = 0
    evictions: int = 0
    refusals: int = 0


@dataclass
class ResidentModels:
    """The loaded models, their memory cost against the budget, and least-recent-use order. Thread-safe.

    The cost of a model is estimated before loading it (model.onnx size x factor + overhead), so a load that
    cannot fit is refused before any memory is spent; the host's free memory is checked too, so the server
    answers 507 instead of being killed when the budget is set higher than the machine can give.
    """

    budget_bytes: int
    evict_lru: bool = False
    options: RuntimeOptions = field(default_factory=RuntimeOptions)
    memory_factor: float = 1.5
    memory_overhead_bytes: int = 2 * MiB
    min_free_bytes: int = 128 * MiB
    free_memory: Callable[[], int | None] = available_memory_bytes
    loader: Callable[[Path, RuntimeOptions], Detector] = Detector.load
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()  # least recently used first
        self._loading: dict[str, int] = {}
        self._loads = self._evictions = self._refusals = 0

    def estimate(self, model_dir: Path) -> int:
        model_path = model_dir / MODEL_FILE
        try:
            size = model_path.stat().st_size
        except OSError:
            raise ModelArtifactError(f"{model_dir} has no {MODEL_FILE}") from None
        return int(size * self.memory_factor) + self.memory_overhead_bytes

    def load(self, name: str, url: str) -> LoadedModel:
        """Load the model directory at `url` under `name`: 409 if the name is taken, 507 if it cannot fit."""
        model_dir = Path(url)
        if not model_dir.is_dir():
            raise ModelArtifactError(f"model url {url!r} is not a directory on this host")
        cost = self.estimate(model_dir)
        with self._lock:
            if name in self._models or name in self._loading:
                raise Conflict(f"model {name!r} is already loaded")
            self._make_room(name, cost)
            self._loading[name] = cost
        try:
            started = self.clock()
            detector = self.loader(model_dir, self.options)
            elapsed_ms = (self.clock() - started) * 1e3
        except MemoryError as exc:
            with self._lock:
                self._refusals += 1
            raise InsufficientMemory(f"out of memory loading model {name!r}: {exc}") from exc
        finally:
            with self._lock:
                self._loading.pop(name, None)
        now = self.clock()
        entry = LoadedModel(name, url, detector, cost, now, now)
        with self._lock:
            self._models[name] = entry
            self._loads += 1
        LOG.info("model loaded: %s from %s (about %.1f MiB, %.1f ms)", name, url, cost / MiB, elapsed_ms)
        return entry

    def _make_room(self, name: str, cost: int) -> None:
        """Under the lock: check the budget and the host, evicting idle models when allowed."""
        if cost > self.budget_bytes:
            self._refusals += 1
            raise InsufficientMemory(
                f"model {name!r} needs about {cost / MiB:.0f} MiB; "
                f"the whole budget is {self.budget_bytes / MiB:.0f} MiB"
            )
        if self.evict_lru:
            victims, freed = [], 0
            for model in self._models.values():  # least recently used first; never one serving a request
                if self._used() - freed + cost <= self.budget_bytes:
                    break
                if model.in_flight == 0:
                    victims.append(model.name)
                    freed += model.cost_bytes
            if self._used() - freed + cost <= self.budget_bytes:  # evict only when that makes enough room
                for victim in victims:
                    del self._models[victim]
                    self._evictions += 1
                    LOG.info("model evicted (least recently used): %s", victim)
        used = self._used()
        if used + cost > self.budget_bytes:
            self._refusals += 1
            raise InsufficientMemory(
                f"model {name!r} needs about {cost / MiB:.0f} MiB; {(self.budget_bytes - used) / MiB:.0f} MiB of "
                f"the {self.budget_bytes / MiB:.0f} MiB budget is free: unload a model first"
            )
        free = self.free_memory()
        if free is not None:
            free -= sum(self._loading.values())  # loads under way have not allocated their memory yet
        if free is not None and free - cost < self.min_free_bytes:
            self._refusals += 1
            raise InsufficientMemory(
                f"model {name!r} needs about {cost / MiB:.0f} MiB; the host has {free / MiB:.0f} MiB free"
            )

    def _used(self) -> int:
        return sum(m.cost_bytes for m in self._models.values()) + sum(self._loading.values())

    def unload(self, name: str) -> LoadedModel:
        """Forget a model; a detection already running on it finishes first (it holds the session)."""
        with self._lock:
            if name in self._loading:
                raise Conflict(f"model {name!r} is still loading")
            entry = self._models.pop(name, None)
        if entry is None:
            raise NotFound(f"model {name!r} is not loaded")
        LOG.info("model unloaded: %s", name)
        return entry

    def get(self, name: str) -> LoadedModel:
        with self._lock:
            entry = self._models.get(name)
        if entry is None:
            raise NotFound(f"model {name!r} is not loaded")
        return entry

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[LoadedModel]:
        """Hold a model for one detection: marks it recently used and never evicted while held."""
        with self._lock:
            entry = self._models.get(name)
            if entry is None:
                raise NotFound(f"model {name!r} is not loaded")
            self._models.move_to_end(name)
            entry.in_flight += 1
            entry.invocations += 1
        try:
            yield entry
        finally:
            with self._lock:
                entry.in_flight -= 1
                entry.last_used = self.clock()

    def page(self, limit: int, after: str | None) -> tuple[list[LoadedModel], str | None]:
        """Models in name order after `after`; the name to continue from when more remain."""
        with self._lock:
            names = sorted(self._models)
            start = bisect.bisect_right(names, after) if after is not None else 0
            chosen = [self._models[n] for n in names[start : start + limit]]
            more = start + limit < len(names)
        return chosen, (chosen[-1].name if more and chosen else None)

    def stats(self) -> RegistryStats:
        with self._lock:
            return RegistryStats(
                self.budget_bytes, self._used(), len(self._models), self._loads, self._evictions, self._refusals
            )
