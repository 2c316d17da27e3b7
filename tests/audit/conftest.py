"""Audit-log fixtures: a signing key made in the per-test key folder (``audit_files``, tests/conftest.py), events written through ``record``, and a way past the
append-only triggers for the tests that tamper on purpose (the test database user is a superuser)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from accounts import context
from audit import keys, protection, record
from audit import verifier as chain_verifier


@pytest.fixture
def signing_key(audit_files):
    keys.generate(keys.signing_key_path())
    return keys.signing_key_path()


def write_events(count: int, *, actor=None, action: str = "system.worker_ping", **fields) -> list:
    """``count`` events, each in its own (nested) transaction like a service's."""
    events = []
    for index in range(count):
        with transaction.atomic():
            events.append(record(action=action, actor=actor, after={"index": index}, **fields))
    return events


@contextlib.contextmanager
def unprotected() -> Iterator[None]:
    """Switch the audit triggers off for a block of deliberate tampering, then on again (ALWAYS)."""
    tables = list(protection.TRIGGERS)
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses while this test's deferred foreign-key checks are pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in protection.suspend_sql(tables):
            cursor.execute(sql)
        try:
            yield
        finally:
            for sql in protection.restore_sql(tables):
                cursor.execute(sql)


def tamper(sql: str, params: list | tuple = ()) -> None:
    with unprotected(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify(**options) -> chain_verifier.Report:
    options.setdefault("public_keys", keys.public_keys())
    return chain_verifier.verify(**options)


def codes_at(report: chain_verifier.Report, seq: int) -> set[str]:
    return {problem.code for problem in report.problems if problem.seq == seq}


@pytest.fixture
def web_context():
    """A request context like the middleware binds, for events that need who/where."""
    ctx = context.RequestContext(
        request_id="req-test-1", auth_method="session", client_ip="10.1.2.3", user_agent="pytest/1.0"
    )
    with context.bound(ctx):
        yield ctx
