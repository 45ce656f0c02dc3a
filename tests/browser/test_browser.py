"""The API in a real browser: headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium) against `s3-proxy-local`, the binary of
`make run`, on a free 127.0.0.1 port over a temporary data folder.

1. A person browses the HTML index: `/`, a bucket, a folder, a breadcrumb
   back up, and downloads an object by its link (bytes compared).
2. A web app on another origin (another loopback port, served here) calls the
   API with `fetch`: PUT random bytes as image/png, GET them back, read the
   ETag, see a real 404; a page on an origin CORS does not allow is blocked.
3. The rendered index: DOM checks (folders first, sizes, breadcrumbs, the
   style the CSP allows applied, no script) and a screenshot under target/.
4. Keys made of markup are inert on the page.
5. Stream mode (`RESPONSE_MODE=stream`, a second emulator over the same
   folder): the web app reads a video's byte ranges, as a player seeks, and
   the whole object chunk by chunk, with the headers CORS exposes.

Run by `make test-browser` (part of `make test`). Without Chromium it skips,
saying why, except on CI (CI=true), where a missing browser is a failure.
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("S3_PROXY_LOCAL_BIN", os.path.join(ROOT, "target/local/s3-proxy-local"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = os.path.join(ROOT, "target", "browser")
STAGE = "prod"

# Keys a test stores to try markup injection.
XSS_KEYS = [
    '"><img src=x onerror=alert(1)>',
    "</title><script>alert(1)</script>",
    "<svg onload=\"document.title='pwned'\">.txt",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppPage(http.server.BaseHTTPRequestHandler):
    """The web app's origin: one empty page; its script comes from the test."""

    def do_GET(self):
        body = b"<!DOCTYPE html><html><head><title>web app</title></head><body>app</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_app():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AppPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def key_path(key):
    """A key as one path segment (`/` as %2F), as the API takes it."""
    return urllib.parse.quote(key, safe="")


class Api:
    """Plain HTTP to the API, for setting up and checking what the browser did."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def put(self, bucket, key, body, content_type="application/octet-stream"):
        status, _, text = self.call("PUT", f"/{bucket}/{key_path(key)}", body, {"Content-Type": content_type})
        assert status == 200, (bucket, key, status, text)

    def get(self, bucket, key):
        return self.call("GET", f"/{bucket}/{key_path(key)}", headers={"Accept": "application/octet-stream"})


def start_proxy(data, app_origin, mode="buffered"):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        CORS_ALLOW_ORIGINS=app_origin,
        RUST_LOG="warn",
        RESPONSE_MODE=mode,
    )
    env.pop("HTML_INDEX", None)
    log = open(os.path.join(ARTIFACTS, f"s3-proxy-local-{mode}.log"), "wb")
    s3_port = str(free_port())
    proc = subprocess.Popen(
        [BIN, "--host", "127.0.0.1", "--port", str(port), "--s3-port", s3_port, "--data", data, "--stage", STAGE],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"s3-proxy-local exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(base + "/", timeout=2):
                break
        except (urllib.error.URLError, ConnectionError):
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError("s3-proxy-local did not answer within 30 s")
            time.sleep(0.1)
    return proc, base


def chromium(downloads, profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1100,720",
        "--lang=en-US",
    ]:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": downloads,
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=os.path.join(ARTIFACTS, "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def setUpModule():
    global DRIVER, PROXY, API, APP, APP_SERVER, OTHER, OTHER_SERVER, WORK, FILES, STREAMING, STREAM_API
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        message = (
            f"browser tests: {', '.join(missing)} not found; install Debian's chromium and "
            "chromium-driver (`make chromium` does it as root)"
        )
        if os.environ.get("CI") == "true":
            raise RuntimeError(message + " -- required on CI")
        raise unittest.SkipTest(message)
    if not os.access(BIN, os.X_OK):
        raise RuntimeError(f"{BIN} not built: `cargo build --profile local --bin s3-proxy-local`")
    os.makedirs(ARTIFACTS, exist_ok=True)
    WORK = tempfile.mkdtemp(prefix="s3-proxy-browser-")
    APP_SERVER, APP = serve_app()
    OTHER_SERVER, OTHER = serve_app()
    PROXY, base = start_proxy(os.path.join(WORK, "data"), APP)
    API = Api(base)
    STREAMING, stream_base = start_proxy(os.path.join(WORK, "data"), APP, mode="stream")
    STREAM_API = Api(stream_base)

    # What a person finds in the store.
    FILES = {
        "photos": {
            "cats/cat.png": (os.urandom(180_000), "image/png"),
            "cats/kittens/tiny.png": (os.urandom(2_345), "image/png"),
            "cats/notes.txt": (b"Cats sleep 16 hours a day.\n", "text/plain"),
            "dogs/dog.jpg": (os.urandom(1_250_000), "image/jpeg"),
            "holiday.mov": (os.urandom(3_100_000), "video/quicktime"),
            "README.md": (b"# Photos\n", "text/markdown"),
        },
        "xss-keys": {key: (f"content of {key}".encode(), "text/plain") for key in XSS_KEYS},
        # Where the web app of CrossOriginFetch uploads.
        "web-app": {},
    }
    FILES["xss-keys"]["dir<b>bold</b>/inside.txt"] = (b"inside", "text/plain")
    for bucket, objects in FILES.items():
        status, _, _ = API.call("PUT", f"/{bucket}")
        assert status == 200, bucket
        for key, (body, content_type) in objects.items():
            API.put(bucket, key, body, content_type)

    downloads = os.path.join(WORK, "downloads")
    os.makedirs(downloads)
    DRIVER = chromium(downloads, os.path.join(WORK, "profile"))
    DRIVER.downloads = downloads


def tearDownModule():
    for stop in [
        lambda: DRIVER.quit(),
        lambda: PROXY.terminate() or PROXY.wait(10),
        lambda: STREAMING.terminate() or STREAMING.wait(10),
        lambda: APP_SERVER.shutdown(),
        lambda: OTHER_SERVER.shutdown(),
        lambda: shutil.rmtree(WORK, ignore_errors=True),
    ]:
        try:
            stop()
        except NameError:
            pass
        except Exception as e:  # keep stopping the rest
            print(f"teardown: {e}", file=sys.stderr)


def wait_for(condition, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def by_css(selector):
    from selenium.webdriver.common.by import By

    return DRIVER.find_elements(By.CSS_SELECTOR, selector)


def link(text, scope="#listing"):
    from selenium.webdriver.common.by import By

    found = [a for a in DRIVER.find_elements(By.CSS_SELECTOR, f"{scope} a") if a.text == text]
    assert found, f"no link {text!r} in {scope}: {[a.text for a in by_css(scope + ' a')]}"
    return found[0]


def click_and_wait(element):
    old = DRIVER.current_url
    element.click()
    wait_for(lambda: DRIVER.current_url != old, f"navigation from {old}")
    wait_for(lambda: DRIVER.execute_script("return document.readyState") == "complete", "page load")


def fitted_screenshot(path, width=960):
    """A screenshot as tall as the page, not the window."""
    DRIVER.set_window_size(width, 400)
    chrome = 400 - DRIVER.execute_script("return window.innerHeight")
    height = DRIVER.execute_script("return document.documentElement.scrollHeight")
    DRIVER.set_window_size(width, height + chrome)
    try:
        assert DRIVER.save_screenshot(path), path
    finally:
        DRIVER.set_window_size(1100, 720)


def console():
    return [entry["message"] for entry in DRIVER.get_log("browser")]


def api_page(path):
    return f"{API.base}/{STAGE}{path}"


class IndexNavigation(unittest.TestCase):
    def test_browse_bucket_folder_breadcrumb_and_download(self):
        DRIVER.get(api_page("/"))
        self.assertEqual(DRIVER.title, "Buckets \u00b7 s3-proxy")
        self.assertEqual([a.text for a in by_css("#listing a")], ["photos", "web-app", "xss-keys"])

        click_and_wait(link("photos"))
        self.assertEqual(DRIVER.current_url, api_page("/photos"))
        self.assertEqual([a.text for a in by_css("tr.folder a")], ["cats/", "dogs/"])
        self.assertEqual([a.text for a in by_css("tr.object td.name a")], ["README.md", "holiday.mov"])

        click_and_wait(link("cats/"))
        self.assertIn("prefix <code>cats/</code>", DRIVER.page_source)
        self.assertEqual([a.text for a in by_css("tr.folder a")], ["kittens/"])
        self.assertEqual([a.text for a in by_css("tr.object td.name a")], ["cat.png", "notes.txt"])
        self.assertEqual([crumb.text.lstrip("/ ") for crumb in by_css("#crumbs li")], ["All buckets", "photos", "cats"])

        click_and_wait(link("kittens/"))
        self.assertEqual([a.text for a in by_css("tr.object td.name a")], ["tiny.png"])
        # Up two levels by the breadcrumb.
        click_and_wait(link("photos", scope="#crumbs"))
        self.assertEqual(DRIVER.current_url, api_page("/photos"))
        click_and_wait(link("cats/"))

        # Download by the row's link; the file must be the object, byte for byte.
        row = [r for r in by_css("tr.object") if r.text.startswith("cat.png")][0]
        from selenium.webdriver.common.by import By

        row.find_element(By.CSS_SELECTOR, "a.download").click()
        target = os.path.join(DRIVER.downloads, "cat.png")
        wait_for(
            lambda: os.path.exists(target) and not os.path.exists(target + ".crdownload"),
            "the download of cat.png",
            timeout=30,
        )
        with open(target, "rb") as f:
            self.assertEqual(f.read(), FILES["photos"]["cats/cat.png"][0])

        # The bucket list is one click away.
        click_and_wait(link("All buckets", scope="#crumbs"))
        self.assertEqual(DRIVER.title, "Buckets \u00b7 s3-proxy")


# A web app's calls, run in its page. Arguments: API base, key.
CORS_SCRIPT = """
const [api, key, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const b64 = bytes => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(text);
};
(async () => {
  const bytes = new Uint8Array(3 * 65536 + 17);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  const url = `${api}/web-app/${encodeURIComponent(key)}`;
  const put = await fetch(url, {
    method: 'PUT',
    headers: {'Content-Type': 'image/png', 'x-amz-meta-from': 'web-app'},
    body: bytes,
  });
  const get = await fetch(url, {headers: {'Accept': 'image/png'}});
  const back = new Uint8Array(await get.arrayBuffer());
  const missing = await fetch(`${api}/web-app/no-such-key.png`);
  done({
    sent: b64(bytes),
    received: b64(back),
    same: back.length === bytes.length && back.every((b, i) => b === bytes[i]),
    putStatus: put.status, putEtag: put.headers.get('ETag'),
    getStatus: get.status, getEtag: get.headers.get('ETag'),
    contentType: get.headers.get('Content-Type'),
    length: get.headers.get('Content-Length'),
    meta: get.headers.get('x-amz-meta-from'),
    missingStatus: missing.status, missingBody: await missing.text(),
  });
})().catch(e => done({error: String(e)}));
"""

BLOCKED_SCRIPT = """
const [url, init, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
fetch(url, init).then(r => done({status: r.status}), e => done({error: e.name + ': ' + e.message}));
"""


class CrossOriginFetch(unittest.TestCase):
    def test_a_web_app_on_an_allowed_origin_uploads_downloads_and_sees_errors(self):
        DRIVER.get(APP + "/app.html")
        DRIVER.get_log("browser")  # start from a clean console
        r = DRIVER.execute_async_script(CORS_SCRIPT, API.base + "/" + STAGE, "uploads/from the app.png")
        self.assertNotIn("error", r, r)
        self.assertEqual(r["putStatus"], 200)
        self.assertEqual(r["getStatus"], 200)
        self.assertTrue(r["same"], "the bytes came back changed")
        sent = base64.b64decode(r["sent"])
        self.assertEqual(base64.b64decode(r["received"]), sent)
        # The page read the exposed headers.
        self.assertEqual(r["putEtag"], f'"{hashlib.md5(sent).hexdigest()}"')
        self.assertEqual(r["getEtag"], r["putEtag"])
        self.assertEqual(r["contentType"], "image/png")
        self.assertEqual(r["length"], str(len(sent)))
        self.assertEqual(r["meta"], "web-app")
        # A real 404, readable, not a CORS failure.
        self.assertEqual(r["missingStatus"], 404)
        self.assertIn("<Code>NoSuchKey</Code>", r["missingBody"])
        # And the object is really stored, byte for byte.
        status, headers, body = API.get("web-app", "uploads/from the app.png")
        self.assertEqual((status, body), (200, sent))
        self.assertEqual(headers.get("x-amz-meta-from"), "web-app")
        self.assertFalse([m for m in console() if "CORS" in m], "no CORS complaint")

    def test_a_page_on_another_origin_is_blocked(self):
        DRIVER.get(OTHER + "/app.html")
        DRIVER.get_log("browser")
        api = API.base + "/" + STAGE
        # A simple GET reaches the API but its answer is withheld from the page.
        r = DRIVER.execute_async_script(BLOCKED_SCRIPT, f"{api}/photos/README.md", {})
        self.assertEqual(r.get("error"), "TypeError: Failed to fetch", r)
        # A PUT never leaves the preflight.
        r = DRIVER.execute_async_script(
            BLOCKED_SCRIPT,
            f"{api}/photos/intruder.png",
            {"method": "PUT", "headers": {"Content-Type": "image/png"}, "body": "x"},
        )
        self.assertEqual(r.get("error"), "TypeError: Failed to fetch", r)
        self.assertEqual(API.get("photos", "intruder.png")[0], 404, "the blocked PUT wrote nothing")
        blocked = [m for m in console() if "blocked by CORS policy" in m]
        self.assertGreaterEqual(len(blocked), 2, console())


class RenderedIndex(unittest.TestCase):
    def test_the_rendered_page_and_its_screenshot(self):
        DRIVER.get(api_page("/photos"))
        DRIVER.get_log("browser")
        DRIVER.get(api_page("/photos"))
        rows = DRIVER.execute_script(
            """return [...document.querySelectorAll('#listing tbody tr')].map(tr => ({
                kind: tr.className,
                name: tr.querySelector('td.name a').textContent,
                size: tr.querySelector('td.size').textContent,
                exact: tr.querySelector('td.size').title,
                date: tr.querySelector('td.date').textContent,
                download: tr.querySelector('a.download') ? tr.querySelector('a.download').getAttribute('download') : null,
            }))"""
        )
        self.assertEqual([r["kind"] for r in rows], ["folder", "folder", "object", "object"])
        readme, movie = rows[2], rows[3]
        self.assertEqual((movie["size"], movie["exact"]), ("3.0 MiB", "3,100,000 bytes"))
        self.assertEqual((readme["size"], readme["exact"]), ("9 B", "9 bytes"))
        self.assertRegex(movie["date"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
        self.assertEqual(movie["download"], "holiday.mov")
        self.assertEqual(
            DRIVER.execute_script("return document.getElementById('summary').textContent"),
            "Bucket photos, prefix (none): 2 objects and 2 folders shown.",
        )
        # The stylesheet the CSP allows by hash is applied; nothing was refused.
        style = DRIVER.execute_script(
            "const t = getComputedStyle(document.querySelector('table'));"
            "const s = getComputedStyle(document.querySelector('td.size'));"
            "return [t.borderCollapse, t.width, s.textAlign]"
        )
        self.assertEqual(style[0], "collapse")
        self.assertEqual(style[2], "right")
        self.assertEqual(DRIVER.execute_script("return document.scripts.length"), 0)
        self.assertFalse([m for m in console() if "Content Security Policy" in m], console())

        # For people to look at (README's picture comes from here).
        os.makedirs(ARTIFACTS, exist_ok=True)
        shot = os.path.join(ARTIFACTS, "index.png")
        self.assertTrue(DRIVER.save_screenshot(shot))
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        for path, name in [("/photos?prefix=cats%2F", "index-folder.png"), ("/", "index-buckets.png")]:
            DRIVER.get(api_page(path))
            fitted_screenshot(os.path.join(ARTIFACTS, name))

    def test_long_listings_page_with_a_next_link(self):
        DRIVER.get(api_page("/photos?max-keys=2"))
        # S3 counts keys and folders together, in key order: `README.md`,
        # `cats/` | `dogs/`, `holiday.mov`; each page shows its folders first.
        names = [a.text for a in by_css("#listing td.name a")]
        self.assertEqual(names, ["cats/", "README.md"])
        self.assertIn("more on the next page", DRIVER.page_source)
        click_and_wait(by_css("#next-page")[0])
        self.assertEqual([a.text for a in by_css("#listing td.name a")], ["dogs/", "holiday.mov"])
        self.assertFalse(by_css("#next-page"))
        click_and_wait(by_css("#first-page")[0])
        self.assertEqual([a.text for a in by_css("#listing td.name a")], ["cats/", "README.md"])


class MarkupInKeys(unittest.TestCase):
    def assert_inert(self):
        from selenium.common.exceptions import NoAlertPresentException

        with self.assertRaises(NoAlertPresentException):
            DRIVER.switch_to.alert.text
        self.assertEqual(DRIVER.execute_script("return document.images.length"), 0)
        self.assertEqual(DRIVER.execute_script("return document.scripts.length"), 0)
        self.assertEqual(DRIVER.execute_script("return document.querySelectorAll('svg, b').length"), 0)

    def test_keys_made_of_markup_show_as_text_and_link_to_their_objects(self):
        DRIVER.get(api_page("/xss-keys"))
        time.sleep(0.5)  # an injected handler would have run by now
        self.assert_inert()
        self.assertEqual(DRIVER.title, "xss-keys/ \u00b7 s3-proxy")
        names = [a.text for a in by_css("tr.object td.name a")]
        self.assertIn('"><img src=x onerror=alert(1)>', names)
        self.assertIn("<svg onload=\"document.title='pwned'\">.txt", names)
        folders = [a.text for a in by_css("tr.folder a")]
        # `</title>` holds a `/`: that key lists as the folder `</`.
        # And `dir<b>bold</b>/inside.txt` under `dir<b>bold</`.
        self.assertEqual(sorted(folders), sorted(["</", "dir<b>bold</"]))

        # Each odd key's link opens that very object (the page itself may
        # fetch nothing: its CSP says connect-src 'none').
        hrefs = DRIVER.execute_script(
            "return [...document.querySelectorAll('tr.object td.name a')].map(a => [a.textContent, a.href])"
        )
        self.assertEqual(len(hrefs), 2)
        for name, href in hrefs:
            DRIVER.get(href)
            self.assertEqual(DRIVER.execute_script("return document.body.innerText"), f"content of {name}", href)
        DRIVER.get(api_page("/xss-keys"))

        # Into the `</` folder and the one below: the prefix is in the
        # title, the heading and the breadcrumbs.
        click_and_wait(link("</"))
        self.assert_inert()
        self.assertEqual([a.text for a in by_css("tr.folder a")], ["title><script>alert(1)</"])
        click_and_wait(link("title><script>alert(1)</"))
        time.sleep(0.5)
        self.assert_inert()
        self.assertEqual(DRIVER.title, "xss-keys/</title><script>alert(1)</ \u00b7 s3-proxy")
        self.assertEqual(by_css("h1")[0].text, "xss-keys/</title><script>alert(1)</")
        self.assertEqual([a.text for a in by_css("tr.object td.name a")], ["script>"])
        self.assertEqual(
            [crumb.text.lstrip("/ ") for crumb in by_css("#crumbs li")],
            ["All buckets", "xss-keys", "<", "title><script>alert(1)<"],
        )


# A player's reads, run in the web app's page: byte ranges as a seek asks for
# them, then the whole object read chunk by chunk off the response stream.
# Arguments: the object's URL, the ranges as [first, last] pairs.
STREAM_SCRIPT = """
const [url, ranges, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const hex = async bytes => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
  .map(b => b.toString(16).padStart(2, '0')).join('');
(async () => {
  const seeks = [];
  for (const [first, last] of ranges) {
    const r = await fetch(url, {headers: {Range: `bytes=${first}-${last}`}});
    const body = await r.arrayBuffer();
    seeks.push({
      status: r.status, contentRange: r.headers.get('Content-Range'),
      length: r.headers.get('Content-Length'), bytes: body.byteLength, sha256: await hex(body),
    });
  }
  const whole = await fetch(url);
  const reader = whole.body.getReader();
  const parts = [];
  let received = 0;
  for (;;) {
    const {done: end, value} = await reader.read();
    if (end) break;
    parts.push(value);
    received += value.length;
  }
  const all = new Uint8Array(received);
  let at = 0;
  for (const part of parts) { all.set(part, at); at += part.length; }
  done({
    seeks,
    status: whole.status, type: whole.headers.get('Content-Type'),
    length: whole.headers.get('Content-Length'), etag: whole.headers.get('ETag'),
    acceptRanges: whole.headers.get('Accept-Ranges'),
    chunks: parts.length, received, sha256: await hex(all),
  });
})().catch(e => done({error: String(e)}));
"""


class StreamMode(unittest.TestCase):
    def test_a_web_app_seeks_and_streams_a_video_through_the_api(self):
        video = FILES["photos"]["holiday.mov"][0]
        DRIVER.get(APP + "/app.html")
        DRIVER.get_log("browser")
        url = f"{STREAM_API.base}/{STAGE}/photos/holiday.mov"
        ranges = [[0, 1023], [2_000_000, 2_065_535], [len(video) - 100, len(video) - 1]]
        r = DRIVER.execute_async_script(STREAM_SCRIPT, url, ranges)
        self.assertNotIn("error", r, r)
        for (first, last), seek in zip(ranges, r["seeks"]):
            part = video[first : last + 1]
            self.assertEqual(seek["status"], 206, seek)
            self.assertEqual(seek["contentRange"], f"bytes {first}-{last}/{len(video)}")
            self.assertEqual((seek["length"], seek["bytes"]), (str(len(part)), len(part)))
            self.assertEqual(seek["sha256"], hashlib.sha256(part).hexdigest(), (first, last))
        # The whole object: raw bytes (no base64, whatever Accept says), its
        # headers readable by the page.
        self.assertEqual(r["status"], 200)
        self.assertEqual(r["type"], "video/quicktime")
        self.assertEqual((r["length"], r["received"]), (str(len(video)), len(video)))
        self.assertEqual(r["sha256"], hashlib.sha256(video).hexdigest())
        self.assertEqual(r["etag"], f'"{hashlib.md5(video).hexdigest()}"')
        self.assertEqual(r["acceptRanges"], "bytes")
        self.assertGreater(r["chunks"], 1, "read off the stream in several chunks")
        self.assertFalse([m for m in console() if "CORS" in m], "no CORS complaint")


if __name__ == "__main__":
    runner = unittest.TextTestRunner(verbosity=2)
    result = runner.run(unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]))
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    # A module that could not start counts once, not as a passed test.
    passed = max(0, result.testsRun - failed - skipped)
    for _, reason in result.skipped:
        print(f"SKIPPED: {reason}")
    print(f"browser: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(0 if result.wasSuccessful() else 1)
