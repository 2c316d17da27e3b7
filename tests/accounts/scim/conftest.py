"""A live Attest for scim2-tester that answers on the test's own database connection.

Django's ``live_server`` opens a database connection per request (the request's thread) and needs a
transactional test, flushed afterwards: about 150 requests cost a connection each, and the flush seconds
more. This server is real HTTP on 127.0.0.1 through the whole middleware stack, but its request threads
use the test's connection (as Django's live server does with an in-memory SQLite database), inside the
test's transaction, which is rolled back at the end. Requests are sequential (the test waits on each), so
the connection is never used by two threads at once.
"""

from __future__ import annotations

import socket

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler, _StaticFilesHandler


class _SharedConnectionServer(ThreadedWSGIServer):
    def _close_connections(self):
        """The connection is the test's, in its transaction: it stays open."""

    def get_request(self):
        """No Nagle delay: the handler writes the headers and the body separately, and the client's
        delayed ACK would hold the body back ~40 ms on every response."""
        request, address = super().get_request()
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return request, address


class _SharedConnectionThread(LiveServerThread):
    server_class = _SharedConnectionServer

    def run(self):
        """LiveServerThread.run without closing the connections at the end (they are the test's)."""
        for alias, conn in self.connections_override.items():
            connections[alias] = conn
        try:
            self.httpd = self._create_server(connections_override=self.connections_override)
            self.port = self.httpd.server_address[1]
            self.httpd.set_app(_StaticFilesHandler(WSGIHandler()))
            self.is_ready.set()
            self.httpd.serve_forever()
        except Exception as error:  # reported to the test by the fixture
            self.error = error
            self.is_ready.set()

    def _create_server(self, connections_override=None):
        return self.server_class(
            ("127.0.0.1", 0),
            QuietWSGIRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


@pytest.fixture
def shared_live_server(db):
    """The base URL of a live server on the test's connection (see the module's docstring)."""
    connection = connections["default"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    connection.inc_thread_sharing()
    thread = _SharedConnectionThread("127.0.0.1", _StaticFilesHandler, {"default": connection})
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        connection.dec_thread_sharing()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
