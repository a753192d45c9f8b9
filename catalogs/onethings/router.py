"""HTTP routes for catalogs.onethings."""

from fastapi import APIRouter

router = APIRouter()
