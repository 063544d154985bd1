"""Connects the registry's `model_activated` signal to the process-local model cache."""
