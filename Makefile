# Thin wrappers; every target installs what it needs first (scripts/setup.sh is idempotent).
VENV := .venv/bin
SIZE ?= ci
CLASS ?= docs/class-list.example.txt

.PHONY: setup lab test jupyter offline-up offline-down offline-status hub-up hub-down build-data exercises bench clean

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

## The classroom hub on the offline stand-in for the class list CLASS (docs/hub.md): prints the URL
## students open and the path of the credentials file to hand out.
hub-up: setup offline-up
	$(VENV)/labhelpers hub up --profile offline --class-list $(CLASS)

## Stop the hub (students' homes and credentials stay), then the stand-in.
hub-down:
	$(VENV)/labhelpers hub down
	$(VENV)/labhelpers offline down

build-data: setup
	$(VENV)/labhelpers offline build --size $(SIZE)

exercises: setup
	$(VENV)/labhelpers exercises

bench: setup
	$(VENV)/python benchmarks/run.py

clean:
	rm -rf build .pytest_cache
