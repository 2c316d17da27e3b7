"""Page-number pagination with a ceiling on the page size, and a page size that must be a number."""

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class StrictPageSize:
    """``?page_size=M``: a whole number of at least 1 (else a 400 naming it), capped by
    ATTEST_API_MAX_PAGE_SIZE. DRF's own reading falls back to the default page size on anything
    else, so ``?page_size=abc`` would answer 200 to what the schema calls an invalid request."""

    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # read at request time so tests can override the setting
        return settings.ATTEST_API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() or int(values[0]) < 1:
            raise ValidationError({self.page_size_query_param: ["A whole number of at least 1, given once."]})
        return min(int(values[0]), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"{parameter.get('description', '')} Larger values are served as {self.max_page_size}."
                ).strip()
            if parameter["name"] == getattr(self, "page_query_param", None):
                parameter["schema"]["minimum"] = 1
        return parameters


class PageNumberPagination(StrictPageSize, pagination.PageNumberPagination):
    """``?page=N&page_size=M``; M is capped by ATTEST_API_MAX_PAGE_SIZE."""
