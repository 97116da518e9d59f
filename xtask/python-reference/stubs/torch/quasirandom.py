# SobolEngine stand-in wrapping scipy.stats.qmc.Sobol (scrambled, seeded, stateful draw like torch's).
import warnings
import numpy as _np
from scipy.stats import qmc as _qmc

class _Tensor:
    def __init__(self, a): self._a = a
    def to(self, dtype=None, device=None):
        return _Tensor(self._a.astype(dtype) if dtype is not None else self._a)
    def cpu(self): return self
    def detach(self): return self
    def numpy(self): return self._a

class SobolEngine:
    def __init__(self, dimension, scramble=False, seed=None):
        self._s = _qmc.Sobol(d=dimension, scramble=scramble, seed=seed)
    def draw(self, n=1, out=None, dtype=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-power-of-2 balance warning
            a = self._s.random(n)
        return _Tensor(a.astype(_np.float32))  # torch default dtype float32, code then .to(float64)
