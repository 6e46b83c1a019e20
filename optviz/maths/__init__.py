"""The maths a scene names: test functions and formulas (exact gradients and Hessians), optimizers with
torch.optim's numbers, and torch's lr schedules. Nothing here knows about files or pictures."""
