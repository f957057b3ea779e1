#!/usr/bin/env python3
"""Prints crashes as they happen, speaking pmtui's socket protocol directly (docs/protocol.md).

    python3 examples/events.py            # crashes of every process
    python3 examples/events.py --all api  # every event of the process `api`

Standard library only. Connects to $PMTUI_HOME/pmtui.sock (default ~/.pmtui), says hello,
sends an `events` request and prints each event it pushes until interrupted.
"""
import json, os, socket, struct, sys

PROTOCOL = 2
MORE = 0x80000000  # top bit of a part's length word: more parts of this message follow


def send(sock, message):
    data = json.dumps(message).encode()
    # Parts of at most 1 MiB; the messages sent here are always one part.
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive(sock):
    message = b""
    while True:
        (word,) = struct.unpack(">I", read_exactly(sock, 4))
        message += read_exactly(sock, word & ~MORE)
        if not word & MORE:
            return json.loads(message)


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit("the daemon closed the connection")
        data += chunk
    return data


def main():
    args = sys.argv[1:]
    everything = "--all" in args
    targets = [a for a in args if a != "--all"]
    home = os.environ.get("PMTUI_HOME") or os.path.expanduser("~/.pmtui")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.path.join(home, "pmtui.sock"))
    send(sock, {"hello": {"protocol": PROTOCOL, "client": "events.py"}})
    hello = receive(sock)
    if "hello" not in hello:  # a daemon of another protocol says why
        sys.exit(hello["reply"]["response"]["message"])
    send(sock, {"request": {"id": 1, "request": {"cmd": "events", "targets": targets}}})
    reply = receive(sock)["reply"]["response"]
    if reply["type"] == "error":
        sys.exit(reply["message"])
    print(f"following {', '.join(targets) or 'every process'} (pmtui {hello['hello']['version']})", flush=True)
    while True:
        frame = receive(sock)
        if "reply" in frame:  # id 0: the daemon's own note ("N events were missed ...")
            print(frame["reply"]["response"].get("message", ""), file=sys.stderr, flush=True)
            continue
        event = frame.get("event", {})
        if event.get("event") != "app":
            continue
        e = event["app"]
        if everything or e["event"] == "crash":
            pid = e["pid"] if e["pid"] is not None else "-"
            print(f"{e['event']:<12} {e['name']} (id {e['id']}) pid {pid}: {e['detail'] or e['reason'] or ''}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
