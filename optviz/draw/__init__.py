"""Trajectories -> pictures -> files: the look (``look``, no matplotlib), the figure and its artists (``figure``),
frames by blitting (``frames``), one writer per file format (``writers``), and the render that ties them
(``animate``). matplotlib internals that optviz leans on are fenced in ``_mpl_internals``."""
