"""Secrets never reach disk or logs (docs/security.md, "What is redacted").

The rules themselves (query keys, URL user-info, auth headers, opaque request sections,
registered client secrets, every log record), then the real thing: ``good_image`` at smoke
size against a server that echoes the credentials it is sent in its 500 and 401 bodies, with a
planted API key, a ``user:pass@`` endpoint, a ``?key=`` query and an ``extra_body`` value; every
file of the run's data folder and the whole console output are searched for them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from sdg_factory import provenance
from sdg_factory.backends.http import EndpointError, HttpClient
from sdg_factory.redaction import (
    REDACTED,
    SecretsFilter,
    forget_secrets,
    install_log_redaction,
    redact,
    redact_url,
    register_secret,
    scrub,
)
from tests.backends.hostile_server import HostileServer

ROOT = Path(__file__).resolve().parents[1]

API_KEY = "sk-planted-5f1e9c2b7a"
PASSWORD = "pw-planted-8d3a61"
QUERY_KEY = "qk-planted-2b94e7"
EXTRA = "xb-planted-77c1d0"
BASIC = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
PLANTED = (API_KEY, PASSWORD, QUERY_KEY, EXTRA, BASIC.rstrip("="))


@pytest.fixture(autouse=True)
def _fresh_secrets():
    forget_secrets()
    yield
    forget_secrets()


# --- the rules -------------------------------------------------------------------------------------

def test_config_redaction_covers_keys_urls_queries_and_request_sections():
    config = {
        "endpoint": f"https://user:{PASSWORD}@host:8000/v1?key={QUERY_KEY}&model=m",
        "images": [f"https://cdn/x.png?X-Amz-Signature={QUERY_KEY}&sig={QUERY_KEY};token={QUERY_KEY}"],
        "api_key": API_KEY, "nested": {"client_secret": API_KEY, "token": None},
        "extra_body": {"tenant": EXTRA, "steps": 4, "nested": {"x": EXTRA}},
        "headers": {"X-Custom": EXTRA}, "max_tokens": 200, "model": "llama3.1:8b",
    }
    out = redact(config)
    assert provenance.redact is redact and provenance.REDACTED == REDACTED
    assert not any(secret in str(out) for secret in PLANTED), out
    assert out["endpoint"] == f"https://{REDACTED}@host:8000/v1?key={REDACTED}&model=m"
    assert out["extra_body"] == {"tenant": REDACTED, "steps": 4, "nested": {"x": REDACTED}}
    assert (out["max_tokens"], out["model"], out["nested"]["token"]) == (200, "llama3.1:8b", None)
    assert redact_url(config["endpoint"]) == out["endpoint"] and redact_url(None) is None


def test_text_scrubbing_covers_headers_bearer_tokens_json_pairs_and_known_secrets():
    text = (f'HTTP 401: {{"error": "Authorization: Bearer {API_KEY}", "api_key": "{API_KEY}", '
            f'"x-goog-api-key": "{API_KEY}"}} GET /v1/models?api_key={QUERY_KEY} Basic {BASIC}')
    assert not any(secret in scrub(text) for secret in (API_KEY, QUERY_KEY))
    assert BASIC in scrub(text)  # a Basic value alone is not recognisable …
    register_secret(f"user:{PASSWORD}")  # … but an HTTP client registers what it sends
    assert BASIC.rstrip("=") not in scrub(text)
    assert "ordinary words stay" in scrub("ordinary words stay")
    register_secret("abc")  # too short to scrub on sight (patterns still apply to it)
    assert scrub("abc") == "abc"


def test_every_log_record_is_scrubbed(caplog):
    install_log_redaction()
    HttpClient(f"http://user:{PASSWORD}@127.0.0.1:9/v1?key={QUERY_KEY}", api_key=API_KEY)
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything.at.all").warning("sent %s to %s (%s)", API_KEY, "somewhere", PASSWORD)
        try:
            raise RuntimeError(f"boom {QUERY_KEY}")
        except RuntimeError:
            logging.getLogger("x").exception("failed with %s", BASIC)
    assert not any(secret in caplog.text for secret in PLANTED), caplog.text
    assert caplog.text.count(REDACTED) >= 4

    record = logging.makeLogRecord({"msg": "key %s", "args": (API_KEY,)})  # made by hand: no factory
    SecretsFilter().filter(record)
    assert record.getMessage() == f"key {REDACTED}"


def test_an_echoing_server_leaves_no_secret_in_errors_or_retry_warnings(caplog):
    with HostileServer("echo") as server:
        url = server.url.replace("http://", f"http://user:{PASSWORD}@") + f"?key={QUERY_KEY}"
        client = HttpClient(url, api_key=API_KEY, max_retries=1, backoff_s=0)
        with caplog.at_level(logging.WARNING), pytest.raises(EndpointError) as error:
            client.post_json("images/edits", {})
        sent = server.requests[-1]
    assert sent["path"].endswith(f"?key={QUERY_KEY}") and sent["headers"]["Authorization"] == f"Basic {BASIC}"
    assert "HTTP 401" in str(error.value) and "retry 1/1" in caplog.text  # the echo was seen …
    assert not any(s in str(error.value) + caplog.text for s in PLANTED), (str(error.value), caplog.text)


# --- a real run ------------------------------------------------------------------------------------

DRIVER = """
import sys, traceback
from tests.kedro_runner import run_pipeline

cwd, origin = sys.argv[1], sys.argv[2]
run_pipeline("pcba_setup", "smoke", {}, cwd)
common = {"image_edit_backend": "openai_images", "image_edit_model": "test-model",
          "pcba_restyle": {"backends": {"openai_images": {  # as `--params a.b=…` would give
              "max_retries": 1, "backoff_s": 0.0, "extra_body": {"tenant": EXTRA}}}}}
endpoints = {"bearer": origin + "/v1?key=" + QUERY_KEY,
             "userinfo": origin.replace("http://", "http://user:" + PASSWORD + "@") + "/v1"}
for run_name, endpoint in endpoints.items():
    try:
        run_pipeline("good_image", "smoke", {**common, "run_name": run_name, "image_edit_endpoint": endpoint}, cwd)
        print("RUN SUCCEEDED", run_name)
    except Exception:
        traceback.print_exc()
        print("RUN FAILED", run_name)
"""


@pytest.fixture(scope="module")
def echoed_runs(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("secrets")
    script = f"API_KEY, PASSWORD, QUERY_KEY, EXTRA = {API_KEY!r}, {PASSWORD!r}, {QUERY_KEY!r}, {EXTRA!r}\n"
    script += textwrap.dedent(DRIVER)
    # COLUMNS: rich does not wrap the console, so no secret can hide across two lines
    env = {**os.environ, "OPENAI_API_KEY": API_KEY, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": "5000",
           "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    with HostileServer("echo") as server:
        done = subprocess.run([sys.executable, "-c", script, str(cwd), server.origin], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    return cwd, done.stdout + done.stderr, server.requests


def test_the_secrets_were_sent_and_echoed(echoed_runs):
    cwd, console, requests = echoed_runs
    assert "RUN FAILED bearer" in console and "RUN FAILED userinfo" in console, console[-3000:]
    posts = [r for r in requests if r["method"] == "POST"]
    assert any(r["headers"].get("Authorization") == f"Bearer {API_KEY}" for r in posts)
    assert any(r["headers"].get("Authorization") == f"Basic {BASIC}" for r in posts)
    assert any(r["path"].endswith(f"?key={QUERY_KEY}") for r in posts)
    for run in ("bearer", "userinfo"):  # every ROI failed with the echoed 401 body, recorded
        manifest = json.loads(next((cwd / "data/dig/runs" / run / "augment/edited").glob(
            ".sdg_manifest*.json")).read_text())
        assert manifest["failed"] and all("HTTP 401" in f["error"] for f in manifest["failed"])
        assert all(REDACTED in f["error"] for f in manifest["failed"])
    assert "partition(s) failed" in console and "retry 1/1" in console


def test_no_planted_secret_in_any_file_of_the_run_or_the_console(echoed_runs):
    cwd, console, _ = echoed_runs
    files = [p for p in (cwd / "data").rglob("*") if p.is_file()]
    assert len(files) > 50
    leaks = [(str(p.relative_to(cwd)), s) for p in files for s in PLANTED if s.encode() in p.read_bytes()]
    assert leaks == []
    assert [s for s in PLANTED if s in console] == [], console[-3000:]


def test_configs_and_provenance_keep_the_endpoint_redacted(echoed_runs):
    cwd, _, _ = echoed_runs
    runs = cwd / "data/dig/runs"
    cookbook = yaml.safe_load((runs / "userinfo/augment/augmentation_config_ovsl2sl.yaml").read_text())
    assert cookbook["image_edit_endpoint"].startswith(f"http://{REDACTED}@127.0.0.1:")
    record = yaml.safe_load((runs / "bearer/provenance/good_image.yml").read_text())
    assert record["runtime_params"]["image_edit_endpoint"].endswith(f"/v1?key={REDACTED}")
    assert record["parameters"]["pcba_restyle"]["backends"]["openai_images"]["extra_body"] == {"tenant": REDACTED}
