"""A Dask cluster for the lab: a Dask Gateway cluster where one is configured, a local one otherwise.

Dask splits an array computation into a *task graph* of small tasks (read this chunk, take that
median). A *scheduler* hands tasks to *workers*, processes that each hold some chunks in memory.
A *cluster* is a scheduler plus its workers; the *client* is your notebook's connection to it.

On the Planetary Computer Hub, a Dask Gateway started clusters on cloud machines. The Hub and
its gateway were retired in June 2024, so:

* where a gateway is configured, :func:`start_cluster` asks it for a ``GatewayCluster``. Dask's
  own configuration comes first, exactly as on the Planetary Computer Hub: when
  ``gateway.address`` is set (a hub's ``DASK_GATEWAY__*`` variables, or the
  ``<environment>/etc/dask/gateway.yaml`` that ``labhelpers offline up`` writes) the cluster is
  a bare ``GatewayCluster()``, which takes its address, proxy and login from there. Otherwise
  the profile's gateway is used (the offline stand-in's, from its state file).
  ``LABHELPERS_GATEWAY_ADDRESS`` overrides both (empty: no gateway);
* otherwise it starts a ``LocalCluster``: the same scheduler and workers, as processes on your
  machine.

Either way ``cluster.adapt(minimum, maximum)`` lets Dask add workers while there is work and
remove them when idle, and the dashboard link shows the task stream live.
"""

from __future__ import annotations

import dask
import requests
from distributed import Client, LocalCluster

from labhelpers.errors import ServiceError
from labhelpers.settings import get_settings

__all__ = ["gateway_address", "start_cluster", "shutdown"]

GATEWAY_TIMEOUT = 30  # seconds to wait for a configured gateway before giving up


def gateway_address(profile: str | None = None) -> str | None:
    """The Dask Gateway to use: ``LABHELPERS_GATEWAY_ADDRESS``, else dask's ``gateway.address``, else the profile's.

    Parameters
    ----------
    profile : str, optional
        See :mod:`labhelpers.settings`.

    Returns
    -------
    str or None
        None when no gateway is configured.
    """
    settings = get_settings(profile)
    if settings.gateway_override:
        return settings.gateway_address
    return dask.config.get("gateway.address", None) or settings.gateway_address


def _gateway_cluster(address: str, profile: str | None):
    """A new ``GatewayCluster`` from the gateway at ``address`` (checked to answer first)."""
    from dask_gateway import BasicAuth, GatewayCluster

    settings = get_settings(profile)
    try:
        requests.get(f"{address.rstrip('/')}/api/health", timeout=GATEWAY_TIMEOUT).raise_for_status()
    except requests.RequestException as err:
        raise ServiceError(
            f"The Dask Gateway at {address} did not answer within {GATEWAY_TIMEOUT} s ({type(err).__name__}). "
            "Start it (`labhelpers offline up`), fix DASK_GATEWAY__ADDRESS, or unset it to use a LocalCluster."
        ) from err
    if not settings.gateway_override and address == dask.config.get("gateway.address", None):
        # Configured in dask, as on a hub: address, proxy and login all come from there.
        return GatewayCluster()
    auth = settings.gateway_auth
    kwargs = {}
    if auth.get("type") == "basic":
        kwargs["auth"] = BasicAuth(auth["username"], auth["password"])
    proxy = settings.gateway_proxy_address or dask.config.get("gateway.proxy-address", None)
    # The cluster owns its connection to the gateway and closes it on shutdown.
    return GatewayCluster(address=address, proxy_address=proxy, **kwargs)


def start_cluster(minimum: int = 1, maximum: int = 4, profile: str | None = None):
    """Start an adaptive cluster and print its dashboard link.

    Parameters
    ----------
    minimum, maximum : int
        Bounds on the number of workers ``adapt`` may run (the original lab used 4..24 on the
        Hub; a laptop wants 1..4).
    profile : str, optional
        See :mod:`labhelpers.settings`.

    Returns
    -------
    (cluster, distributed.Client)
        A ``GatewayCluster`` where a gateway is configured, else a ``LocalCluster``. Call
        :func:`shutdown` when done.

    Raises
    ------
    ValueError
        When not ``0 <= minimum <= maximum``.
    ServiceError
        When a configured gateway does not answer.
    """
    if not 0 <= minimum <= maximum:
        raise ValueError(f"Need 0 <= minimum <= maximum workers; got minimum={minimum}, maximum={maximum}.")
    address = gateway_address(profile)
    if address:
        cluster = _gateway_cluster(address, profile)
        kind = f"GatewayCluster from {address}"
    else:
        cluster = LocalCluster(n_workers=minimum, threads_per_worker=1, dashboard_address=":0")
        kind = "LocalCluster (no Dask Gateway configured)"
    cluster.adapt(minimum=minimum, maximum=maximum)
    client = Client(cluster) if not address else cluster.get_client()
    print(f"{kind}: adaptive, {minimum}-{maximum} workers")
    print(f"Dashboard: {cluster.dashboard_link}")
    return cluster, client


def shutdown(cluster, client) -> None:
    """Close the client and shut the cluster down (a gateway cluster stops its workers too).

    Parameters
    ----------
    cluster : GatewayCluster or LocalCluster
    client : distributed.Client
    """
    client.close()
    if hasattr(cluster, "shutdown"):
        cluster.shutdown()
    else:
        cluster.close()
