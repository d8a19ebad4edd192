"""The coffea processor of the two-step reconstruction (:class:`ClusterCountingProcessor`).

Defined in :mod:`ccreco.reco.processor` (``run_reco`` instantiates it, and a lower layer may not
import this one); this module is its public import path for coffea users::

    from ccreco.processors.cluster_counting import ClusterCountingProcessor
"""

from __future__ import annotations

from ccreco.reco.processor import ClusterCountingProcessor

__all__ = ["ClusterCountingProcessor"]
