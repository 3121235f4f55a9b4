"""``max_retries`` counts retries after the first attempt everywhere (docs/parameters.md): an item
that keeps failing is tried exactly ``max_retries + 1`` times, by every code path that reads it."""

from __future__ import annotations

import pytest

from sdg_factory.backends.http import EndpointError, HttpClient
from sdg_factory.pipelines.reference_object.nodes import _with_retries
from sdg_factory.pipelines.reference_object.scene_prompts import llm_prompts
from tests.backends.local_http import scripted_server


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_a_reference_object_step_is_tried_max_retries_plus_one_times(max_retries):
    calls = []

    def always_fails():
        calls.append(1)
        raise OSError("server down")

    with pytest.raises(RuntimeError, match=f"white background failed after {max_retries + 1} attempt"):
        _with_retries(always_fails, max_retries, "white background")
    assert len(calls) == max_retries + 1


def test_a_reference_object_step_that_recovers_returns_its_result():
    answers = iter([OSError("flaky"), OSError("flaky"), "done"])

    def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert _with_retries(flaky, 2, "scene image") == "done"


class _Repeats:
    """An LLM that gives one distinct answer, then repeats it."""

    def __init__(self):
        self.calls = 0

    def generate(self, messages, seed=0):
        self.calls += 1
        return "a mug on a wooden desk in warm light"


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_scene_prompt_is_asked_max_retries_plus_one_times(max_retries):
    llm = _Repeats()
    with pytest.raises(RuntimeError, match=f"only 1 distinct prompts of 2 after {max_retries + 2} requests"):
        llm_prompts(llm, "system", "project", "mug", num_prompts=2, seed=0, max_retries=max_retries)
    assert llm.calls == 1 + (max_retries + 1)  # the first prompt, then the second one's attempts


@pytest.mark.parametrize("max_retries", [0, 2])
def test_an_http_request_is_sent_max_retries_plus_one_times(max_retries):
    with scripted_server({("GET", "/v1/models"): [(503, {"error": "busy"})]}) as (url, calls):
        client = HttpClient(f"{url}/v1", max_retries=max_retries, backoff_s=0.0)
        with pytest.raises(EndpointError, match=f"failed after {max_retries + 1} attempt"):
            client.request("GET", "models")
    assert len(calls) == max_retries + 1
