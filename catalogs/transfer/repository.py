"""Queries an import needs in bulk: the departments and entries a file names."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.resources.models import Resource

_CHUNK = 500  # keeps IN lists well under every backend's bound-parameter limit


def _chunks(values: Iterable[str]) -> list[list[str]]:
    unique = sorted(set(values))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def departments_by_code(session: Session, codes: Iterable[str]) -> dict[str, Department]:
    """Return the departments among ``codes``, keyed by code."""
    found: dict[str, Department] = {}
    for chunk in _chunks(codes):
        for department in session.scalars(select(Department).where(Department.code.in_(chunk))):
            found[department.code] = department
    return found


def resources_by_code(session: Session, codes: Iterable[str]) -> dict[str, Resource]:
    """Return the catalogue entries among ``codes``, keyed by code."""
    found: dict[str, Resource] = {}
    for chunk in _chunks(codes):
        for resource in session.scalars(select(Resource).where(Resource.code.in_(chunk))):
            found[resource.code] = resource
    return found
