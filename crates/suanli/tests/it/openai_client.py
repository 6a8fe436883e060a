"""The official openai Python client against Suanli's /v1, unchanged: run by the gateway tests.

Reads OPENAI_BASE_URL and OPENAI_API_KEY (as the client does), SUANLI_CHAT_MODEL, and
SUANLI_EMBED_MODEL when embeddings are to be checked. Prints "all checks passed" at the end;
any failed check raises.
"""
import os

import openai
from openai import OpenAI

chat_model = os.environ["SUANLI_CHAT_MODEL"]
embed_model = os.environ.get("SUANLI_EMBED_MODEL")
client = OpenAI(max_retries=0, timeout=120)

ids = [m.id for m in client.models.list()]
assert chat_model in ids, ids
print("models:", ids)

r = client.chat.completions.create(model=chat_model, messages=[{"role": "user", "content": "Say hello to Hangzhou."}], max_tokens=16)
assert isinstance(r.choices[0].message.content, str), r
assert r.usage is not None and r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0, r.usage
assert r.model == chat_model, r.model
print("chat:", repr(r.choices[0].message.content), r.usage)

text, usage, chunks = "", None, 0
stream = client.chat.completions.create(
    model=chat_model,
    messages=[{"role": "user", "content": "Count to five."}],
    max_tokens=12,
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    chunks += 1
    if chunk.usage is not None:
        usage = chunk.usage
        assert chunk.choices == [], chunk
    for c in chunk.choices:
        text += c.delta.content or ""
assert usage is not None and usage.completion_tokens > 0, usage
assert chunks >= 2
print("stream:", chunks, "chunks", repr(text), usage)

c = client.completions.create(model=chat_model, prompt="Once upon a time", max_tokens=8)
assert isinstance(c.choices[0].text, str) and c.usage.completion_tokens > 0, c
print("completion:", repr(c.choices[0].text))

if embed_model:
    # The client asks for base64 by default and decodes it; compare with floats.
    e = client.embeddings.create(model=embed_model, input=["数据不出域", "compute vouchers"])
    f = client.embeddings.create(model=embed_model, input=["数据不出域", "compute vouchers"], encoding_format="float")
    assert len(e.data) == 2 and len(e.data[0].embedding) == len(f.data[0].embedding) > 0
    assert all(abs(a - b) < 1e-6 for a, b in zip(e.data[0].embedding, f.data[0].embedding))
    print("embeddings:", len(e.data[0].embedding), "dimensions")

try:
    OpenAI(api_key="sk-sl-not-a-key", max_retries=0).chat.completions.create(model=chat_model, messages=[{"role": "user", "content": "x"}])
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError as err:
    assert err.status_code == 401
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    raise AssertionError("an unknown model was accepted")
except openai.NotFoundError as err:
    assert err.status_code == 404 and err.code == "model_not_found", err
try:
    client.chat.completions.create(model=chat_model, messages=[{"role": "user", "content": "x"}], max_tokens=10_000_000)
    raise AssertionError("an over-long request was accepted")
except openai.BadRequestError as err:
    assert err.code == "context_length_exceeded", err
print("all checks passed")
