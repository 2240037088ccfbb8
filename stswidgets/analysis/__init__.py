"""Analysis on the matrix view ``X`` of shape ``(n_spectra, n_bias)``: numpy in, numpy out.

Submodules: ``decomposition``, ``clustering``, ``distances``, ``correlation``, ``density``,
``segmentation``, ``spectral_weight``, ``metrics``. Nothing here imports torch or widgets.
"""
