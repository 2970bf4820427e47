import pytest
import torch

from facecourse.models import create_backbone, measure_throughput


def _tiny():
    return create_backbone("convnet", embedding_dim=8, image_size=16, width=0.25)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_measure_throughput_is_positive_and_leaves_the_model_alone(train, channels_last):
    model = _tiny().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rate = measure_throughput(model, 16, batch_size=4, steps=1, train=train,
                              channels_last=channels_last)
    assert rate > 0
    assert not model.training
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])


def test_measure_throughput_rejects_bad_sizes():
    with pytest.raises(ValueError, match="steps >= 1"):
        measure_throughput(_tiny(), 16, steps=0)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        measure_throughput(_tiny(), 16, batch_size=1)
