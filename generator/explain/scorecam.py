"""Score-CAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel and Hu, CVPR-W 2020): each channel of the layer, upsampled
and scaled to [0, 1], masks the input; the target's logit on each masked input, softmaxed over the channels, weighs
the channels. No gradient: one forward pass per channel, the same passes for every target."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from generator.explain.base import register
from generator.explain.cam import ChannelPassCam, ChannelPasses, LayerReading, channel_batches, upsampled
from generator.run.inference import batch_classifier

EPSILON = 1e-8  # pytorch-grad-cam's, beside a channel's range


def channel_masks(reading: LayerReading, size: Sequence[int]) -> torch.Tensor:
    """C x H x W: each channel upsampled to the input (corners aligned, as pytorch-grad-cam's Score-CAM) and scaled
    to [0, 1] (min-max)."""
    masks = upsampled(reading.activation, size, corners_aligned=True)[0]
    flat = masks.reshape(len(masks), -1)
    low, high = flat.min(dim=1).values[:, None, None], flat.max(dim=1).values[:, None, None]
    return (masks - low) / (high - low + EPSILON)


@register
class ScoreCam(ChannelPassCam):
    name = "scorecam"
    summary = (
        "Score-CAM (Wang et al. 2020): each channel as a mask on the input, weighted by the score it keeps; "
        "one forward pass per channel."
    )
    order = 7
    title = "Score-CAM"

    def channel_scores(self, passes: ChannelPasses) -> torch.Tensor:
        classifier = batch_classifier(passes.model, self.settings.batch_size, self.device, self.precision, output="logits")
        masks = channel_masks(passes.reading, passes.tensor.shape[-2:]).to(classifier.device)
        image = passes.tensor.to(classifier.device)

        def masked_inputs() -> Iterator[torch.Tensor]:
            for channels in channel_batches(len(masks), classifier.batch_size):
                yield (image * masks[channels.start : channels.stop, None]).contiguous(memory_format=torch.channels_last)
                passes.advance(len(channels))

        logits = classifier.classify_batches(masked_inputs())
        return torch.from_numpy(logits[:, list(passes.targets)]).float()

    def weights(self, scores: torch.Tensor, reading: LayerReading, targets: Sequence[int]) -> torch.Tensor:
        return torch.softmax(scores, dim=0)
