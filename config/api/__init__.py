"""Shared REST API machinery: the error body, strict JSON parsing, pagination and the scoped base viewset."""
