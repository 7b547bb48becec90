#!/usr/bin/env bash
# Install everything the lab and its tests need, on a fresh Debian/Ubuntu machine or a conda-less
# laptop: a Python venv (.venv) with the pinned packages, PostgreSQL + PostGIS (Debian packages)
# for the local STAC API, and Azurite (npm) for the local Azure Blob Storage.
# Idempotent: a stamp file records what was installed, so a second run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
stamp=.setup-stamp
want=$(cat pyproject.toml standin/pyproject.toml course/pyproject.toml constraints.txt package.json package-lock.json scripts/setup.sh scripts/runtime-requirements.txt | sha256sum | cut -c1-16)
# One student runtime per checkout (two checkouts may hold two versions of the library).
runtime=${LABHELPERS_RUNTIME_DIR:-/var/lib/labhelpers/runtime-$(pwd -P | sha256sum | cut -c1-12)}
# The runtime holds a copy of the student library: rebuild it when the library's source changes too.
runtime_want=$(cat "$0" scripts/runtime-requirements.txt constraints.txt pyproject.toml \
  $(find src/labhelpers -type f -name '*.py' -o -type f -path '*/data/*' | sort) | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/labhelpers ] && [ -x .venv/bin/azurite-blob ] \
   && [ -x .venv/bin/configurable-http-proxy ] && id labhub >/dev/null 2>&1 \
   && [ "$(cat "$runtime/.labhelpers-stamp" 2>/dev/null)" = "$runtime_want" ]; then
  exit 0
fi

say() { printf '\n==> %s\n' "$*"; }

# --- Debian packages: PostgreSQL with PostGIS (pgstac needs both), bubblewrap (grading sandbox)
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
have_postgis() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; }
if [ -z "$(pg_bin)" ] || ! have_postgis || ! command -v gdalinfo >/dev/null || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "Installing PostgreSQL, PostGIS and Node.js from Debian packages"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! command -v apt-get >/dev/null; then
    echo "error: PostgreSQL+PostGIS and Node.js are needed and this is not a Debian/Ubuntu machine." >&2
    echo "Install them with your package manager (postgresql, postgis, nodejs, npm), then re-run." >&2
    exit 1
  fi
  $SUDO apt-get update -q
  pkgs="postgresql postgresql-contrib gdal-bin"
  # the PostGIS package is named after the server's major version
  pgver=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1)
  pkgs="$pkgs postgresql-${pgver:-15}-postgis-3"
  command -v node >/dev/null || pkgs="$pkgs nodejs"
  command -v npm >/dev/null || pkgs="$pkgs npm"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $pkgs
fi

# --- Debian's chromium (the browser tests drive it with Playwright, which never downloads one) and
# --- bubblewrap (labhelpers grade runs each submission in its own sandbox) ---
tools=""
command -v chromium >/dev/null || tools="$tools chromium"
command -v bwrap >/dev/null || tools="$tools bubblewrap"
if [ -n "$tools" ] && ! command -v apt-get >/dev/null; then
  echo "warning:$tools not installed; the browser tests need /usr/bin/chromium, grading needs bwrap." >&2
elif [ -n "$tools" ]; then
  say "Installing$tools from Debian packages"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $tools \
    || { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $tools; }
fi

# --- Python packages -------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "Creating the Python virtual environment .venv"
  "$PY" -m venv .venv
fi
say "Installing Python packages (pinned; constraints.txt): labhelpers, labhelpers-standin, labhelpers-course"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e ".[lab,test]" -e "./standin[hub]" -e "./course[book]"
.venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (labhelpers)" >/dev/null

# --- npm packages: Azurite, and MathJax for the book -------------------------------------------
npm_want=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
if [ "$(cat node_modules/.labhelpers-stamp 2>/dev/null)" != "$npm_want" ]; then
  say "Installing Azurite and MathJax (npm)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_want" > node_modules/.labhelpers-stamp
fi
# The stand-in looks for azurite-blob on PATH and beside the venv's python: link it there.
ln -sf "$PWD/node_modules/.bin/azurite-blob" .venv/bin/azurite-blob
# The classroom hub looks for configurable-http-proxy the same way.
ln -sf "$PWD/node_modules/.bin/configurable-http-proxy" .venv/bin/configurable-http-proxy

# --- The classroom hub's students' account ------------------------------------------------------
# `labhelpers hub up` as root runs every student's server, kernel and Dask worker as this one
# unprivileged account (docs/hub.md), never as root.
if ! id labhub >/dev/null 2>&1; then
  say "Creating the unprivileged account labhub (the classroom hub's students' code runs as it)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin labhub \
    || id labhub >/dev/null 2>&1  # another set-up made it meanwhile
fi

# --- The student runtime -----------------------------------------------------------------------
# Unprivileged accounts run the classroom hub's student servers and the sandboxed grading kernels.
# They cannot use .venv: its Python may live in a private home (pyenv under /root) and the checkout
# itself may be private. So a second venv is made with the system Python, outside the checkout,
# readable by everyone, holding a copy (not an editable link) of the student library.
if [ "$(cat "$runtime/.labhelpers-stamp" 2>/dev/null)" != "$runtime_want" ]; then
  say "Building the student runtime in $runtime (system Python, readable by unprivileged accounts)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  sys_python=/usr/bin/python3
  [ -x "$sys_python" ] || { echo "error: $sys_python is needed for the student runtime (apt-get install python3 python3-venv)." >&2; exit 1; }
  $SUDO mkdir -p "$(dirname "$runtime")"
  tmp_constraints=$(mktemp)
  # The system Python (Debian 12: 3.11.2) is older than the one constraints.txt was resolved with;
  # the one pin it cannot install is replaced by the newest release it can.
  sed -e 's/^soupsieve==.*/soupsieve==2.10/' constraints.txt > "$tmp_constraints"
  ( umask 022
    [ -x "$runtime/bin/python" ] || $SUDO "$sys_python" -m venv "$runtime"
    $SUDO "$runtime/bin/python" -m pip install -q --upgrade pip
    $SUDO "$runtime/bin/python" -m pip install -q -c "$tmp_constraints" -r scripts/runtime-requirements.txt
    # a copy of the student library as it is now (pip would keep an older build of the same version)
    $SUDO "$runtime/bin/python" -m pip install -q --no-deps --force-reinstall .
    echo "$runtime_want" | $SUDO tee "$runtime/.labhelpers-stamp" >/dev/null )
  rm -f "$tmp_constraints"
  $SUDO chmod -R a+rX "$runtime"
fi
# Tell the instructor environment where it is (labhelpers_standin.runtime reads this file).
mkdir -p .venv/etc/labhelpers
echo "$runtime" > .venv/etc/labhelpers/runtime

echo "$want" > "$stamp"
say "Set-up complete"
