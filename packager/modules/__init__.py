"""torch modules that reproduce Keras semantics torch lacks. All are TorchScript-compatible."""
