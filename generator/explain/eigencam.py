"""EigenCAM (Muhammad and Yeasin, IJCNN 2020): the layer's activations projected on their first principal component.

Class-independent: one forward pass per case and model, no gradient; every target gets the same map. As in
pytorch-grad-cam, the positions (the rows) are centred before the SVD and the component's sign is the one
LAPACK returns, so on some layers the map can mark the background: the methods page says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from generator.explain.base import CaseInputs, register
from generator.explain.cam import CamExplainer, CamResult, Grid, cam_result, read_layer

if TYPE_CHECKING:
    from generator.run.models import LoadedModel


def first_component_projection(activation: Grid) -> Grid:
    """1 x 1 x h x w: each position's (centred) activation vector projected on the first right singular vector."""
    channels, height, width = activation.shape[1:]
    positions = activation[0].reshape(channels, -1).T.cpu().numpy().astype(np.float32)  # (h w) x C
    positions = np.nan_to_num(positions - positions.mean(axis=0))
    _, _, right = np.linalg.svd(positions, full_matrices=False)
    projection = positions @ right[0]
    return torch.from_numpy(projection.reshape(1, 1, height, width).astype(np.float32))


@register
class EigenCam(CamExplainer):
    name = "eigencam"
    summary = "EigenCAM (Muhammad and Yeasin 2020): the activations' first principal component."
    order = 6
    title = "EigenCAM"

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[CamResult, ...]:
        tensor = model.input_tensor(inputs.image)
        reading = read_layer(model.module, model.target_layer, tensor, None, model.grid)
        shared = cam_result(0, first_component_projection(reading.activation), tensor.shape[-2:])
        return tuple(replace(shared, target=int(t)) for t in targets)  # one map, computed once, for every target
