"""A network blip is not a restart: when the page's stream socket drops and reconnects to the
same server process, the page keeps its state (no reload; ``test_restart`` covers a new
process, which reloads). The blip is made by a local TCP relay between Chromium and the
server whose open connections are cut."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.support.browser import IDLE, free_port

pytestmark = pytest.mark.browser


class Relay:
    """127.0.0.1:``port`` -> the server; ``cut()`` drops every open connection."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


def test_a_blip_reconnects_without_reloading_the_page(browser, server):
    relay = Relay(int(server.rstrip("/").rsplit(":", 1)[1]))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{relay.port}/about")
        page.wait_for_selector(IDLE, timeout=90_000)
        page.wait_for_function("() => window.optlabReloadOnReconnect === true", timeout=30_000)
        page.evaluate("() => { window.optlabBeforeBlip = true; }")
        relay.cut()
        page.wait_for_function("() => (window.optlabReconnects || 0) >= 1", timeout=60_000)
        time.sleep(1.0)  # a reload, had one been asked for, would have happened by now
        assert page.evaluate("() => window.optlabBeforeBlip === true"), "the page reloaded"
        page.wait_for_selector(IDLE, timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        context.close()
        relay.close()
