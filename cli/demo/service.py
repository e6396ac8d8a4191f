#!/usr/bin/env python3
"""The small live system of `achilles demo` and the drill tests: a web backend that calls a
data store on every request, and the data store. Each process renames itself (prctl) so that
the agent can target it by process name, as it would a real daemon.

  service.py web   --name web-1 --port 8081 --store 127.0.0.1:16379
  service.py store --name store --port 6379
  service.py web   --name web-2 --port 8082 --store 127.0.0.1:16379 --restart-after 0.5

With --restart-after, a supervisor process (named sup-NAME) runs the service as its child and
starts it again that many seconds after it dies, as systemd's Restart=always would; SIGTERM
to the supervisor stops both, and the child dies with its supervisor.
"""
import argparse
import ctypes
import http.server
import os
import signal
import socket
import socketserver
import sys
import time


def prctl(option, value):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except OSError:
        pass


def set_process_name(name):
    prctl(15, name.encode()[:15])  # PR_SET_NAME


def supervise(args, run):
    """Runs `run` in a child, again and again, until SIGTERM or SIGINT."""
    set_process_name("sup-" + args.name)
    child = 0
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        child = os.fork()
        if child == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the supervisor
            set_process_name(args.name)
            run(args)
            os._exit(0)
        while True:
            try:
                os.waitpid(child, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
        child = 0
        if not stopping:
            time.sleep(args.restart_after)


def ask_store(address, timeout):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(b"GET greeting\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data.endswith(b"\n"):
        raise ConnectionError("the store closed the connection")
    return data.decode().strip()


def run_web(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, "ok\n")
                return
            try:
                value = ask_store(args.store, args.store_timeout)
                self.reply(200, "%s: %s\n" % (args.name, value))
            except OSError as e:
                self.reply(502, "%s: the store failed: %s\n" % (args.name, e))

        def reply(self, status, text):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *unused):
            pass

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # a client that hung up early (a health check) is not worth a traceback

    server = Server((args.bind, args.port), Handler)
    print("%s listening on %s:%d" % (args.name, args.bind, args.port), flush=True)
    server.serve_forever()


def run_store(args):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                if line.strip():
                    self.wfile.write(b"hello from the store\n")

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass

    server = Server((args.bind, args.port), Handler)
    print("%s listening on %s:%d" % (args.name, args.bind, args.port), flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=["web", "store"])
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bind", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1; the network lab binds "
                        "its namespace's address)")
    p.add_argument("--store", help="HOST:PORT of the store (web)")
    p.add_argument("--store-timeout", type=float, default=1.0)
    p.add_argument("--restart-after", type=float,
                   help="supervise: start the service again this many seconds after it dies")
    args = p.parse_args()
    run = run_web if args.role == "web" else run_store
    try:
        if args.restart_after is not None:
            supervise(args, run)
        else:
            set_process_name(args.name)
            run(args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
