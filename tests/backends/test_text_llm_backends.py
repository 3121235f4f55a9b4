"""Text (LLM chat) backends: openai_chat against a local server; transformers with a tiny
random-weight GPT-2 and a locally trained tokenizer, saved and loaded back."""

from __future__ import annotations

import pytest

from sdg_factory.backends.http import EndpointError
from sdg_factory.backends.text import TEXT_GENERATORS
from tests.backends.local_http import scripted_server

MESSAGES = [{"role": "system", "content": "Write one prompt."}, {"role": "user", "content": "a grocery aisle"}]


def test_openai_chat_posts_the_chat_and_returns_the_content(monkeypatch):
    monkeypatch.setenv("TEST_CHAT_KEY", "sk-chat")
    routes = {
        ("GET", "/v1/models"): [(200, {"data": [{"id": "llama"}]})],
        ("POST", "/v1/chat/completions"): [
            (502, {"error": "bad gateway"}),
            (200, {"choices": [{"message": {"role": "assistant", "content": "  A bright grocery aisle.  "}}]}),
            (200, {"choices": [{"message": {"content": [{"type": "text", "text": "Part one."},
                                                        {"type": "text", "text": " Part two."}]}}]}),
        ],
    }
    with scripted_server(routes) as (url, calls):
        llm = TEXT_GENERATORS.build_from({"backend": "openai_chat", "endpoint": f"{url}/v1", "model": "llama",
                                          "api_key_env": "TEST_CHAT_KEY", "backoff_s": 0})
        llm.health_check()
        assert llm.generate(MESSAGES, seed=11, max_tokens=64, temperature=0.5) == "A bright grocery aisle."
        assert llm.generate(MESSAGES) == "Part one. Part two."
    posts = [c for c in calls if c["method"] == "POST"]
    assert len(posts) == 3  # the 502 was retried
    body = posts[1]["json"]
    assert body == {"model": "llama", "messages": MESSAGES, "max_tokens": 64, "temperature": 0.5, "seed": 11}
    assert posts[1]["headers"]["Authorization"] == "Bearer sk-chat"
    assert calls[0]["method"] == "GET" and calls[0]["path"] == "/v1/models"


def test_openai_chat_never_returns_an_empty_or_malformed_answer():
    routes = {("POST", "/v1/chat/completions"): [(200, {"choices": [{"message": {"content": "  "}}]}),
                                                 (200, {"unexpected": True}),
                                                 (400, {"error": "bad model"})]}
    with scripted_server(routes) as (url, calls):
        llm = TEXT_GENERATORS.build_from({"backend": "openai_chat", "endpoint": f"{url}/v1", "model": "m",
                                          "api_key_env": None, "backoff_s": 0})
        with pytest.raises(EndpointError, match="empty"):
            llm.generate(MESSAGES)
        with pytest.raises(EndpointError, match="choices"):
            llm.generate(MESSAGES)
        with pytest.raises(EndpointError, match="HTTP 400"):
            llm.generate(MESSAGES)
    assert len(calls) == 3  # a 400 is not retried
    assert "Authorization" not in calls[0]["headers"]


@pytest.fixture(scope="module")
def tiny_lm_folder(tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_lm")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        ["a wide photograph of a grocery aisle with shelves", "system: write one prompt. user: a kitchen"],
        trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                        unk_token="<|endoftext|>")
    tokenizer.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    tokenizer.save_pretrained(folder)
    import torch

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                               bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
                    ).save_pretrained(folder)
    return folder


def test_transformers_backend_loads_once_uses_the_chat_template_and_is_seeded(tiny_lm_folder):
    import torch

    from sdg_factory.backends.text import transformers_local

    transformers_local.unload_text_models()
    llm = TEXT_GENERATORS.build_from({"backend": "transformers", "model_path": str(tiny_lm_folder), "device": "cpu"})
    llm.health_check()
    state = torch.random.get_rng_state()
    first = llm.generate(MESSAGES, seed=1, max_tokens=8)
    assert torch.equal(state, torch.random.get_rng_state())  # global random state untouched
    assert isinstance(first, str) and first
    again = TEXT_GENERATORS.build_from({"backend": "transformers", "model_path": str(tiny_lm_folder), "device": "cpu"})
    assert again.generate(MESSAGES, seed=1, max_tokens=8) == first
    assert len(transformers_local.MODELS) == 1
    assert any(llm.generate(MESSAGES, seed=s, max_tokens=8) != first for s in (2, 3, 4))
    model, tokenizer = transformers_local.load_causal_lm(str(tiny_lm_folder), "cpu")
    assert transformers_local.format_chat(tokenizer, MESSAGES) == (
        "<|system|>Write one prompt.\n<|user|>a grocery aisle\n<|assistant|>")
    tokenizer.chat_template = None
    assert transformers_local.format_chat(tokenizer, MESSAGES).endswith("user: a grocery aisle\nassistant:")
    assert transformers_local.unload_text_models() == 1


def test_transformers_backend_names_a_missing_model_folder(tmp_path):
    llm = TEXT_GENERATORS.build_from({"backend": "transformers", "model_path": str(tmp_path / "none")})
    with pytest.raises(FileNotFoundError, match="config.json"):
        llm.health_check()
