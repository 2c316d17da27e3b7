"""The contract tests' marker, registered here as well as in pyproject.toml so that
``pytest -m contract`` selects them (and ``-m "not contract"`` leaves them out)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "contract: schemathesis against a live server (the API keeps its OpenAPI schema)"
    )
