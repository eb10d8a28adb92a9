"""The Windows stage's sitecustomize (.ci/windows copies it beside each Windows Python): under Wine 8,
asyncio's Windows event loop now and then misses the wake-up that a worker thread sends it as it hands
back a result, and sleeps for ever with that result waiting. This caps each of the loop's waits at
WAIT_SECONDS, so that a missed wake-up costs that long at most. Nothing is imported before asyncio is.
"""

import sys
from importlib.machinery import ModuleSpec
from typing import Any

WAIT_SECONDS = 0.1
PATCHED = "asyncio.windows_events"


class CappedWaits:
    """A loader that runs asyncio's Windows event loop module, then caps its proactor's waits."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:  # create_module, and all else a loader has.
        return getattr(self.loader, name)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        select = module.IocpProactor.select

        def capped(proactor: object, timeout: float | None = None) -> Any:
            return select(proactor, WAIT_SECONDS if timeout is None else min(timeout, WAIT_SECONDS))

        module.IocpProactor.select = capped


class Finder:
    """Finds asyncio's Windows event loop module as the finders after it do, with the loader above."""

    @staticmethod
    def find_spec(name: str, path: Any, target: object = None) -> ModuleSpec | None:
        if name != PATCHED:
            return None
        for finder in sys.meta_path[sys.meta_path.index(Finder) + 1 :]:
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                spec.loader = CappedWaits(spec.loader)  # pyright: ignore[reportAttributeAccessIssue]
                return spec
        return None


sys.meta_path.insert(0, Finder)  # pyright: ignore[reportArgumentType]
