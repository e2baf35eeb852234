"""Document extraction (sandboxed), chunking, retrieval and grounding. No Qt.

Entry points:
- `sandbox.extract_document(path, limits)` -> `Document`, or raises `ExtractionError` (with `.user_message`).
- `grounding.ground_question(documents, question, budget_tokens, count_tokens)` -> `GroundedPrompt`.
- `index.DocumentIndex(documents, count_tokens)`: keep one per conversation to avoid re-chunking per question.
"""
