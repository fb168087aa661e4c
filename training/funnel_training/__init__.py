"""funnel model pipeline: synthetic calls, tokenizer, text and tabular ONNX models."""
