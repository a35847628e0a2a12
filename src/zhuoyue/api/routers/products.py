"""``/products``: the organization's products."""

from __future__ import annotations

from fastapi import APIRouter, Response

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Limit, Offset, Ref
from zhuoyue.api.schemas import PageOut, ProductIn, ProductOut, ProductPatch
from zhuoyue.services import masterdata

__all__ = ["router"]

router = APIRouter(prefix="/products", tags=["master data"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[ProductOut])
def list_products(
    principal: CurrentPrincipal, db: Db, limit: Limit = 100, offset: Offset = 0
) -> PageOut[ProductOut]:
    """The products, by code."""
    page = masterdata.list_products(db, principal, limit=limit, offset=offset)
    return PageOut[ProductOut].of(page, [ProductOut.of(p) for p in page.items])


@router.post("", response_model=ProductOut, status_code=201)
def create_product(body: ProductIn, principal: CurrentPrincipal, db: Db) -> ProductOut:
    """Create a product."""
    return ProductOut.of(masterdata.create_product(db, principal, body.model_dump()))


@router.get("/{ref}", response_model=ProductOut)
def get_product(ref: Ref, principal: CurrentPrincipal, db: Db) -> ProductOut:
    """One product, by id or code."""
    return ProductOut.of(masterdata.get_product(db, principal, ref))


@router.patch("/{ref}", response_model=ProductOut)
def update_product(ref: Ref, body: ProductPatch, principal: CurrentPrincipal, db: Db) -> ProductOut:
    """Change a product's code or name."""
    changes = body.model_dump(exclude_unset=True)
    return ProductOut.of(masterdata.update_product(db, principal, ref, changes))


@router.delete("/{ref}", status_code=204)
def delete_product(ref: Ref, principal: CurrentPrincipal, db: Db) -> Response:
    """Delete a product nothing refers to."""
    masterdata.delete_product(db, principal, ref)
    return Response(status_code=204)
