"""ASGI entry point for uvicorn (``uvicorn --factory router.asgi:create``); part of the composition root."""

from __future__ import annotations

from fastapi import FastAPI

from queues.runtime import open_app_context
from router.app import create_app
from router.settings import get_settings


def create() -> FastAPI:
    return create_app(get_settings(), open_app_context)
