"""The catalogue's routers, gathered for the app factory."""

from fastapi import APIRouter

from catalogs.dcat.router import router as dcat_router
from catalogs.departments.router import router as departments_router
from catalogs.onethings.router import router as onethings_router
from catalogs.resources.router import router as resources_router
from catalogs.transfer.router import router as transfer_router

router = APIRouter()
router.include_router(departments_router)
router.include_router(transfer_router)  # before resources: its paths are more specific
router.include_router(resources_router)
router.include_router(onethings_router)
router.include_router(dcat_router)
