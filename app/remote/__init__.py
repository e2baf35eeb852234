"""A remote engine: gpt-oss served elsewhere with an OpenAI-compatible API, used in place of a local package. No Qt.

    endpoint.py   the URL (https only, listed by the policy), the model, the pinned CA bundle, the token's keyring entry
    client.py     HTTP with httpx2 inside the network guard's scope for that host; errors as one sentence
    assistant.py  RemoteAssistant: the same reply(ChatRequest) -> events as a local Assistant; documents grounded here
"""
