#pragma once
// Every `kdprune score` method, one line each: X(name, description). Adding a scorer is its file,
// src/scoring/methods/<name>.cpp (defining scoring::Scorer <name>_scorer()), and its line here.
// The list is torch-free, so kdprune_base (the pruner registry, `kdprune run`'s checks of
// experiment.pruners) knows the names; src/scoring/scorer_registry.cpp expands the same list
// into the factories.
#define KDPRUNE_SCORERS(X)                                                                                         \
  X(forgetting, "forgetting events during training (kdprune score; never learned = hardest)")                    \
  X(el2n, "||softmax - onehot||_2 after a short training, mean over models (kdprune score)")                      \
  X(grand, "per-sample gradient norm, last layer (closed form) or full (kdprune score)")                          \
  X(moderate, "distance to the class's median embedding (Moderate-DS); select with prune.level=moderate")      \
  X(dual,                                                                                                        \
    "10*std*(1-mean) of the true-class probability over sliding windows of the first epochs (kdprune score); "  \
    "prune.sampling=auto (the default) selects with Beta sampling at f <= 0.5")                                   \
  X(aum, "minus the area under the margin (logit_y - max other) over training (kdprune score)")                  \
  X(memorization, "P[right | trained on it] - P[right | not], K models on random r-subsets (kdprune score)")
