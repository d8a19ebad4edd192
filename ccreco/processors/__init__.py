"""coffea processors of ccreco (thin shells: the work lives in :mod:`ccreco.reco`).

Installed as ``ccreco.processors`` (never as a top-level ``processors``, which would shadow or
be shadowed by the ``processors/`` package of a user's coffea analysis). The repository's
top-level ``processors/`` folder re-exports these names for the design card's layout.
"""

from __future__ import annotations

from ccreco.processors.cluster_counting import ClusterCountingProcessor

__all__ = ["ClusterCountingProcessor"]
