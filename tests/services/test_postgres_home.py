"""PostgreSQL runs as the unprivileged `postgres` account: its files must be somewhere it can reach."""

import pwd
import shutil
import tempfile
from pathlib import Path

from labhelpers_standin.servers import postgres


def test_server_files_move_out_of_a_folder_the_server_account_cannot_enter(monkeypatch):
    pwd.getpwnam("postgres")  # the Debian package's account (installed by scripts/setup.sh)
    base = Path(tempfile.mkdtemp())  # not pytest's tmp_path: its root is closed to other accounts
    base.chmod(0o755)
    closed = base / "closed"
    (closed / "offline").mkdir(parents=True)
    closed.chmod(0o700)  # like a checkout under /root
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(closed / "offline"))
    monkeypatch.setattr(postgres, "run_as", lambda: "postgres")
    home = postgres.home()
    try:
        assert home.parent.as_posix() == "/var/tmp" and home.name.startswith("labhelpers-postgres-")
        assert postgres.pgdata() == home / "pgdata"
        assert postgres.home() == home  # stable for the same offline folder
    finally:
        home.rmdir()
    closed.chmod(0o755)
    assert postgres.home() == closed / "offline"  # reachable: the usual place
    shutil.rmtree(base)
