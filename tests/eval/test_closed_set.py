import pytest
import torch
from torch import nn

from facecourse.eval import closed_set_accuracy, predict_classes
from facecourse.losses import create_head


class _Flat(nn.Module):
    def forward(self, x):  # (B, 3, 1, 2) -> (B, 2): the first channel's two pixels
        return x[:, 0, 0, :]


def test_predicts_the_argmax_of_a_softmax_head():
    head = create_head("softmax", 2, 2)
    with torch.no_grad():
        head.fc.weight.copy_(torch.eye(2))
        head.fc.bias.zero_()
    x = torch.tensor([[0.9, -0.9], [-0.5, 0.5], [0.2, 0.1]]).reshape(3, 1, 1, 2).expand(3, 3, 1, 2)
    pred = predict_classes(_Flat(), head, x, batch_size=2)
    assert pred.tolist() == [0, 1, 0]


def test_uint8_input_and_accuracy_with_a_margin_head():
    head = create_head("arcface", 2, 2)
    with torch.no_grad():
        head.weight.copy_(torch.eye(2))

    class Set:
        images = torch.tensor([[255, 0], [0, 255], [255, 0], [0, 255]], dtype=torch.uint8
                              ).reshape(4, 1, 1, 2).expand(4, 3, 1, 2)
        labels = torch.tensor([0, 1, 1, 1])

    assert closed_set_accuracy(_Flat(), head, Set()) == pytest.approx(0.75)
    assert head.training  # modes are restored


def test_empty_input_fails_clearly():
    with pytest.raises(ValueError, match="no images"):
        predict_classes(_Flat(), create_head("softmax", 2, 2), torch.zeros(0, 3, 1, 2))
