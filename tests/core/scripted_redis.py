"""A scripted fake Redis for the core tests: it serves on a free loopback port
from a child process, parses the commands the core sends (pipelined, several
per read), records each, and answers each with what the script says.

A script is a function from a command's arguments (a list of bytes) to its
reply, or a dict from argument tuples to replies; a command the script does
not know gets an error reply naming it.  A reply is the wire bytes, or an
iterable of chunks of them sent one after another (CLOSE among them closes
the connection there)."""
import ast
import multiprocessing
import os
import socket
import tempfile
import threading

CLOSE = object()


class Raw(bytes):
    """Wire bytes that resp() passes through unchanged (any RESP2 or RESP3 item)."""


def status(text):
    return Raw(b'+' + text + b'\r\n')


def error(text):
    return Raw(b'-' + text + b'\r\n')


def resp(value):
    """The RESP2 encoding of value: bytes as a bulk string, None as a nil,
    an int as an integer, a list or tuple as an array, Raw as itself."""
    if isinstance(value, Raw):
        return bytes(value)
    if isinstance(value, bytes):
        return b'$%d\r\n%s\r\n' % (len(value), value)
    if value is None:
        return b'$-1\r\n'
    if isinstance(value, int):
        return b':%d\r\n' % value
    return b'*%d\r\n' % len(value) + b''.join(resp(v) for v in value)


def parse_command(buf):
    """(arguments, bytes used) of the first whole command in buf, or None."""
    def line(pos):
        end = buf.find(b'\r\n', pos)
        return (None, None) if end < 0 else (buf[pos:end], end + 2)
    head, pos = line(0)
    if head is None:
        return None
    assert head[:1] == b'*', 'not a RESP array: %r' % buf[:40]
    args = []
    for _ in range(int(head[1:])):
        length, pos = line(pos)
        if length is None:
            return None
        assert length[:1] == b'$', 'not a bulk string: %r' % length
        n = int(length[1:])
        if len(buf) < pos + n + 2:
            return None
        args.append(bytes(buf[pos:pos + n]))
        pos += n + 2
    return args, pos


class ScriptedRedis:
    """The server runs in a child process, not a thread: the core holds the GIL
    while it waits for a reply, which would starve a thread of ours.  Each
    command is written to a file before its reply goes out, so once the core
    has a reply, the command is in self.commands."""

    def __init__(self, script, lifetime=60):
        self.script = (lambda args: script.get(tuple(args))) if isinstance(script, dict) else script
        self.lifetime = lifetime
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile(prefix='rw-fake-')
        self.proc = multiprocessing.get_context('fork').Process(target=self._run, daemon=True)

    @property
    def url(self):
        return 'redis://127.0.0.1:%d' % self.port

    @property
    def commands(self):
        """Every command received so far, each a list of bytes, in order."""
        with open(self.log.name) as f:
            return [ast.literal_eval(line) for line in f]

    def start(self):
        self.proc.start()
        return self

    def stop(self):
        self.proc.kill()
        self.proc.join()
        self.sock.close()
        self.log.close()

    def _run(self):
        threading.Timer(self.lifetime, os._exit, (0,)).start()     # never outlive a lost test
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)    # replies go out one by one
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = bytearray()
        with conn:
            while True:
                parsed = parse_command(buf)
                if parsed is None:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                    continue
                args, used = parsed
                del buf[:used]
                os.write(self.log.fileno(), repr(args).encode() + b'\n')   # one write: whole lines
                reply = self.script(args)
                if reply is None:
                    reply = resp(error(b'ERR unscripted command ' + b' '.join(args)))
                try:
                    for chunk in [reply] if isinstance(reply, bytes) else reply:
                        if chunk is CLOSE:
                            return
                        conn.sendall(chunk)
                except OSError:
                    return                  # the client gave up on us
