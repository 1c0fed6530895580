#pragma once
// Every prune.sampling rule, one line each: X(name). Adding a rule is its file,
// src/prune/sampling/<name>.cpp (defining prune::SamplingRule <name>_rule()), and its name here.
// The list sits in config/ (it includes nothing), so the config schema accepts exactly these
// names (with auto) and src/prune/sampling/registry.cpp expands the same list into the registry.
#define KDPRUNE_SAMPLING_RULES(X) X(topk) X(ccs) X(beta) X(d2)
