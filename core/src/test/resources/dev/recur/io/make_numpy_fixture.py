#!/usr/bin/env python3
"""Writes the numpy fixtures read by NpyNpzTest.readsTheCommittedNumpyFixture.

Run from this folder with numpy installed (made with numpy 2.x):

    python3 make_numpy_fixture.py

numpy_savez.npz: a plain numpy.savez of a model (float64 parameters, as numpy makes them by
default), a 'meta' 0-d str holding JSON, and an int64 array 'x'. numpy_savez_compressed.npz:
numpy.savez_compressed (DEFLATED entries) of a float32 array 'y'.
"""
import json

import numpy as np

H, I, O = 4, 3, 2
np.savez("numpy_savez.npz",
         U=np.arange(H * I).reshape(H, I) / 10.0,
         W=np.eye(H) * 0.5,
         b=np.zeros(H),
         V=np.ones((O, H)) * 0.25,
         c=np.array([0.1, -0.1]),
         meta=np.array(json.dumps({"activation": "tanh", "loss": "xent"})),
         x=np.arange(6, dtype=np.int64).reshape(3, 2))
np.savez_compressed("numpy_savez_compressed.npz", y=np.array([1, 2, 3], dtype=np.float32))
