"""Twin network and contrastive loss of stswidgets.learn.siamese."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from stswidgets.learn.siamese import SiameseModule, TwinMLP, contrastive_loss, make_mlp  # noqa: E402


def test_contrastive_loss_matches_hand_computation():
    d = torch.tensor([0.0, 0.5, 2.0, 0.3, 1.5, 0.9])
    y = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])  # 1 = similar
    margin = 1.0
    # similar: d^2 / 2 ; dissimilar: max(0, m - d)^2 / 2
    by_hand = [0.0, 0.125, 2.0, 0.245, 0.0, 0.005]
    expected = sum(by_hand) / len(by_hand)
    got = float(contrastive_loss(d, y, margin))
    assert got == pytest.approx(expected, rel=1e-6)


def test_contrastive_loss_margin_matters_for_dissimilar_only():
    d = torch.tensor([0.4])
    assert float(contrastive_loss(d, torch.tensor([0.0]), margin=2.0)) == pytest.approx(
        0.5 * 1.6**2
    )
    assert float(contrastive_loss(d, torch.tensor([1.0]), margin=2.0)) == pytest.approx(0.5 * 0.16)


def test_twin_shares_weights_and_distance_is_euclidean():
    torch.manual_seed(0)
    twin = TwinMLP(7, (20, 5, 2))
    x1, x2 = torch.randn(4, 7), torch.randn(4, 7)
    z1, z2 = twin(x1), twin(x2)
    assert z1.shape == (4, 2)
    expected = np.linalg.norm(z1.detach().numpy() - z2.detach().numpy(), axis=1)
    np.testing.assert_allclose(twin.pair_distance(x1, x2).detach().numpy(), expected, rtol=1e-5)
    # the paper's widths after the input layer: 7 -> 20 -> 5 -> 2
    linears = [m for m in twin.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(7, 20), (20, 5), (5, 2)]


def test_make_mlp_rejects_bad_input():
    with pytest.raises(ValueError, match="activation"):
        make_mlp(3, (2,), activation="swish-ish")
    with pytest.raises(ValueError, match="positive"):
        make_mlp(3, (0, 2))


def test_module_logs_and_optimises():
    module = SiameseModule(5, (4, 2), learning_rate=0.05)
    assert module.hparams.widths == (4, 2)
    opt = module.configure_optimizers()
    assert isinstance(opt, torch.optim.Adam)
    assert opt.param_groups[0]["lr"] == 0.05
