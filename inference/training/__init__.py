"""Training runs for the models Atlas serves, in plain NumPy where that is enough (no torch).

`mlp` holds the digit network's optimiser; `digits` the run that `manage.py train_digits` and the demo
seed share (data, training, the saved file, its measured accuracy).
"""
