"""A bare ``GatewayCluster()`` finds the stand-in's Dask Gateway: dask configuration written by ``up``.

On the Planetary Computer Hub, ``from dask_gateway import GatewayCluster; GatewayCluster()``
needed no arguments: the Hub configured dask. ``dask_gateway`` reads its defaults from dask's
configuration (``gateway.address``, ``gateway.proxy-address``, ``gateway.auth.type``,
``gateway.auth.kwargs``), which dask collects from YAML files, in increasing precedence::

    /etc/dask (or $DASK_ROOT_CONFIG)
    <sys.prefix>/etc/dask          <- labhelpers offline up writes gateway.yaml here
    ~/.config/dask                 (dask_gateway copies its defaults there, commented out)
    $DASK_CONFIG
    DASK_GATEWAY__* environment variables (always win)

So ``labhelpers offline up`` writes :func:`config_path` (``gateway.yaml`` in the ``etc/dask``
folder of the Python environment it runs in: the project's) with the gateway's address, its
scheduler proxy and the basic-auth login, and ``labhelpers offline down`` removes that file and
no other. The password has to be in the file, because ``BasicAuth`` takes it only as an
argument; the file is therefore mode 0600, readable only by the account that ran ``up``. Dask
skips files it cannot read, and the classroom hub's students use another Python environment
(the student runtime), so they never see it; the hub configures their dask through
``DASK_GATEWAY__*`` variables instead.

The file's first line marks it as ours and names the stand-in's folder: ``down`` removes it only
when both match, so a ``gateway.yaml`` of the user's own, or one another stand-in (another
``LABHELPERS_OFFLINE_DIR`` using the same environment) wrote, is left alone; and ``up`` does not
replace the file of another stand-in that is still running (whose folder has a state file).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from labhelpers_standin.errors import StandinError

__all__ = ["MARKER", "config_path", "owner", "write_gateway_config", "remove_gateway_config", "configure"]

#: The first line of every file this module writes, followed by the stand-in's folder.
MARKER = "# Written by `labhelpers offline up` for the stand-in in "


def config_path(prefix: str | Path | None = None) -> Path:
    """The dask configuration file for the gateway in a Python environment.

    Parameters
    ----------
    prefix : str or Path, optional
        The environment's prefix (default: the running Python's ``sys.prefix``).

    Returns
    -------
    pathlib.Path
        ``<prefix>/etc/dask/gateway.yaml``.
    """
    return Path(prefix or sys.prefix) / "etc" / "dask" / "gateway.yaml"


def owner(path: str | Path) -> str | None:
    """The stand-in folder named in a file :func:`write_gateway_config` wrote.

    Parameters
    ----------
    path : str or Path
        A dask configuration file.

    Returns
    -------
    str or None
        The folder, or None when the file is missing or was not written by ``up``.
    """
    try:
        with open(path) as f:
            first = f.readline().rstrip("\n")
    except FileNotFoundError:
        return None
    return first[len(MARKER):] if first.startswith(MARKER) else None


def write_gateway_config(
    address: str,
    proxy_address: str,
    username: str,
    password: str,
    standin: str | Path,
    prefix: str | Path | None = None,
) -> Path:
    """Write the gateway's address, scheduler proxy and basic-auth login (mode 0600, atomically).

    Parameters
    ----------
    address : str
        The gateway's HTTP API, e.g. ``http://127.0.0.1:8012``.
    proxy_address : str
        The scheduler proxy, e.g. ``gateway://127.0.0.1:8013``.
    username, password : str
        The gateway's ``SimpleAuthenticator`` login.
    standin : str or Path
        The stand-in's folder (``LABHELPERS_OFFLINE_DIR``), recorded so that only its ``down``
        removes the file.
    prefix : str or Path, optional
        The Python environment to configure (default: the running one).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    StandinError
        When a ``gateway.yaml`` that ``up`` did not write is there already (the user's own
        settings), or one written for another stand-in that is still running (its folder still
        has a state file): it is left alone, and the message says what to do.
    """
    path = config_path(prefix)
    current = owner(path)
    if path.exists() and current is None:
        raise StandinError(
            f"{path} holds Dask Gateway settings that `labhelpers offline up` did not write, so a bare "
            "GatewayCluster() will not find the stand-in's gateway. Move that file away and run "
            "`labhelpers offline up` again, or pass the address to GatewayCluster(...) yourself."
        )
    if current not in (None, str(standin)) and (Path(current) / "state.json").exists():
        raise StandinError(
            f"{path} points a bare GatewayCluster() at the stand-in in {current}, which is still running; "
            "it is left as it is. Stop that one first (`labhelpers offline down` with "
            f"LABHELPERS_OFFLINE_DIR={current}) to have this one's gateway found instead."
        )
    body = {
        "gateway": {
            "address": address,
            "proxy-address": proxy_address,
            "auth": {"type": "basic", "kwargs": {"username": username, "password": password}},
        }
    }
    text = (
        f"{MARKER}{standin}\n"
        "# and removed by `labhelpers offline down`: the stand-in's Dask Gateway, so that\n"
        "# GatewayCluster() needs no arguments. DASK_GATEWAY__* variables override it. Holds a password.\n"
        + yaml.safe_dump(body, sort_keys=False)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".gateway.yaml.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def remove_gateway_config(standin: str | Path, prefix: str | Path | None = None) -> bool:
    """Remove the file :func:`write_gateway_config` wrote for ``standin``; leave any other alone.

    Parameters
    ----------
    standin : str or Path
        The stand-in's folder, as given to :func:`write_gateway_config`.
    prefix : str or Path, optional
        The Python environment (default: the running one).

    Returns
    -------
    bool
        True when the file was this stand-in's and is gone.
    """
    path = config_path(prefix)
    if owner(path) != str(standin):
        return False
    path.unlink(missing_ok=True)
    return True


def configure(gateway: dict, standin: str | Path, say=print, prefix: str | Path | None = None) -> Path | None:
    """What ``labhelpers offline up`` calls once its gateway is healthy: write dask's configuration.

    Parameters
    ----------
    gateway : dict
        The state file's ``gateway`` entry: ``address``, ``proxy_address`` and ``auth``
        (``username``, ``password``).
    standin : str or Path
        The stand-in's folder.
    say : callable
        Where to report a file that cannot be written (the stand-in still runs; only a bare
        ``GatewayCluster()`` will not find it).
    prefix : str or Path, optional
        The Python environment to configure (default: the running one).

    Returns
    -------
    pathlib.Path or None
        The file written, or None when the user's own ``gateway.yaml`` is in the way.
    """
    auth = gateway["auth"]
    try:
        return write_gateway_config(gateway["address"], gateway["proxy_address"], auth["username"],
                                    auth["password"], standin, prefix)
    except StandinError as err:
        say(f"warning: {err}")
        return None
