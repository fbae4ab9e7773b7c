"""Fixtures of the text tests: a guard that fails any attempt to open a network connection."""

import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Make every outgoing connection raise, so a test proves that loading stays offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
