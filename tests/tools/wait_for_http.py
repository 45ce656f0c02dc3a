#!/usr/bin/env python3
"""Waits until a URL answers HTTP (any status), for servers the Makefile starts.

    wait_for_http.py URL [SECONDS]

Exits 0 once the server answers, 1 after SECONDS (default 20) without an answer.
"""
import sys
import time
import urllib.error
import urllib.request


def main() -> int:
    url = sys.argv[1]
    deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 20)
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return 0
        except urllib.error.HTTPError:
            return 0  # it answered, with an error status: it is up
        except OSError:
            time.sleep(0.2)
    print(f"wait_for_http: {url} did not answer", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
