"""HTTP routes for catalogs.departments."""

from fastapi import APIRouter

router = APIRouter()
