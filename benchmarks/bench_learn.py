"""Training speed and separation targets of the similarity learning (stswidgets.learn).

Speed: ``SiameseEmbedding`` + ``SimilarityScore`` on a simulated 100 x 100 x 512 grid (10,000
spectra) against a named baseline run in the same process: a plain PyTorch loop training the
same 512 -> 20 -> 5 -> 2 twin network with Adam on as many random pairs as the estimator
consumed, gathered by index from one in-memory tensor. The ratio says what the Lightning
machinery, the balanced pair sampling and the score network cost on top; the absolute time
is what a user waits (target: under 60 s on 2 CPU cores). Timings on a shared machine are
inflated; the ratio is the robust number.

Targets (``--targets``): the Siamese score against every other method on each simulated
condition over several simulation seeds (vacancy-vs-surface AUC >= 0.99, vacancy >
transition > surface with AUC >= 0.9 for both steps, mean AUC >= the best other method).

Run: ``python benchmarks/bench_learn.py [--targets] [--shape 64 64 --n-bias 256 --seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def plain_loop(X: np.ndarray, n_pairs: int, batch_size: int, seed: int = 0) -> float:
    """Seconds for a bare PyTorch loop over ``n_pairs`` random labelled pairs (the baseline)."""
    import torch

    from stswidgets.learn.siamese import TwinMLP, contrastive_loss

    torch.manual_seed(seed)
    Xt = torch.as_tensor(X)
    twin = TwinMLP(X.shape[1], (20, 5, 2))
    opt = torch.optim.Adam(twin.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(max(1, n_pairs // batch_size)):
        i = torch.randint(0, len(Xt), (batch_size,), generator=gen)
        j = torch.randint(0, len(Xt), (batch_size,), generator=gen)
        y = (torch.rand(batch_size, generator=gen) < 0.5).float()
        opt.zero_grad()
        loss = contrastive_loss(twin.pair_distance(Xt[i], Xt[j]), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def speed(shape=(100, 100), n_bias=512, seed=0, threads=1) -> dict:
    import torch

    from stswidgets import datasets, to_matrix
    from stswidgets.learn import SiameseEmbedding, SimilarityScore
    from stswidgets.learn._training import SpectrumScaler

    X, _ = to_matrix(datasets.fese_like(seed=seed, shape=shape, n_bias=n_bias)["didv"])
    # warm up imports and kernels so neither side pays them
    SiameseEmbedding(random_state=0, progress=False, max_epochs=1, pairs_per_epoch=4096).fit(
        X[:500]
    )

    start = time.perf_counter()
    emb = SiameseEmbedding(random_state=seed, progress=False, num_threads=threads).fit(X)
    t_emb = time.perf_counter() - start
    start = time.perf_counter()
    score = SimilarityScore(embedding=emb, random_state=seed, progress=False, num_threads=threads)
    score.fit(X)
    t_score = time.perf_counter() - start

    n_pairs_emb = len(emb.history_["train_loss"]) * emb.pairs_per_epoch
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t_plain = plain_loop(SpectrumScaler().fit(X).transform(X), n_pairs_emb, emb.batch_size)
    finally:
        torch.set_num_threads(before)
    return {
        "n_spectra": X.shape[0],
        "n_bias": X.shape[1],
        "threads": threads,
        "embedding_s": t_emb,
        "embedding_epochs": len(emb.history_["train_loss"]),
        "score_s": t_score,
        "score_epochs": len(score.history_["train_loss"]),
        "score_restarts": score.restarts_,
        "total_s": t_emb + t_score,
        "plain_loop_s": t_plain,
        "plain_pairs_per_s": n_pairs_emb / t_plain,
        "estimator_pairs_per_s": n_pairs_emb / t_emb,
        "ratio_embedding_to_plain": t_emb / t_plain,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", action="store_true", help="also run the method benchmark")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    parser.add_argument("--shape", type=int, nargs=2, default=(64, 64), help="targets grid size")
    parser.add_argument("--n-bias", type=int, default=256, help="targets bias points")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    if not args.no_speed:
        result = speed(threads=args.threads)
        print(
            f"SiameseEmbedding + SimilarityScore on {result['n_spectra']} spectra x "
            f"{result['n_bias']} bias points, {result['threads']} torch thread(s):"
        )
        print(
            f"  embedding {result['embedding_s']:.1f} s ({result['embedding_epochs']} epochs), "
            f"score {result['score_s']:.1f} s ({result['score_epochs']} epochs, "
            f"{result['score_restarts']} restarts), "
            f"total {result['total_s']:.1f} s (target < 60 s: "
            f"{'met' if result['total_s'] < 60 else 'NOT met'})"
        )
        print(
            f"  baseline plain PyTorch loop, same pairs: {result['plain_loop_s']:.1f} s "
            f"({result['plain_pairs_per_s']:,.0f} pairs/s); estimator "
            f"{result['estimator_pairs_per_s']:,.0f} pairs/s; "
            f"ratio embedding / plain = {result['ratio_embedding_to_plain']:.2f}"
        )
    if args.targets:
        from stswidgets.evaluation.benchmark import method_benchmark, target_summary

        rows = method_benchmark(seeds=args.seeds, shape=tuple(args.shape), n_bias=args.n_bias)
        print(f"\nmethods on {args.shape[0]}x{args.shape[1]}x{args.n_bias}, seeds {args.seeds}")
        print(
            f"{'condition':18s} {'method':14s} {'vac/surf':>8s} {'vac/tr':>8s} {'tr/surf':>8s} "
            f"{'mean':>6s} {'time s':>7s}"
        )
        for r in rows:
            print(
                f"{r['condition']:18s} {r['method']:14s} {r['auc_vacancy_surface']:8.3f} "
                f"{r['auc_vacancy_transition']:8.3f} {r['auc_transition_surface']:8.3f} "
                f"{r['mean_auc']:6.3f} {r['runtime_s']:7.1f}"
            )
        print("\nSiamese score targets (means over seeds):")
        for s in target_summary(rows):
            print(
                f"  {s['condition']:18s} vac/surf {s['auc_vacancy_surface']:.3f} "
                f"(worst seed {s['worst_seed_auc_vacancy_surface']:.3f}) "
                f"[{'met' if s['vacancy_surface_met'] else 'NOT met'}]; vac/tr "
                f"{s['auc_vacancy_transition']:.3f} "
                f"(worst {s['worst_seed_auc_vacancy_transition']:.3f}), "
                f"tr/surf {s['auc_transition_surface']:.3f} "
                f"(worst {s['worst_seed_auc_transition_surface']:.3f}) "
                f"[{'met' if s['ordering_met'] else 'NOT met'}]; mean {s['mean_auc']:.3f} vs "
                f"best other {s['best_other']} {s['best_other_mean_auc']:.3f} "
                f"[{'met' if s['best_method_met'] else 'NOT met'}]"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
