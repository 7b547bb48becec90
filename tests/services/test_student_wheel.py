"""The student wheel, installed alone outside the checkout, searches and stacks from the running stand-in.

A new virtual environment gets the labhelpers wheel (``pip wheel --no-deps .``) and nothing else
of this repository: its third-party requirements come from the project's environment through a
plain ``.pth`` path (which, unlike a site directory, does not run that environment's editable
installs of labhelpers, labhelpers-standin or labhelpers-course). The script runs in a temporary
folder with only ``LABHELPERS_PROFILE`` and ``LABHELPERS_OFFLINE_DIR`` set, as on a hub.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from labhelpers.settings import offline_dir

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import labhelpers, labhelpers.aoi, labhelpers.sentinel2, labhelpers.stac
assert "site-packages" in labhelpers.__file__, labhelpers.__file__
for name in ("labhelpers_standin", "labhelpers_course"):
    try:
        __import__(name)
    except ModuleNotFoundError:
        pass
    else:
        sys.exit(f"{name} is importable: the wheel is not alone")
bbox = labhelpers.aoi.bbox_of({"type": "Polygon", "coordinates": [[[-122.83, 53.88], [-122.80, 53.88],
                                                                 [-122.80, 53.90], [-122.83, 53.88]]]})
items = labhelpers.stac.search(labhelpers.stac.open_catalog(), bbox, "2019-06-01/2019-08-31")
data = labhelpers.sentinel2.stack(items, resolution=200, bbox=bbox)
value = float(data.isel(time=0).sel(band="red").mean().compute())
print(json.dumps({"file": labhelpers.__file__, "items": len(items), "shape": list(data.shape), "red": value}))
"""


def test_the_wheel_alone_searches_and_stacks(offline_pc, tmp_path):
    wheels = tmp_path / "wheels"
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    (wheel,) = wheels.glob("labhelpers-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                          str(wheel)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr

    outside = tmp_path / "somewhere"
    outside.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LABHELPERS_PROFILE": "offline",
           "LABHELPERS_OFFLINE_DIR": str(offline_dir())}
    run = subprocess.run([str(python), "-c", SCRIPT], capture_output=True, text=True, cwd=outside, env=env,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    import json

    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(venv)) and out["items"] > 0
    assert out["shape"][0] == out["items"] and out["shape"][1] == 4
    assert 0 < out["red"] < 0.5  # a reflectance, offset and scale applied
