"""The benchmark app for Gunicorn: the spec's test app (docs "Basic usage"), with the 13-byte
body the Bun contenders send ("Hello, World!", no newline) and the same two extra routes:

  GET  /        13 bytes, "Hello, World!"
  GET  /static  the 1 MB file named by BENCH_STATIC_FILE, through wsgi.file_wrapper (sendfile)
  POST /echo    the request body, echoed back

Run: gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/apps hello_wsgi:app
"""
import os

DATA = b"Hello, World!"
STATIC = os.environ.get("BENCH_STATIC_FILE", "")


def app(environ, start_response):
    """Simplest possible application object"""
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        start_response("200 OK", [("Content-type", "text/plain"), ("Content-Length", str(len(DATA)))])
        return iter([DATA])
    if path == "/static" and STATIC:
        f = open(STATIC, "rb")
        size = os.fstat(f.fileno()).st_size
        start_response("200 OK", [("Content-type", "application/octet-stream"), ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](f, 65536)
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-type", "application/octet-stream"), ("Content-Length", str(len(body)))])
        return iter([body])
    start_response("404 Not Found", [("Content-Length", "9")])
    return iter([b"Not Found"])
