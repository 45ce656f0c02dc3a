"""Creates the bucket argv[2] with one object, `hello.txt`, through the local
emulator at argv[1] (the hooks send about half of the object requests there).
Used by `make test-schemathesis`, after tests/tools/wait_for_http.py."""

import sys
import urllib.request

base, bucket = sys.argv[1].rstrip("/"), sys.argv[2]
for path, body in ((f"/{bucket}", None), (f"/{bucket}/hello.txt", b"hello, schemathesis\n")):
    request = urllib.request.Request(base + path, data=body, method="PUT")
    request.add_header("Content-Type", "text/plain")
    urllib.request.urlopen(request, timeout=10)
