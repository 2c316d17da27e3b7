"""Page-number pagination with a ceiling on the page size."""

from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M``; M is capped by ATTEST_API_MAX_PAGE_SIZE."""

    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # read at request time so tests can override the setting
        return settings.ATTEST_API_MAX_PAGE_SIZE
