"""The design card's ``processors/`` folder: ccreco's coffea processors.

This folder is *not* installed as a top-level package (a coffea analysis usually has its own
``processors/``); the installed name is :mod:`ccreco.processors`. The modules here re-export it,
so that code run from a source checkout with this folder on ``sys.path`` sees the same class.
"""

from __future__ import annotations

from ccreco.processors import ClusterCountingProcessor

__all__ = ["ClusterCountingProcessor"]
