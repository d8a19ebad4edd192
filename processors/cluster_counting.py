"""Re-export of :mod:`ccreco.processors.cluster_counting` (the installed name; see ``__init__``)."""

from __future__ import annotations

from ccreco.processors.cluster_counting import ClusterCountingProcessor

__all__ = ["ClusterCountingProcessor"]
