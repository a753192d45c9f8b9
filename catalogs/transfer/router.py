"""HTTP routes for catalogs.transfer."""

from fastapi import APIRouter

router = APIRouter()
