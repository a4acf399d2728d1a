import math

import pytest
import torch
import torch.nn.functional as F

from ml.config import LOSS_TYPES
from ml.losses import preference_loss

PC, PR = torch.tensor([-10.0, -12.0, -9.0]), torch.tensor([-11.0, -11.5, -9.5])
RC, RR = torch.tensor([-10.5, -12.0, -9.2]), torch.tensor([-10.8, -11.0, -9.1])
LEN_C, LEN_R = torch.tensor([4.0, 5.0, 3.0]), torch.tensor([6.0, 2.0, 3.0])


def run(loss_type, pc=PC, pr=PR, rc=RC, rr=RR, lc=LEN_C, lr=LEN_R, **kw):
    return preference_loss(pc, pr, rc, rr, beta=0.5, loss_type=loss_type, chosen_tokens=lc, rejected_tokens=lr, **kw)


def test_sigmoid_at_the_reference_is_log_two():
    out = preference_loss(PC, PR, PC, PR, beta=0.1, loss_type="sigmoid")
    assert out.loss.item() == pytest.approx(math.log(2))
    assert out.chosen_rewards.abs().max() == 0 and out.rejected_rewards.abs().max() == 0


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_swapping_chosen_and_rejected_flips_margins(loss_type):
    a = run(loss_type, label_smoothing=0.1)
    b = run(loss_type, pc=PR, pr=PC, rc=RR, rr=RC, lc=LEN_R, lr=LEN_C, label_smoothing=0.1)
    assert torch.allclose(a.chosen_rewards - a.rejected_rewards, -(b.chosen_rewards - b.rejected_rewards))


def test_formulas():
    h = 0.5 * ((PC - RC) - (PR - RR))
    assert torch.allclose(run("sigmoid").per_pair, -F.logsigmoid(h))
    assert torch.allclose(run("hinge").per_pair, torch.relu(1 - h))
    ipo_h = (PC - RC) / LEN_C - (PR - RR) / LEN_R
    assert torch.allclose(run("ipo").per_pair, (ipo_h - 1.0) ** 2)
    eps = 0.2
    assert torch.allclose(run("cdpo", label_smoothing=eps).per_pair,
                          -(1 - eps) * F.logsigmoid(h) - eps * F.logsigmoid(-h))
    assert torch.allclose(run("robust", label_smoothing=eps).per_pair,
                          (-(1 - eps) * F.logsigmoid(h) + eps * F.logsigmoid(-h)) / (1 - 2 * eps))
    assert torch.allclose(run("cdpo").per_pair, run("sigmoid").per_pair)


def test_weights_make_a_weighted_mean():
    per = run("sigmoid").per_pair
    out = run("sigmoid", weights=torch.tensor([1.0, 3.0, 0.0]))
    assert out.loss.item() == pytest.approx(((per[0] + 3 * per[1]) / 4).item())


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_rpo_adds_the_chosen_per_token_nll(loss_type):
    plain, rpo = run(loss_type), run(loss_type, rpo_alpha=0.7)
    assert torch.allclose(rpo.per_pair, plain.per_pair + 0.7 * (-PC / LEN_C))
    assert torch.equal(rpo.chosen_rewards, plain.chosen_rewards)  # rewards (and accuracy) are DPO's


def test_rpo_skips_the_pairs_not_to_imitate():
    plain, rpo = run("cdpo", label_smoothing=0.2), run("cdpo", label_smoothing=0.2, rpo_alpha=0.7,
                                                       imitate=torch.tensor([True, False, True]))
    assert torch.allclose(rpo.per_pair, plain.per_pair + 0.7 * (-PC / LEN_C) * torch.tensor([1.0, 0.0, 1.0]))


def test_rpo_needs_token_counts():
    with pytest.raises(ValueError, match="token counts"):
        preference_loss(PC, PR, RC, RR, beta=0.5, loss_type="sigmoid", rpo_alpha=1.0)


def test_js_divergence_scores_the_log_ratios_through_log_two_plus_log_sigmoid():
    js = run("sigmoid", f_divergence="js_divergence")
    score = lambda ratio: math.log(2) + F.logsigmoid(ratio)  # noqa: E731
    assert torch.allclose(js.per_pair, -F.logsigmoid(0.5 * (score(PC - RC) - score(PR - RR))))
    assert torch.equal(js.chosen_rewards, run("sigmoid").chosen_rewards)  # reported rewards stay beta * ratio
    at_reference = preference_loss(PC, PR, PC, PR, beta=0.1, loss_type="sigmoid", f_divergence="js_divergence")
    assert at_reference.loss.item() == pytest.approx(math.log(2))


def test_js_divergence_stops_rewarding_a_winner_made_ever_more_likely():
    """At the same margin, reverse KL pays as much for a pair moved far above the reference as for one at
    it; JS's score saturates at log 2, so its pull on a winner already made likely fades."""
    def pull_on_chosen(divergence, lift):
        chosen = torch.tensor([-10.0 + lift], requires_grad=True)
        preference_loss(chosen, torch.tensor([-11.0 + lift]), torch.tensor([-10.0]), torch.tensor([-10.0]), beta=1.0,
                        loss_type="sigmoid", f_divergence=divergence).loss.backward()
        return -chosen.grad.item()

    assert pull_on_chosen("reverse_kl", 6.0) == pytest.approx(pull_on_chosen("reverse_kl", 0.0))
    assert pull_on_chosen("js_divergence", 6.0) < 0.05 * pull_on_chosen("js_divergence", 0.0)


def test_an_unknown_divergence_is_refused():
    with pytest.raises(ValueError, match="f_divergence"):
        run("sigmoid", f_divergence="forward_kl")


def test_entropy_floor_adds_the_weighted_shortfall():
    shortfall = torch.tensor([0.0, 0.4, 1.5])
    plain, floored = run("cdpo", label_smoothing=0.2), run("cdpo", label_smoothing=0.2, entropy_floor=0.5,
                                                           entropy_shortfall=shortfall)
    assert torch.allclose(floored.per_pair, plain.per_pair + 0.5 * shortfall)
    assert torch.equal(floored.chosen_rewards, plain.chosen_rewards)
    with pytest.raises(ValueError, match="shortfall"):
        run("sigmoid", entropy_floor=0.5)
