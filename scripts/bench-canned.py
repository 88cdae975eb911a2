"""The shipped bgtool against the physical limit of one DescribeTaskDefinition call.

Usage: bench-canned.py ROUNDS NAME=COMMAND...

A loopback server answers every request with the same canned DescribeTaskDefinition response
(examples/describe-task-definition.json), so the server costs the same for every client and
what is measured is the client. Each round runs every command once, in turn (so a busy moment
of the machine falls on all of them alike); the medians are compared with the first command.
Part of scripts/bench; not a test: timings depend on the machine.
"""

import http.server
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import threading
import time

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]


def serve():
    described = json.loads((REPOSITORY / "examples" / "describe-task-definition.json").read_text())
    body = json.dumps(described).encode()

    class Canned(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    rounds = int(sys.argv[1])
    commands = [argument.split("=", 1) for argument in sys.argv[2:]]
    server = serve()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    environment = dict(os.environ, AWS_ENDPOINT_URL=endpoint, BENCH_ENDPOINT=endpoint)
    times = {name: [] for name, _ in commands}
    for name, command in commands:  # warm-up, and a check that each command works
        subprocess.run(command, shell=True, check=True, env=environment, stdout=subprocess.DEVNULL)
    for _ in range(rounds):
        for name, command in commands:
            started = time.perf_counter_ns()
            subprocess.run(command, shell=True, check=True, env=environment, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter_ns() - started) / 1e6)
    server.shutdown()
    first = commands[0][0]
    reference = commands[-1][0]
    print(f"taskdef against a canned loopback server, {rounds} interleaved rounds (median wall time)")
    for name, _ in commands:
        median = statistics.median(times[name])
        print(f"  {name:<28} {median:7.2f} ms  {median / statistics.median(times[reference]):5.2f}x {reference}")
    ratio = statistics.median(times[first]) / statistics.median(times[reference])
    print(f"  {first} takes {ratio:.2f}x {reference}'s time (goal <= 1.1x)")


if __name__ == "__main__":
    main()
