"""The offline Planetary Computer: real STAC API, Azure Blob (Azurite) and Dask Gateway servers on
127.0.0.1, serving a deterministic archive shaped exactly like MPC's.

See ``labhelpers offline --help`` and DESIGN.md section 3.
"""
