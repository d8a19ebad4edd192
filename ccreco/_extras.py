"""Optional dependencies: import one, or say which extra installs it.

``pip install ccreco`` brings what reconstruction with the shipped ONNX models needs (numpy,
awkward, uproot, numba, onnxruntime, hist). Everything else is an extra of ``setup.cfg``;
each import site of an optional package calls :func:`require`, so a missing package gives a
:class:`~ccreco.errors.MissingExtraError` that names the extra instead of a bare
``ModuleNotFoundError``. The README's ``make`` commands install every extra from the lock.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ccreco.errors import MissingExtraError

#: The setup.cfg extra that installs each optional top-level module.
EXTRA_OF: dict[str, str] = {
    "coffea": "coffea",
    "dask": "coffea",
    "distributed": "coffea",
    "torch": "train",
    "onnx": "train",
    "onnxscript": "train",
    "optuna": "hpo",
    "iminuit": "tune",
    "scipy": "analysis",
    "sklearn": "analysis",
    "matplotlib": "plots",
    "mplhep": "plots",
    "ROOT": "root",
}


def install_hint(module: str, purpose: str | None = None) -> str:
    """The message for a missing optional module.

    Parameters
    ----------
    module : str
        Dotted module name (its top-level package selects the extra).
    purpose : str, optional
        What needed it (``"ccreco train"``, ``"plots"``), for the first words of the message.

    Returns
    -------
    str
        For example ``"ccreco train needs torch: pip install 'ccreco[train]'"``.
    """
    top = module.split(".")[0]
    extra = EXTRA_OF.get(top)
    what = f"{purpose} needs {top}" if purpose else f"{top} is not installed"
    if extra is None:
        return f"{what}: pip install {top}"
    return f"{what}: pip install 'ccreco[{extra}]' (or 'ccreco[all]')"


def require(module: str, purpose: str | None = None) -> ModuleType:
    """Import an optional module, or raise an error that names the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"torch"`` or ``"coffea.processor"``.
    purpose : str, optional
        What needs it, shown first in the message.

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ccreco.errors.MissingExtraError
        The module's top-level package is not installed (the message gives the ``pip install``
        line). An ImportError from inside an installed package is not masked.

    Examples
    --------
    >>> np = require("numpy")
    >>> np.__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        missing = (getattr(exc, "name", None) or "").split(".")[0]
        # only an optional package being absent counts (the one asked for, or an optional one
        # it needs: mplhep without matplotlib); an ImportError inside an installed one is a bug
        if missing != top and missing not in EXTRA_OF:
            raise
        raise MissingExtraError(install_hint(missing, purpose), module=missing,
                                extra=EXTRA_OF.get(missing)) from exc
