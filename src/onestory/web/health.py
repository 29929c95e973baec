"""``/healthz``: whether the service is up and can reach its database."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]


def database_reachable(engine: Engine) -> bool:
    """Whether ``SELECT 1`` succeeds."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


@router.get(
    "/healthz",
    response_model=Health,
    summary="Check the service and its database",
    responses={503: {"model": Health, "description": "The database cannot be reached"}},
)
def healthz(request: Request) -> JSONResponse:
    if database_reachable(request.app.state.engine):
        return JSONResponse(Health(status="ok", database="ok").model_dump())
    return JSONResponse(
        Health(status="unavailable", database="unreachable").model_dump(), status_code=503
    )
