"""HTTP routes for catalogs.dcat."""

from fastapi import APIRouter

router = APIRouter()
