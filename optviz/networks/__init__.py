"""Real networks: optimizers training a small MLP, drawn on a 2-D plane through its weights (Li et al.,
"Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018).

The modules follow the data: ``data`` (the classification sets), ``spec`` (the scene's ``function: {network:
...}`` form, validated with its bounds; no torch), ``model`` (the loss in torch, batched over many weight
vectors), ``train`` (every run in lockstep: built-in optimizers on the flat vector, torch classes through the
bridge on the layers' tensors), ``plane`` (PCA or random directions, projections, the loss over the plane as a
2-D function), ``simulate`` (a scene -> trajectories the renderer draws like any other) and ``tune`` (``optviz
tune`` on a network).

torch is imported only when a network is trained or drawn.
"""
