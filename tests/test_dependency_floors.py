"""Installed dependencies include the releases with the security fixes we rely on (no
vulnerability database is reachable from CI, so the floors are checked here)."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

FLOORS = {
    "tornado": "6.6.1",
    "redis": "8.0",
    "bcrypt": "4.1",
    "pymongo": "4.9",
    "pillow": "13.0",
}


@pytest.mark.parametrize(("package", "floor"), FLOORS.items())
def test_the_installed_release_is_at_least_the_fixed_one(package: str, floor: str) -> None:
    assert Version(version(package)) >= Version(floor)


@pytest.mark.parametrize(("package", "floor"), FLOORS.items())
def test_pyproject_demands_the_fixed_release(package: str, floor: str) -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    requirements = {
        Requirement(r).name: Requirement(r) for r in pyproject["project"]["dependencies"]
    }
    specifier = requirements[package].specifier
    assert any(s.operator == ">=" and Version(s.version) >= Version(floor) for s in specifier)
