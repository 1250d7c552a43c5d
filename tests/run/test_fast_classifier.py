"""BatchClassifier equals the reference recipe: ToTensor + Normalize per PIL image, fp32 NCHW forward, softmax."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from generator.run.inference import BatchClassifier

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
REFERENCE = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def small_cnn(seed=0, classes=10):
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, classes),
    )
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode does real work
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
        model[-1].weight.mul_(40.0)  # confident, far-from-uniform probabilities
    return model.eval()


def random_images(count, height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(count, height, width, 3), dtype=np.uint8)


def reference_probabilities(model, images):
    """One image at a time, exactly like the reference notebook: PIL -> tensor -> fp32 NCHW -> softmax."""
    rows = []
    with torch.no_grad():
        for image in images:
            tensor = REFERENCE(Image.fromarray(image)).unsqueeze(0)
            assert tensor.is_contiguous()  # plain NCHW
            rows.append(torch.softmax(model(tensor), dim=1)[0].numpy())
    return np.stack(rows)


@pytest.mark.parametrize("size", [(1, 1), (8, 13), (32, 32), (224, 224), (97, 150)])
def test_to_tensor_equals_totensor_normalize_per_pil_image(size):
    images = random_images(5, *size, seed=sum(size))
    images[0] = 0
    images[1] = 255  # both ends of the range
    fast = BatchClassifier(nn.Identity(), MEAN, STD).to_tensor(images)
    expected = torch.stack([REFERENCE(Image.fromarray(image)) for image in images])
    assert fast.dtype == torch.float32 and tuple(fast.shape) == (5, 3, *size)
    torch.testing.assert_close(fast, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("channels_last_model", [False, True], ids=["nchw-model", "channels-last-model"])
def test_batched_probabilities_equal_the_per_image_reference(channels_last_model):
    model = small_cnn()
    images = random_images(70, 40, 36, seed=1)
    expected = reference_probabilities(model, images)
    if channels_last_model:  # as generator.run.models.load_model prepares every network
        model = model.to(memory_format=torch.channels_last)
    outputs = {}
    for batch_size in (1, 7, 64):
        outputs[batch_size] = BatchClassifier(model, MEAN, STD, batch_size=batch_size)(images)
        assert outputs[batch_size].shape == (70, 10) and outputs[batch_size].dtype == np.float64
        np.testing.assert_allclose(outputs[batch_size], expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs[1], outputs[64], atol=1e-5, rtol=0)  # independent of batch size
    np.testing.assert_allclose(outputs[7], outputs[64], atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs[64].sum(axis=1), 1.0, atol=1e-5)


def test_single_image_and_uneven_last_batch():
    model = small_cnn(seed=3)
    images = random_images(65, 24, 24, seed=2)
    expected = reference_probabilities(model, images)
    np.testing.assert_allclose(BatchClassifier(model, MEAN, STD, batch_size=64)(images), expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(BatchClassifier(model, MEAN, STD)(images[:1]), expected[:1], atol=1e-5, rtol=0)
