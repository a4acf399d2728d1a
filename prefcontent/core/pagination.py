from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination

from prefcontent.core.errors import InvalidInput


class BoundedPagination(PageNumberPagination):
    """`?page=&page_size=`; a page size above the bound is a 400, not silently clamped."""

    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:
        return settings.MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise InvalidInput("page_size must be an integer.", code="invalid_page_size") from None
        if size < 1 or size > self.max_page_size:
            raise InvalidInput(
                f"page_size must be between 1 and {self.max_page_size}.",
                code="invalid_page_size",
                details={"max_page_size": self.max_page_size},
            )
        return size
