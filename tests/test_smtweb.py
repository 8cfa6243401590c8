"""Sumatra's own web UI (``smtweb``) serves a project switched to the query store.

smtweb configures Django from Sumatra's settings (``DEBUG`` on) and runs
Django's development server; importing and opening our store must not have
changed those settings (``DEBUG`` off made it refuse to start, as it then
demands ``ALLOWED_HOSTS``).
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from smt_query.recordstore import use_query_store

SMTWEB = os.path.join(os.path.dirname(sys.executable), "smtweb")
START_TIMEOUT = 120   # seconds to wait for the server to answer (a readiness wait)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url, proc):
    """GET ``url`` once the server answers; ``(status, text)``."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise AssertionError("smtweb exited with %s:\n%s" % (proc.returncode,
                                                                  proc.stderr.read()[-3000:]))
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_smtweb_serves_the_record_list_of_a_switched_project(make_project):
    project = make_project(runs=[{"tags": ["fig"]}, {"reason": "second"}])
    use_query_store(True, project.path)
    with open(os.path.join(project.path, ".smt", "project"), encoding="utf-8") as f:
        name = json.load(f)["name"]
    port = free_port()
    proc = subprocess.Popen([SMTWEB, "-n", "-p", str(port)], cwd=project.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        status, page = fetch(f"http://127.0.0.1:{port}/{name}/", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert status == 200, page[-3000:]
    for label in project.labels:
        assert label in page
