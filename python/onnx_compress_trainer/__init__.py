"""ONNX Compress distillation trainer: reads the engine's job, cache and trainable graphs
(docs/distill-formats.md), trains with torch and prints one JSON event per line."""
