// Turning an experiment into stages (plan), their names and labels, and the command line that
// reruns a stage by hand.
#include "kdprune/pipeline/experiment.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/prune/stratified.h"
#include "kdprune/util/error.h"
#include "kdprune/util/hash.h"

namespace kdprune::pipeline {
namespace {

std::string alpha_label(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && !text.empty()) return "a" + format_number(v);
  return std::string("a") + hex64(fnv1a64(text)).substr(0, 6);  // a schedule: a short content hash
}

bool alpha_is_zero(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end && *end == '\0' && !text.empty() && v == 0.0;
}

}  // namespace

std::string format_number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string PrunerSpec::label() const {
  const std::string default_level = name == "moderate" ? "moderate" : "hard";
  std::string s = name;
  if (!score_free() && level != default_level) s += "-" + level;
  if (class_balanced && !prune::class_balanced_pruner(name)) s += "-cb";
  // auto is the default; top-k is too, except for DUAL, whose auto means Beta sampling at f <= 0.5.
  if (sampling != "auto" && (sampling != "topk" || name == "dual")) s += "-" + sampling + (cutoff > 0 ? format_number(cutoff) : "");
  return s;
}

const char* command_of(StageKind kind) {
  switch (kind) {
    case StageKind::teacher: return "train-teacher";
    case StageKind::score: return "score";
    case StageKind::prune: return "prune";
    case StageKind::student: return "distill";
  }
  return "";
}

const char* kind_name(StageKind kind) {
  switch (kind) {
    case StageKind::teacher: return "teacher";
    case StageKind::score: return "score";
    case StageKind::prune: return "prune";
    case StageKind::student: return "student";
  }
  return "";
}

namespace {
// Every combination of the axes' values, as (overrides, name part); one empty one without axes.
std::vector<std::pair<std::vector<std::string>, std::string>> combinations(const std::vector<Axis>& axes) {
  std::vector<std::pair<std::vector<std::string>, std::string>> out = {{{}, ""}};
  for (const auto& a : axes) {
    std::vector<std::pair<std::vector<std::string>, std::string>> next;
    for (const auto& [o, label] : out)
      for (const auto& v : a.values) {
        auto more = o;
        more.push_back(a.key + "=" + v);
        next.emplace_back(std::move(more), label + "-" + axis_label(a.key, v));
      }
    out = std::move(next);
  }
  return out;
}
}  // namespace

std::vector<Stage> plan(const Experiment& e) {
  std::vector<Stage> stages;
  const std::string root = "run.root=" + e.dir();
  auto add = [&](StageKind kind, const std::string& name, std::vector<std::string> extra,
                 const std::vector<std::string>& user, std::vector<size_t> inputs = {}, std::string scores = {}) {
    // The stage's own keys win; the user's same keys are dropped so each key appears once.
    std::vector<std::string> o;
    auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    for (const auto& u : user)
      if (std::none_of(extra.begin(), extra.end(), [&](const auto& x) { return key_of(x) == key_of(u); })) o.push_back(u);
    o.insert(o.end(), extra.begin(), extra.end());
    o.push_back(root);
    o.push_back("run.name=" + name);
    stages.push_back({kind, name, std::move(o), std::move(scores), std::move(inputs)});
    return stages.size() - 1;
  };
  std::vector<std::string> teacher_part, student_part;
  if (e.disjoint_split > 0) {
    teacher_part = {"data.split=" + format_number(e.disjoint_split), "data.part=" + e.teacher_part};
    student_part = {"data.split=" + format_number(e.disjoint_split), "data.part=student"};
  }

  // Teachers: every architecture at every f_t (only needed when some alpha is not 0), or the
  // given model files, named by their run directory.
  struct Teacher { std::string key; std::optional<size_t> stage; std::string model; };
  std::vector<Teacher> teachers;
  const bool any_kd = std::any_of(e.alphas.begin(), e.alphas.end(), [](const auto& a) { return !alpha_is_zero(a); });
  // A given file is labelled by its architecture (its folder where that is unknown), and where
  // two files would share a label, by the architecture and the folder (or file name).
  for (size_t i = 0; i < e.teacher_models.size(); ++i) {
    const std::filesystem::path p(e.teacher_models[i]);
    const std::string place = p.has_parent_path() && p.filename() == "model.pt" ? p.parent_path().filename().string() : p.stem().string();
    const std::string arch = i < e.teacher_model_archs.size() ? e.teacher_model_archs[i] : "";
    teachers.push_back({arch.empty() ? place : arch, std::nullopt, e.teacher_models[i]});
  }
  const auto given = teachers;
  for (size_t i = 0; i < given.size(); ++i) {
    const auto same = std::count_if(given.begin(), given.end(), [&](const Teacher& t) { return t.key == given[i].key; });
    if (same > 1) {
      const std::filesystem::path p(e.teacher_models[i]);
      teachers[i].key += "-" + (p.has_parent_path() && p.filename() == "model.pt" ? p.parent_path().filename().string() : p.stem().string());
    }
  }
  if (any_kd)
    for (const auto& arch : e.teacher_archs)
      for (double ft : e.teacher_fractions)
        for (const auto& [axis_overrides, axis_part] : combinations(e.teacher_axes)) {
          const std::string key = arch + (ft < 1.0 ? "-ft" + format_number(ft) : "") + axis_part;
          std::vector<std::string> o = {"model.arch=" + arch, "data.fraction=" + format_number(ft), "data.subset=",
                                        "prune.fraction=1"};
          o.insert(o.end(), teacher_part.begin(), teacher_part.end());
          o.insert(o.end(), axis_overrides.begin(), axis_overrides.end());
          const size_t t = add(StageKind::teacher, "teacher-" + key, o, e.teacher_overrides);
          teachers.push_back({key, t, e.dir() + "/" + stages[t].name + "/model.pt"});
        }

  // Scores: one stage per score method that no file provides.
  std::map<std::string, size_t> score_stage;
  for (const auto& p : e.pruners)
    if (!p.score_free() && p.scores.empty() && !score_stage.count(p.name))
    {
      // Scores are computed on the pool the students select from (their part of a disjoint split).
      std::vector<std::string> o = {"score.method=" + p.name, "data.fraction=1", "data.subset=", "prune.fraction=1"};
      o.insert(o.end(), student_part.begin(), student_part.end());
      score_stage[p.name] = add(StageKind::score, "score-" + p.name, o, e.score_overrides);
    }

  // Every seed's subsets and students see the data the teachers and scores saw (the base seed's):
  // the same split, and the same images where the dataset is drawn from run.seed.
  auto pin_base_data = [&](std::vector<std::string>& o, int64_t seed) {
    if (seed == e.base_seed) return;
    if (e.disjoint_split > 0) o.push_back("data.split_seed=" + std::to_string(e.base_seed));
    if (e.data_from_seed) o.push_back("data.synthetic.seed=" + std::to_string(e.base_seed));
  };
  for (double f : e.fractions) {
    // f = 1 keeps everything: one set of students, pruner "none".
    std::vector<const PrunerSpec*> pruners;
    static const PrunerSpec none{.name = "none", .scores = ""};
    if (f >= 1.0) pruners.push_back(&none);
    else for (const auto& p : e.pruners) pruners.push_back(&p);
    for (const PrunerSpec* p : pruners) {
      for (int64_t seed : e.seeds) {
        // The subset: drawn per seed where the selection samples (random, CCS, Beta); top-k and
        // D2 subsets are a function of the scores alone, one for every seed.
        std::optional<size_t> subset;
        // The sampling is spelled out (auto resolved here), so the stage's config says what it does.
        const std::string sampling =
            p == &none ? "" : p->sampling == "auto" ? prune::auto_sampling(p->name == "dual", f, p->level, p->class_balanced) : p->sampling;
        const bool seeded = p != &none && (p->score_free() || prune::sampling_rule(sampling).seeded);
        if (p != &none && (seeded || seed == e.seeds.front())) {
          const std::string name = "prune-" + p->label() + "-f" + format_number(f) + (seeded ? "-s" + std::to_string(seed) : "");
          std::vector<std::string> o = {"prune.fraction=" + format_number(f),
                                        std::string("prune.class_balanced=") + (p->class_balanced ? "true" : "false"),
                                        "data.fraction=1", "data.subset=", "run.seed=" + std::to_string(seed)};
          o.push_back("prune.sampling=" + (p->score_free() ? prune::score_free_sampling().name : sampling));
          if (!p->score_free()) {
            o.push_back("prune.level=" + p->level);
            o.push_back("prune.cutoff=" + format_number(p->cutoff));
          }
          o.insert(o.end(), student_part.begin(), student_part.end());
          pin_base_data(o, seed);
          std::vector<size_t> in;
          std::string scores = p->scores;
          if (seeded) o.push_back("prune.seed=" + std::to_string(seed));
          if (p->score_free()) {
            o.push_back("prune.method=" + p->name);
          } else if (scores.empty()) {
            in.push_back(score_stage.at(p->name));
            scores = e.dir() + "/" + stages[in.back()].name + "/scores.npy";
          }
          if (prune::sampling_rule(sampling).reads.model) {
            // A graph of embeddings (D2's) uses the first teacher's.
            if (teachers.empty())
              throw Error(e.file + ": experiment.pruners: " + sampling + " sampling needs a model for its kNN graph: give "
                          "teacher_models, or an alpha > 0 so that a teacher is trained");
            o.push_back("prune.model=" + teachers.front().model);
            if (teachers.front().stage) in.push_back(*teachers.front().stage);
          }
          subset = add(StageKind::prune, name, o, {}, in, scores);
        } else if (p != &none) {
          const std::string name = "prune-" + p->label() + "-f" + format_number(f);
          for (size_t i = 0; i < stages.size(); ++i)
            if (stages[i].name == name) subset = i;
        }
        for (const auto& alpha : e.alphas) {
          const bool kd = !alpha_is_zero(alpha);
          const size_t n_teachers = kd ? teachers.size() : 1;
          // kd.* axes make KD students only: a student without KD does not read them.
          std::vector<Axis> axes;
          for (const auto& a : e.axes)
            if (kd || a.key.rfind("kd.", 0) != 0) axes.push_back(a);
          for (size_t t = 0; t < n_teachers; ++t)
          for (const auto& [axis_overrides, axis_part] : combinations(axes)) {
            std::string name = "student-" + p->label() + "-f" + format_number(f) + "-" + alpha_label(alpha);
            if (kd) name += "-" + teachers[t].key;
            name += axis_part + "-s" + std::to_string(seed);
            std::vector<std::string> o = {"run.seed=" + std::to_string(seed), "kd.alpha=" + alpha, "prune.fraction=1",
                                          "data.fraction=1"};
            std::vector<size_t> in;
            o.push_back(kd ? "kd.teacher=" + teachers[t].model : std::string("kd.teacher="));
            if (kd && teachers[t].stage) in.push_back(*teachers[t].stage);
            if (subset) {
              o.push_back("data.subset=" + e.dir() + "/" + stages[*subset].name + "/subset.npy");
              in.push_back(*subset);
            } else {
              o.push_back("data.subset=");
            }
            o.insert(o.end(), student_part.begin(), student_part.end());
            pin_base_data(o, seed);
            o.insert(o.end(), axis_overrides.begin(), axis_overrides.end());
            stages[add(StageKind::student, name, o, e.student_overrides, in)].fraction = f;
          }
        }
      }
    }
  }
  // Two axis values that read alike in a name ("a b" and "a_b") would share a run directory.
  for (size_t i = 0; i < stages.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (stages[i].name == stages[j].name)
        throw Error(e.file + ": experiment: two stages would be named " + stages[i].name +
                    " (axis values that differ only in characters a name cannot hold); make the values differ in letters or digits");
  return stages;
}

std::string command_line(const Stage& stage, const std::string& base_yaml_path) {
  auto quote = [](const std::string& s) {
    if (s.find_first_of(" '\"[]{}*?$&|;<>()\\") == std::string::npos) return s;
    std::string q = "'";
    for (char c : s) {
      if (c == '\'') q.append("'\\''");
      else q.push_back(c);
    }
    return q + "'";
  };
  std::string line = std::string("kdprune ") + command_of(stage.kind) + " --config " + quote(base_yaml_path);
  if (!stage.scores_file.empty()) line.append(" --scores ").append(quote(stage.scores_file));
  for (const auto& o : stage.overrides) line.append(" ").append(quote(o));
  return line;
}

}  // namespace kdprune::pipeline
