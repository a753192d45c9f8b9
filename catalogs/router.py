"""The catalogue's routers, gathered for the app factory."""

from fastapi import APIRouter

router = APIRouter()
