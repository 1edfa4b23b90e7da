"""youthmode: a declarative minors-protection ("youth mode", 未成年人模式) policy engine.

The pipeline, one way:

1. load      TOML policy files -> documents with source positions   (`policies.loader`)
2. validate  resolve `extends` (`policies.resolve`), cross-check, did-you-mean (`policies.validate`)
3. compile   immutable per-action, per-band rule plans               (`policies.compile`)
4. evaluate  request -> facts -> rule verdicts at `at`               (`engine`, `policies.rules`)
5. combine   deny overrides; remaining time, next allowed instant, trace (`timeline`, `decision`)
"""

from importlib.metadata import PackageNotFoundError, version

from youthmode.engine import Engine as Engine
from youthmode.errors import PolicyError as PolicyError
from youthmode.errors import Problem as Problem
from youthmode.errors import RequestError as RequestError
from youthmode.errors import YouthmodeError as YouthmodeError
from youthmode.model import Decision as Decision
from youthmode.model import DecisionRequest as DecisionRequest
from youthmode.model import Explanation as Explanation

__all__ = [
    "Decision",
    "DecisionRequest",
    "Engine",
    "Explanation",
    "PolicyError",
    "Problem",
    "RequestError",
    "YouthmodeError",
    "__version__",
]

try:  # the version lives in pyproject.toml alone
    __version__ = version("youthmode")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
