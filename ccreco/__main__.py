"""``python -m ccreco`` runs the command line."""

from __future__ import annotations

import sys

from ccreco.cli import main

sys.exit(main())
