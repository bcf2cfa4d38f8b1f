"""What the gateway's areas share: the path parameters (each id with its one grammar from
shared/ids.py, so a path that breaks it is answered 422 before anything is made of it) and
the documented refusals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from shared.http_guard import ErrorDetail
from shared.ids import OPERATION_ID_PATTERN, SERVICE_ID_PATTERN

ServiceId = Annotated[
    str, Path(pattern=SERVICE_ID_PATTERN, description="A service id: the manifest's `id`")
]
OperationId = Annotated[str, Path(pattern=OPERATION_ID_PATTERN, description="An operation id")]
Wait = Annotated[
    float, Query(ge=0, le=600, description="Seconds to wait for the result; 0: do not wait")
]

NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorDetail, "description": "No such service or operation"}
}
# FastAPI answers 400 for a body it cannot even decode (bytes that are not UTF-8).
UNREADABLE: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorDetail, "description": "The body is not readable as JSON text"}
}
UNANSWERED: dict[int | str, dict[str, object]] = {
    504: {"model": ErrorDetail, "description": "The service that holds the answer did not answer"}
}
REFUSED: dict[int | str, dict[str, object]] = {
    502: {"model": ErrorDetail, "description": "The service that holds the answer refused"}
}
