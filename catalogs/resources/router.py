"""HTTP routes for catalogs.resources."""

from fastapi import APIRouter

router = APIRouter()
