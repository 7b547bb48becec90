"""The release files agree with each other: one version number in CITATION.cff, CHANGELOG.md's newest
heading and the three packages; both licences are there in full; README says how to build the book
and how releases are tagged."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_one_version_in_citation_changelog_and_the_three_packages():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors", "version", "license"):
        assert cff.get(key), f"CITATION.cff lacks {key!r}"
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}
    newest = re.search(r"^## (\d+\.\d+\.\d+)\b", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), flags=re.M)
    assert newest, "CHANGELOG.md has no '## X.Y.Z' heading"
    versions = {path: tomllib.loads((ROOT / path).read_text(encoding="utf-8"))["project"]["version"]
                for path in ("pyproject.toml", "standin/pyproject.toml", "course/pyproject.toml")}
    versions |= {"CITATION.cff": str(cff["version"]), "CHANGELOG.md": newest.group(1)}
    assert len(set(versions.values())) == 1, f"one release, one version (README: Versions): {versions}"


def test_both_licences_are_there_in_full():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    content = (ROOT / "LICENSE-CONTENT").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International Public License" in content
    for number in range(1, 9):
        assert re.search(rf"^Section {number} – ", content, flags=re.M), f"LICENSE-CONTENT lacks Section {number}"


def test_readme_says_how_to_build_the_book_and_tag_a_release():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make book" in readme and "git tag" in readme and "CHANGELOG.md" in readme
