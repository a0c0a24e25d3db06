"""packager: turn a trained Keras model file into a validated PyTorch deployment artifact."""

__version__ = "0.1.0"
