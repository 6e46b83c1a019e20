"""optviz: animated, torch-exact pictures of optimizers racing across 2-D loss surfaces."""

__version__ = "0.1.0"
