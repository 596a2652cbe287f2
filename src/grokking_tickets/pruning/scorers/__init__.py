"""One pruning method per module, each registered in :data:`pruning.base.SCORERS`.

Each follows its original paper (docs/configuration.md: where each default comes from), not the authors' copies of them. The paper's
methods register first, in its order; any other module here registers itself after them.
"""

from ...registry import import_modules

import_modules(__name__, __path__, first=("magnitude", "random", "snip", "grasp", "synflow"))
