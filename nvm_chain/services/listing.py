"""Pagination and sorting of on-chain listings with payments-py's ``PaginationOptions`` (services layer).

The chain has no paged queries: a listing (plans a creator registered, agents listing a plan, plans an agent
lists) is read whole, then sorted and sliced here the way the backend pages its lists: ``page`` (from 1),
``offset`` (the page size), ``sort_by`` (``"created"``: registration or listing order, the default; ``"id"``)
and ``sort_order`` (``"desc"``, payments-py's default, or ``"asc"``). Without pagination the whole listing comes
back in its natural order on one page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from pydantic import BaseModel

from nvm_chain.errors import ValidationError
from nvm_chain.rest.documents import PaginationOptions

SORT_KEYS = ("created", "id")


def pagination_options(value: Any) -> PaginationOptions | None:
    """``value`` as a :class:`PaginationOptions`: None, the model itself, payments-py's model or any object
    with its attributes, or a mapping (``{"page": 1, "offset": 10}``, snake_case or camelCase keys).

    Raises:
        ValidationError: a bad page (below 1), page size (1 to 1000), sort order or sort key.
    """
    if value is None or isinstance(value, PaginationOptions):
        options = value
    else:
        if isinstance(value, BaseModel):
            value = value.model_dump()
        elif not isinstance(value, Mapping):
            value = {k: getattr(value, k) for k in ("page", "offset", "sort_by", "sort_order") if hasattr(value, k)}
        try:
            options = PaginationOptions.model_validate({k: v for k, v in dict(value).items() if v is not None})
        except pydantic.ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValidationError(f"invalid pagination: {problems}") from None
    if options is not None and options.sort_by not in (None, *SORT_KEYS):
        raise ValidationError(f"pagination sort_by must be one of {', '.join(SORT_KEYS)} on chain, "
                              f"got {options.sort_by!r}")
    return options


def paginate(ids: Sequence[int], pagination: Any) -> dict[str, Any]:
    """``{"total", "page", "offset", "items"}`` for one page of ``ids`` (given in creation order).

    Raises:
        ValidationError: malformed pagination (see :func:`pagination_options`).
    """
    options = pagination_options(pagination)
    if options is None:
        return {"total": len(ids), "page": 1, "offset": len(ids), "items": tuple(ids)}
    ordered = sorted(ids) if options.sort_by == "id" else list(ids)
    if options.sort_order == "desc":
        ordered.reverse()
    start = (options.page - 1) * options.offset
    return {"total": len(ids), "page": options.page, "offset": options.offset,
            "items": tuple(ordered[start:start + options.offset])}
