"""The local API server: gpt-oss on an OpenAI-compatible API on 127.0.0.1 (`enclave serve`, the window's Server
switch). No Qt.

    request.py       the request body -> the engine's ChatRequest, or one sentence naming what is refused
    api.py           the Starlette app: /v1/models, /v1/chat/completions (SSE or JSON), auth, cancel on disconnect
    engine_queue.py  the one engine, requests in line (EngineThread for the CLI; the window has its own)
    server.py        uvicorn on 127.0.0.1 only, inside the network guard's scope
    token.py         the bearer token (OS keyring, --token-file, constant-time compare)
    wire.py          field names both sides speak (the remote engine reads what this writes)
"""
