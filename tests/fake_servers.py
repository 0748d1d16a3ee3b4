"""Tiny misbehaving Redis servers for fault tests: each serves on a free loopback
port from a thread, answers every connection with a fixed script, and stops by
itself when the test ends (or after `lifetime` seconds)."""
import socket
import threading
import time


class FakeServer:
    def __init__(self, reply=None, close_after_reply=False, lifetime=20.0, then=b'', times=0):
        self.reply = reply                    # bytes sent after the first request, or None: silence
        self.close_after_reply = close_after_reply
        self.then, self.times = then, times   # sent `times` times after the reply, while the client reads
        self.lifetime = lifetime
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.sock.settimeout(0.02)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self):
        return 'redis://127.0.0.1:%d' % self.port

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()

    def _serve(self):
        deadline = time.monotonic() + self.lifetime
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._answer, args=(conn, deadline), daemon=True).start()

    def _answer(self, conn, deadline):
        conn.settimeout(0.02)
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                if not conn.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return
            if self.reply is not None:
                try:
                    conn.settimeout(2.0)
                    conn.sendall(self.reply)
                    for _ in range(self.times):
                        if self.stopped.is_set():
                            return
                        conn.sendall(self.then)
                except OSError:
                    return                      # the client gave up on us
                conn.settimeout(0.02)
                if self.close_after_reply:
                    conn.close()
                    return
