"""One pruning method per module, each registered in :data:`pruning.base.SCORERS`.

Each follows its original paper (DESIGN.md §2), not the authors' copies of them.
"""

from ...registry import import_modules

import_modules(__name__, __path__)
