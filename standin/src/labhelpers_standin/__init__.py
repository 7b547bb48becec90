"""labhelpers-standin: the offline Planetary Computer.

Real servers on 127.0.0.1 (stac-fastapi-pgstac on PostgreSQL, Azurite, dask-gateway-server)
serving a deterministic archive shaped exactly like MPC's, so the lab's notebooks run unchanged
without internet. Command line: ``labhelpers offline up|down|status|build``; see ARCHITECTURE.md.
"""

__version__ = "0.2.0"
