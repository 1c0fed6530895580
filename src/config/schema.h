#pragma once
// The one declaration of every config key: name, member, allowed values, and its role for
// `kdprune run` (key_roles.h: run_only, path, per_student, view; none = an identity key that every
// student of a group shares). Visitors (the YAML reader and writer in config_read.cpp and
// config_write.cpp, the role table in key_roles.cpp) walk these; adding a key is one line here.
#include "kdprune/config/config.h"
#include "kdprune/config/key_roles.h"
#include "kdprune/config/sampling_list.h"
#include "rules.h"

namespace kdprune::config_schema {
using namespace config_rules;
using namespace key_role;

template <class V> void describe(V& v, RunSection& s) {
  v.field("name", s.name,
          Rule<std::string>{"a plain directory name (no '/', not . or ..; empty = <command>-<time>)",
                            [](const std::string& n) { return n.find('/') == std::string::npos && n != "." && n != ".."; }},
          run_only | per_student);
  v.field("root", s.root, non_empty(), run_only | path);
  v.field("seed", s.seed, non_negative_int());
  v.field("device", s.device, device_spec(), run_only);
  v.field("threads", s.threads, Rule<int64_t>{"an integer in [0, 1024] (0 = the library default)", [](const int64_t& t) { return t >= 0 && t <= 1024; }}, run_only);
  v.field("adapt_threads", s.adapt_threads, {}, run_only);
  v.field("log_level", s.log_level, one_of({"trace", "debug", "info", "warn", "error"}), run_only);
  v.field("log_every_steps", s.log_every_steps, non_negative_int(), run_only | per_student);
}

template <class V> void describe(V& v, SyntheticSection& s) {
  v.field("train_size", s.train_size, positive_int());
  v.field("test_size", s.test_size, positive_int());
  v.field("channels", s.channels, positive_int());
  v.field("height", s.height, positive_int());
  v.field("width", s.width, positive_int());
  v.field("classes", s.classes, Rule<int64_t>{"an integer in [2, 100000]", [](const int64_t& c) { return c >= 2 && c <= 100000; }});
  v.field("noise", s.noise, non_negative());
  v.field("seed", s.seed, Rule<int64_t>{"an integer >= -1 (-1 = run.seed)", [](const int64_t& x) { return x >= -1; }});
}

template <class V> void describe(V& v, ImageFolderSection& s) {
  v.field("size", s.size, Rule<int64_t>{"an integer in [8, 1024]", [](const int64_t& x) { return x >= 8 && x <= 1024; }});
  v.field("max_bad", s.max_bad, non_negative_int());
  v.field("cache", s.cache, {}, run_only);
  v.field("stream", s.stream);
  v.field("eval_resize", s.eval_resize, non_negative_int());
  v.field("threads", s.threads, non_negative_int(), run_only);
}

template <class V> void describe(V& v, DataSection& s) {
  v.field("name", s.name, non_empty());
  v.field("root", s.root, {}, path);
  v.field("fraction", s.fraction, fraction_open_closed(), view);
  v.field("subset", s.subset, {}, view | path);
  v.field("split", s.split, unit_closed_open(), view);
  v.field("split_seed", s.split_seed, Rule<int64_t>{"an integer >= -1 (-1 = run.seed)", [](const int64_t& v) { return v >= -1; }}, view);
  v.field("part", s.part, one_of({"all", "teacher", "student"}), view);
  v.field("val_split", s.val_split, unit_closed_open(), view);
  v.field("augment", s.augment, {}, view);
  v.section("synthetic", s.synthetic);
  v.section("imagefolder", s.imagefolder);
}

template <class V> void describe(V& v, ModelSection& s) {
  v.field("arch", s.arch, non_empty());
  v.field("init", s.init, {}, path);
}

template <class V> void describe(V& v, TrainSection& s) {
  v.field("epochs", s.epochs, non_negative_int());
  v.field("batch_size", s.batch_size, positive_int());
  v.field("lr", s.lr, non_negative());
  v.field("momentum", s.momentum, unit_closed_open());
  v.field("nesterov", s.nesterov);
  v.field("weight_decay", s.weight_decay, non_negative());
  v.field("schedule", s.schedule, one_of({"multistep", "cosine", "constant"}));
  v.field("milestones", s.milestones, ascending_positive());
  v.field("gamma", s.gamma, positive());
  v.field("warmup_epochs", s.warmup_epochs, non_negative_int());
  v.field("amp", s.amp);  // Choice fields: their names are the allowed values (choice.h)
  v.field("channels_last", s.channels_last);
  v.field("cuda_graph", s.cuda_graph, {}, run_only);
  v.field("group_max", s.group_max, memory_size_or_auto(), run_only);
  v.field("eval_every", s.eval_every, positive_int());
  v.field("checkpoint_every", s.checkpoint_every, non_negative_int(), run_only);
  v.field("eval_batch_size", s.eval_batch_size, positive_int(), run_only);
  v.field("sync_batchnorm", s.sync_batchnorm);
  v.field("grad_bucket_mb", s.grad_bucket_mb, positive(), run_only);
  v.field("grad_overlap", s.grad_overlap, {}, run_only);
  v.field("dist_backend", s.dist_backend, one_of({"auto", "nccl", "gloo"}), run_only);
}

template <class V> void describe(V& v, KdSection& s) {
  v.field("teacher", s.teacher, {}, path);
  v.field("teacher_arch", s.teacher_arch);
  v.field("alpha", s.alpha);
  v.field("tau", s.tau, positive());
  v.field("loss", s.loss, non_empty());
  v.field("weighting", s.weighting, one_of({"convex", "repdistiller"}));
  v.field("gamma", s.gamma, non_negative());
  v.field("beta", s.beta, non_negative());
  v.field("extra", s.extra);
  v.field("init_epochs", s.init_epochs, non_negative_int());
  v.field("hint_layer", s.hint_layer, non_negative_int());
  v.field("nce_k", s.nce_k, positive_int());
}

template <class V> void describe(V& v, PruneSection& s) {
  v.field("method", s.method, non_empty());
  v.field("fraction", s.fraction, fraction_open_closed());
  v.field("level", s.level, one_of({"hard", "easy", "moderate"}));
  v.field("class_balanced", s.class_balanced);
  v.field("class_shares", s.class_shares, one_of({"equal", "proportional"}));
  v.field("scores", s.scores, {}, path);
  v.field("scores_order", s.scores_order, {}, path);
  v.field("seed", s.seed, non_negative_int());
#define KDPRUNE_SAMPLING_NAME(name) #name,
  v.field("sampling", s.sampling, one_of({"auto", KDPRUNE_SAMPLING_RULES(KDPRUNE_SAMPLING_NAME)}));  // sampling_list.h
#undef KDPRUNE_SAMPLING_NAME
  v.field("cutoff", s.cutoff, unit_closed_open());
  v.field("cutoff_by", s.cutoff_by, one_of({"auto", "aum", "score"}));
  v.field("aum", s.aum, {}, path);
  // CCS uses 50 (its paper and reference code); each stratum costs a pass over the budget, so a
  // typo such as 100000000 would run for minutes before any error.
  v.field("strata", s.strata, Rule<int64_t>{"an integer in [1, 10000]", [](const int64_t& k) { return k >= 1 && k <= 10000; }});
  v.field("beta_cd", s.beta_cd, non_negative());
  v.field("mean_prob", s.mean_prob, {}, path);
  v.field("model", s.model, {}, path);
  v.field("knn", s.knn, positive_int());
  v.field("d2_gamma", s.d2_gamma, non_negative());
  v.field("d2_beta", s.d2_beta, non_negative());
  v.field("d2_graph", s.d2_graph, one_of({"symmetric", "knn"}));
  v.field("d2_per_class", s.d2_per_class);
}

template <class V> void describe(V& v, ScoreSection& s) {
  v.field("method", s.method, non_empty());
  v.field("epochs", s.epochs, non_negative_int());
  v.field("schedule_epochs", s.schedule_epochs,
          Rule<int64_t>{"an integer >= -1 (0 = train.epochs, -1 = score.epochs)", [](const int64_t& e) { return e >= -1; }});
  v.field("models", s.models, positive_int());
  v.field("scope", s.scope, one_of({"last_layer", "full"}));
  v.field("subset_ratio", s.subset_ratio, fraction_open_closed());
  v.field("window", s.window, positive_int());
  v.field("shard", s.shard, shard_spec());
  v.field("outcomes_dir", s.outcomes_dir, {}, run_only | path);
  v.field("checkpoint", s.checkpoint, {}, path);
  v.field("save_models", s.save_models);
}

template <class V> void describe(V& v, Config& c) {
  v.section("run", c.run);
  v.section("data", c.data);
  // Each student of a group has its own model, recipe and KD settings; the selection keys choose
  // its training view.
  v.section("model", c.model, per_student);
  v.section("train", c.train, per_student);
  v.section("kd", c.kd, per_student);
  v.section("prune", c.prune, view);
  v.section("score", c.score);
}

}  // namespace kdprune::config_schema
