"""Document extraction (sandboxed), chunking, retrieval and grounding. No Qt."""
