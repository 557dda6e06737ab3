"""Torch modules with one model-code bug each, variants of examples/bugs/ for other data.

Each module defines ``build(input_shape, n_outputs)`` like the examples; the zoo copies the
module beside the case's recipe and names it as ``model.factory``.
"""
