# Minimal stand-in for torch: only what LA-MCTS/lamcts uses for the 'bo' solver.
import numpy as _np
from . import quasirandom
float64 = _np.float64
float32 = _np.float32
