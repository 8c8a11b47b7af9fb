"""A minimal WSGI application."""


def application(environ, start_response):
    body = b'{"status": "ok"}\n'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
