"""Tests in services/ need the offline stand-in's real servers: the session fixtures start them once
(or use the running ones) and stop what they started at the end."""

from standin_session import archive_manifest, offline_pc, offline_settings  # noqa: F401  (fixtures)
