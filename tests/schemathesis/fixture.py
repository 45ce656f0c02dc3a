"""Waits for the emulator at argv[1], then creates the bucket argv[2] with
one object, `hello.txt` (the hooks send about half of the object requests
there). Used by `make test-schemathesis`."""

import sys
import time
import urllib.request

base, bucket = sys.argv[1].rstrip("/"), sys.argv[2]
for _ in range(150):
    try:
        urllib.request.urlopen(base + "/", timeout=2)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit(f"the emulator at {base} did not answer")
for path, body in ((f"/{bucket}", None), (f"/{bucket}/hello.txt", b"hello, schemathesis\n")):
    request = urllib.request.Request(base + path, data=body, method="PUT")
    request.add_header("Content-Type", "text/plain")
    urllib.request.urlopen(request, timeout=10)
