import pytest

from trends.detection.metrics import ari, bcubed, nmi


def test_perfect_clustering_scores_one():
    gold = ["a", "a", "b", "b", "c"]
    pred = [1, 1, 2, 2, 3]
    assert bcubed(gold, pred) == pytest.approx((1.0, 1.0, 1.0))
    assert nmi(gold, pred) == pytest.approx(1.0)
    assert ari(gold, pred) == pytest.approx(1.0)


def test_one_big_cluster_has_full_recall_and_low_precision():
    gold = ["a", "a", "b", "b"]
    p, r, f = bcubed(gold, [1, 1, 1, 1])
    assert r == pytest.approx(1.0)
    assert p == pytest.approx(0.5)
    assert f == pytest.approx(2 / 3)


def test_unassigned_items_count_as_singletons():
    gold = ["a", "a", "a", "b"]
    p, r, _ = bcubed(gold, [None, None, None, 7])
    assert p == pytest.approx(1.0)
    # Each of the three "a" items only recalls itself.
    assert r == pytest.approx((3 * (1 / 3) + 1) / 4)
    assert nmi(gold, [None, None, None, 7]) < 1.0


def test_label_values_do_not_matter_only_the_partition():
    gold = ["x", "x", "y"]
    assert bcubed(gold, [5, 5, 9]) == bcubed(gold, ["p", "p", "q"])


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        bcubed(["a"], [1, 2])
