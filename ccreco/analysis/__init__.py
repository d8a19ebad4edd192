"""Analysis: metrics of peak finding and cluster counting, evaluation of registered methods."""

from __future__ import annotations
