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

A configured gateway that does not answer within :data:`GATEWAY_TIMEOUT` seconds (MPC's own
devcontainer still sets ``DASK_GATEWAY__ADDRESS`` to the retired gateway) is reported with a
:class:`~labhelpers.errors.FallbackWarning` and replaced by a ``LocalCluster``, unless
``require_gateway=True``. A ``LocalCluster``'s scheduler, workers and dashboard listen on
127.0.0.1 only (other machines cannot reach them) unless you pass ``dashboard_address``.
"""

from __future__ import annotations

import os
import warnings

import dask
import requests
from distributed import Client, LocalCluster

from labhelpers import _checks
from labhelpers._net import scrub
from labhelpers.errors import FallbackWarning, InputError, ServiceError
from labhelpers.settings import get_settings

__all__ = ["GATEWAY_TIMEOUT", "gateway_address", "start_cluster", "shutdown"]

#: Seconds to wait for a configured gateway's health check before falling back (or failing).
GATEWAY_TIMEOUT = 5


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


def _check_gateway(address: str) -> None:
    """Raise ServiceError unless ``address`` answers ``/api/health`` within GATEWAY_TIMEOUT seconds."""
    try:
        requests.get(f"{address.rstrip('/')}/api/health", timeout=GATEWAY_TIMEOUT).raise_for_status()
    except requests.RequestException as err:
        why = "it did not answer in time" if isinstance(err, requests.Timeout) else scrub(type(err).__name__ + (
            f" {err.response.status_code}" if getattr(err, "response", None) is not None else ""))
        raise ServiceError(f"The Dask Gateway at {address} is not usable ({why}; waited {GATEWAY_TIMEOUT} s)") from None


def _gateway_cluster(address: str, profile: str | None):
    """A new ``GatewayCluster`` from the gateway at ``address``."""
    from dask_gateway import BasicAuth, GatewayCluster

    settings = get_settings(profile)
    if not settings.gateway_override and address == dask.config.get("gateway.address", None):
        # Configured in dask, as on a hub: address, proxy and login all come from there.
        return _new_cluster(GatewayCluster, address)
    auth = settings.gateway_auth
    kwargs = {}
    if auth.get("type") == "basic":
        kwargs["auth"] = BasicAuth(auth["username"], auth["password"])
    proxy = settings.gateway_proxy_address or dask.config.get("gateway.proxy-address", None)
    return _new_cluster(GatewayCluster, address, address=address, proxy_address=proxy, **kwargs)


def _new_cluster(make, where: str, **kwargs):
    """``make(**kwargs)``, a gateway's failure to start a cluster reported as a ServiceError."""
    try:  # the cluster owns its connection to the gateway and closes it on shutdown
        return make(**kwargs)
    except Exception as err:  # noqa: BLE001 - any failure here is the gateway's
        raise ServiceError(f"The Dask Gateway at {where} answered but could not start a cluster "
                           f"({scrub(err).splitlines()[0][:200] if str(err) else type(err).__name__}). Check it "
                           "(offline: `labhelpers offline status`), or unset DASK_GATEWAY__ADDRESS to use a "
                           "LocalCluster.") from None


def start_cluster(minimum: int = 1, maximum: int = 4, profile: str | None = None, require_gateway: bool = False,
                  dashboard_address: str = "127.0.0.1:0"):
    """Start an adaptive cluster and print its dashboard link.

    Parameters
    ----------
    minimum, maximum : int
        Bounds on the number of workers ``adapt`` may run (the original lab used 4..24 on the
        Hub; a laptop wants 1..4). A ``LocalCluster`` is capped at this machine's CPU count,
        with a message saying so.
    profile : str, optional
        See :mod:`labhelpers.settings`.
    require_gateway : bool, default False
        When a gateway is configured but does not answer: raise instead of warning and
        starting a ``LocalCluster``.
    dashboard_address : str, default "127.0.0.1:0"
        Where a ``LocalCluster``'s dashboard listens (any free port, this machine only);
        ``":8787"`` would open it to the network.

    Returns
    -------
    (cluster, distributed.Client)
        A ``GatewayCluster`` where a gateway is configured and answers, else a ``LocalCluster``.
        Call :func:`shutdown` when done.

    Raises
    ------
    InputError
        When not ``0 <= minimum <= maximum`` and ``maximum >= 1``.
    ServiceError
        When ``require_gateway=True`` and the gateway does not answer, or when it answers but
        cannot start a cluster.

    Warns
    -----
    FallbackWarning
        When a configured gateway does not answer and a ``LocalCluster`` is used instead.
    """
    minimum = _checks.number("minimum", minimum, 0, integer=True)
    maximum = _checks.number("maximum", maximum, 1, integer=True)
    if minimum > maximum:
        raise InputError(f"Need 0 <= minimum <= maximum workers; got minimum={minimum}, maximum={maximum}.")
    _checks.flag("require_gateway", require_gateway)
    _checks.text("dashboard_address", dashboard_address)
    address = gateway_address(profile)
    kind = "LocalCluster (no Dask Gateway configured)"
    if address:
        try:
            _check_gateway(address)
        except ServiceError as err:
            if require_gateway:
                raise ServiceError(f"{err}. Start it (offline: `labhelpers offline up`) or fix "
                                   "DASK_GATEWAY__ADDRESS.") from None
            warnings.warn(f"{err}: using a LocalCluster on this machine instead. (The Planetary Computer's "
                          "gateway was retired in June 2024; unset DASK_GATEWAY__ADDRESS to skip this check, or "
                          "pass require_gateway=True to make this an error.)", FallbackWarning, stacklevel=2)
            address, kind = None, f"LocalCluster (the Dask Gateway at {address} did not answer)"
    if address:
        cluster = _gateway_cluster(address, profile)
        kind = f"GatewayCluster from {address}"
    else:
        cores = os.cpu_count() or 1
        if maximum > cores:
            print(f"This machine has {cores} CPU(s): a LocalCluster of {maximum} workers would only slow it down, "
                  f"so at most {cores} (and at least {min(minimum, cores)}).")
            minimum, maximum = min(minimum, cores), cores
        cluster = LocalCluster(n_workers=minimum, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=dashboard_address)
    cluster.adapt(minimum=minimum, maximum=maximum)
    client = Client(cluster) if not address else cluster.get_client()
    print(f"{kind}: adaptive, {minimum}-{maximum} workers")
    print(f"Dashboard: {cluster.dashboard_link}")
    return cluster, client


def shutdown(cluster, client) -> None:
    """Close the client and shut the cluster down (a gateway cluster stops its workers too).

    Parameters
    ----------
    cluster : GatewayCluster or LocalCluster or None
    client : distributed.Client or None
        Either may be None or already closed: shutting down twice is harmless.
    """
    if client is not None:
        client.close()
    if cluster is None:
        return
    if hasattr(cluster, "shutdown"):
        cluster.shutdown()
    else:
        cluster.close()
