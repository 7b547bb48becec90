# Thin wrappers; every target installs what it needs first (scripts/setup.sh is idempotent).
VENV := .venv/bin
SIZE ?= ci

.PHONY: setup lab test jupyter offline-up offline-down offline-status build-data exercises bench clean

setup:
	@bash scripts/setup.sh

## Run every lab notebook on the offline stand-in; executed notebooks + HTML land in build/.
lab: setup
	$(VENV)/labhelpers run --profile offline

## The lab as a static site that works offline: build/book/index.html. Built from build/notebooks when
## `make lab` wrote them (`make lab book`), else from the committed notebooks; see book/README.md.
.PHONY: book book-instructor
book: setup
	$(VENV)/labhelpers book

## The same plus the per-notebook instructor notes (docs/instructor-notes/): never give it to students.
book-instructor: setup
	$(VENV)/labhelpers book --instructor

## The whole test suite (unit, real services, notebooks).
test: setup
	$(VENV)/python -m pytest

## JupyterLab with the offline stand-in running (stop it after with `make offline-down`).
jupyter: setup offline-up
	LABHELPERS_PROFILE=offline $(VENV)/jupyter lab notebooks/

offline-up: setup
	$(VENV)/labhelpers offline up --size $(SIZE)

offline-down:
	$(VENV)/labhelpers offline down

offline-status:
	$(VENV)/labhelpers offline status

build-data: setup
	$(VENV)/labhelpers offline build --size $(SIZE)

exercises: setup
	$(VENV)/labhelpers exercises

bench: setup
	$(VENV)/python benchmarks/run.py

clean:
	rm -rf build .pytest_cache
