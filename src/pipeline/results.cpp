// Results rows from run directories, results.csv, and the accuracy table.
#include "kdprune/pipeline/results.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "kdprune/config/config.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/util/error.h"

namespace kdprune::pipeline {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(io::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

template <class T> T field(const nlohmann::json& j, const char* key, const std::string& file, T fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(file + ": field '" + key + "' has the wrong type");
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  return q + "\"";
}

// The method behind a subset: score-based subsets name their score file, whose scores.json (from
// `kdprune score`) names the method; an external file is named by its stem.
void read_pruner(const std::string& subset_file, ResultRow& row) {
  const std::string info_path = (fs::path(subset_file).parent_path() / "subset.json").string();
  if (!fs::exists(info_path)) {
    row.pruner = fs::path(subset_file).stem().string();
    row.level = "";
    return;
  }
  const auto info = read_json(info_path);
  row.pruner = field<std::string>(info, "method", info_path, "subset");
  row.level = field<std::string>(info, "level", info_path, "");
  row.class_balanced = field<bool>(info, "class_balanced", info_path, false);
  row.sampling = field<std::string>(info, "sampling", info_path, "");
  if (row.pruner == "scores") {
    const std::string scores = field<std::string>(info, "scores", info_path, "");
    const std::string scores_json = (fs::path(scores).parent_path() / "scores.json").string();
    row.pruner = fs::path(scores).stem().string();
    if (!scores.empty() && fs::exists(scores_json) && fs::path(scores).filename() == "scores.npy")
      row.pruner = field<std::string>(read_json(scores_json), "method", scores_json, row.pruner);
  } else {
    row.level = "";  // random pruning has no level
    row.sampling = "";
  }
  if (row.sampling != "" && row.sampling != "topk") row.level = "";  // the level applies to top-k only
}

struct Stats {
  double mean = 0, std = 0;
  size_t n = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  s.n = v.size();
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(s.n);
  if (s.n > 1) {
    for (double x : v) s.std += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(s.std / static_cast<double>(s.n - 1));
  }
  return s;
}

}  // namespace

namespace {
// A dotted key's value in a config.yaml, as flow text ("" when absent).
std::string yaml_value(const std::string& path, const std::string& dotted) {
  YAML::Node n = YAML::LoadFile(path);
  for (size_t start = 0; n && start <= dotted.size();) {
    const size_t dot = std::min(dotted.find('.', start), dotted.size());
    n = n[dotted.substr(start, dot - start)];
    start = dot + 1;
  }
  if (!n || n.IsNull()) return "";
  if (n.IsScalar()) {  // numbers as the experiment file writes them (2, not 2.0)
    char* end = nullptr;
    const double v = std::strtod(n.Scalar().c_str(), &end);
    return !n.Scalar().empty() && end && *end == '\0' ? format_number(v) : n.Scalar();
  }
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}
}  // namespace

ResultRow read_result(const std::string& run_dir, const AxisKeys& axes) {
  const std::string summary_path = run_dir + "/summary.json";
  const std::string config_path = run_dir + "/config.yaml";
  if (!fs::exists(summary_path)) throw Error(run_dir + ": no summary.json (not a finished run directory)");
  const auto s = read_json(summary_path);
  const Config c = load_config(config_path, {});
  ResultRow r;
  r.run_dir = run_dir;
  r.dataset = field<std::string>(s, "dataset", summary_path, c.data.name);
  r.student_arch = field<std::string>(s, "arch", summary_path, c.model.arch);
  r.f = field<double>(s, "f", summary_path, 1.0);
  r.seed = field<int64_t>(s, "seed", summary_path, c.run.seed);
  r.subset_size = field<int64_t>(s, "subset_size", summary_path, 0);
  r.top1 = field<double>(s, "top1", summary_path, 0.0);
  r.top5 = field<double>(s, "top5", summary_path, 0.0);
  r.best_top1 = field<double>(s, "best_top1", summary_path, r.top1);
  r.best_epoch = field<int64_t>(s, "best_epoch", summary_path, 0);
  r.best_by = field<std::string>(s, "best_chosen_by", summary_path, "test");
  r.wall_seconds = field<double>(s, "wall_seconds", summary_path, 0.0);
  r.alpha = field<double>(s, "alpha", summary_path, 0.0);
  r.alpha_schedule = field<std::string>(s, "alpha_schedule", summary_path, "constant");
  r.tau = field<double>(s, "tau", summary_path, c.kd.tau);
  if (c.kd.weighting == "repdistiller" && !c.kd.extra.empty() && c.kd.beta != 0.0) r.kd_extra = c.kd.extra, r.kd_beta = c.kd.beta;
  r.data_part = c.data.part;
  r.precision = (c.train.amp == "off" ? std::string("fp32") : c.train.amp.name()) + (c.train.channels_last == "true" ? "+CL" : "");
  if (!c.data.subset.empty()) {
    read_pruner(c.data.subset, r);
  } else if (r.f < 1.0) {
    r.pruner = c.data.fraction < 1.0 ? "random" : c.prune.method;
    r.class_balanced = c.prune.class_balanced || prune::class_balanced_pruner(c.prune.method);
  } else {
    r.pruner = "none";
  }
  if (r.alpha != 0.0 || field<std::string>(s, "teacher_arch", summary_path, "") != "") {
    r.teacher_arch = field<std::string>(s, "teacher_arch", summary_path, "");
    const std::string teacher_summary = (fs::path(c.kd.teacher).parent_path() / "summary.json").string();
    // A train-teacher run records its f; a PyTorch file says nothing of the data it saw.
    if (!c.kd.teacher.empty() && fs::exists(teacher_summary))
      r.teacher_f = field<double>(read_json(teacher_summary), "f", teacher_summary, 1.0);
    if (s.contains("teacher_top1") && s["teacher_top1"].is_number()) r.teacher_top1 = s["teacher_top1"].get<double>();
    const std::string teacher_config = (fs::path(c.kd.teacher).parent_path() / "config.yaml").string();
    if (!c.kd.teacher.empty() && fs::exists(teacher_config)) r.teacher_part = load_config(teacher_config, {}).data.part;
  }
  if (r.alpha == 0.0) r.teacher_arch.clear(), r.teacher_f.reset(), r.teacher_top1.reset(), r.teacher_part.clear();  // α = 0 uses no teacher
  // A kd.* axis means nothing to a student without KD: its field stays empty.
  for (const auto& key : axes.student)
    r.axes.emplace_back(key, r.alpha == 0.0 && key.rfind("kd.", 0) == 0 ? "" : yaml_value(config_path, key));
  const std::string teacher_config = (fs::path(c.kd.teacher).parent_path() / "config.yaml").string();
  for (const auto& key : axes.teacher)
    r.axes.emplace_back("teacher." + key, r.alpha != 0.0 && fs::exists(teacher_config) ? yaml_value(teacher_config, key) : "");
  return r;
}

namespace {
// An unknown value is an empty field, never 0.
std::string optional_number(const std::optional<double>& v) { return v ? format_number(*v) : ""; }
// A teacher by architecture, f_t and the split part it trained on (disjoint vs shared data).
std::string teacher_key(const ResultRow& r) {
  return r.teacher_arch.empty() ? "" : r.teacher_arch + "@" + (r.teacher_f ? format_number(*r.teacher_f) : "?") + "/" + r.teacher_part;
}
}  // namespace

std::string results_csv(const std::vector<ResultRow>& rows) {
  std::ostringstream out;
  std::vector<std::string> axis_keys;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.axes)
      if (std::find(axis_keys.begin(), axis_keys.end(), k) == axis_keys.end()) axis_keys.push_back(k);
  out << "dataset,pruner,level,class_balanced,sampling,f,alpha,alpha_schedule,tau,teacher_arch,teacher_f,teacher_part,data_part,"
         "student_arch,seed,subset_size,top1,top5,best_top1,best_epoch,wall_seconds,run_dir,kd_extra,kd_beta,precision,teacher_top1,best_by";
  for (const auto& k : axis_keys) out << ',' << csv_field(k);
  out << '\n';
  for (const auto& r : rows) {
    out << csv_field(r.dataset) << ',' << csv_field(r.pruner) << ',' << csv_field(r.level) << ','
        << (r.class_balanced ? "true" : "false") << ',' << csv_field(r.sampling) << ',' << format_number(r.f) << ',' << format_number(r.alpha) << ','
        << csv_field(r.alpha_schedule) << ',' << format_number(r.tau) << ',' << csv_field(r.teacher_arch) << ','
        << optional_number(r.teacher_f) << ',' << csv_field(r.teacher_part) << ',' << csv_field(r.data_part) << ',' << csv_field(r.student_arch) << ','
        << r.seed << ',' << r.subset_size << ',' << format_number(r.top1) << ',' << format_number(r.top5) << ','
        << format_number(r.best_top1) << ',' << r.best_epoch << ','
        << format_number(std::round(r.wall_seconds * 100) / 100) << ',' << csv_field(r.run_dir) << ','
        << csv_field(r.kd_extra) << ',' << format_number(r.kd_beta) << ',' << csv_field(r.precision) << ','
        << optional_number(r.teacher_top1) << ',' << csv_field(r.best_by);
    for (const auto& k : axis_keys) {
      const auto it = std::find_if(r.axes.begin(), r.axes.end(), [&](const auto& a) { return a.first == k; });
      out << ',' << (it == r.axes.end() ? std::string() : csv_field(it->second));
    }
    out << '\n';
  }
  return out.str();
}

std::string accuracy_table(const std::vector<ResultRow>& rows, const std::string& metric) {
  if (metric != "best" && metric != "last") throw Error("--metric: expected best or last, got '" + metric + "'");
  if (rows.empty()) return "(no finished student runs)\n";
  auto value = [&](const ResultRow& r) { return metric == "best" ? r.best_top1 : r.top1; };
  // Column key: pruner label x (alpha, teacher). Teacher shown only when several are in play.
  auto pruner_label = [](const ResultRow& r) {
    std::string s = r.pruner;
    if (!r.level.empty() && r.level != (r.pruner == "moderate" ? "moderate" : "hard")) s += "-" + r.level;
    if (r.class_balanced && !prune::class_balanced_pruner(r.pruner)) s += "-cb";
    if (!r.sampling.empty() && r.sampling != "topk") s += "-" + r.sampling;
    return s;
  };
  std::vector<std::string> teacher_keys;
  for (const auto& r : rows) {
    // Teachers differ by architecture, f_t and the split part they trained on (disjoint vs shared).
    const std::string t = teacher_key(r);
    if (!t.empty() && std::find(teacher_keys.begin(), teacher_keys.end(), t) == teacher_keys.end())
      teacher_keys.push_back(t);
  }
  std::vector<double> alphas;
  for (const auto& r : rows)
    if (std::find(alphas.begin(), alphas.end(), r.alpha) == alphas.end()) alphas.push_back(r.alpha);
  std::sort(alphas.begin(), alphas.end());
  // Every other condition that differs between rows becomes part of the column, so that no cell
  // averages two conditions as if they were seeds.
  std::set<std::string> datasets, students, taus, parts, precisions, best_by;
  for (const auto& r : rows) {
    datasets.insert(r.dataset), students.insert(r.student_arch), parts.insert(r.data_part), precisions.insert(r.precision);
    best_by.insert(r.best_by);
    if (r.alpha != 0.0) taus.insert(format_number(r.tau));
  }
  // An axis whose value differs between rows is part of the column too.
  std::map<std::string, std::set<std::string>> axis_values;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.axes)
      if (!v.empty()) axis_values[k].insert(v);  // "": a teacher's key on a student without one
  auto condition = [&](const ResultRow& r) {
    std::string s;
    for (const auto& [k, v] : r.axes)  // the KD settings' axes are named in the KD label instead
      if (!v.empty() && axis_values[k].size() > 1 && k.rfind("kd.", 0) != 0 && k.rfind("teacher.", 0) != 0) s += " " + k + "=" + v;
    if (datasets.size() > 1) s += " " + r.dataset;
    if (students.size() > 1) s += " " + r.student_arch + " student";
    if (parts.size() > 1) s += " (" + r.data_part + " part)";
    // train.amp=auto picks per machine: runs of one experiment on different CPUs can differ.
    if (precisions.size() > 1) s += " " + r.precision;
    // The best epoch chosen on the test split or on validation samples: not one condition.
    if (metric == "best" && best_by.size() > 1) s += " best by " + r.best_by;
    return s;
  };
  auto kd_label = [&](const ResultRow& r) {
    if (r.alpha == 0.0) return std::string("no KD");
    std::string s = "KD";
    if (alphas.size() > 2 || (alphas.size() == 2 && alphas.front() != 0.0) || r.alpha_schedule != "constant")
      s += " a=" + format_number(r.alpha);
    if (taus.size() > 1) s += " tau=" + format_number(r.tau);
    if (!r.kd_extra.empty()) s += " + " + format_number(r.kd_beta) + "*" + r.kd_extra;
    for (const auto& [k, v] : r.axes)  // τ is named above already
      if (!v.empty() && axis_values[k].size() > 1 && k != "kd.tau" && (k.rfind("kd.", 0) == 0 || k.rfind("teacher.", 0) == 0))
        s += " " + k + "=" + v;
    // The teacher is always named; its f_t and split part where teachers differ in them.
    s += " " + r.teacher_arch;
    if (teacher_keys.size() > 1) {
      s += !r.teacher_f ? "@ft?" : *r.teacher_f < 1.0 ? "@ft" + format_number(*r.teacher_f) : "";
      if (!r.teacher_part.empty() && r.teacher_part != "all")
        s += r.teacher_part == r.data_part ? " (same part)" : " (" + r.teacher_part + " part)";
    }
    return s;
  };
  std::vector<std::string> pruners, kds;
  std::vector<double> fs_;
  for (const auto& r : rows) {
    const std::string p = pruner_label(r) + condition(r), k = kd_label(r);
    if (pruner_label(r) != "none" && std::find(pruners.begin(), pruners.end(), p) == pruners.end()) pruners.push_back(p);
    if (std::find(kds.begin(), kds.end(), k) == kds.end()) kds.push_back(k);
    if (std::find(fs_.begin(), fs_.end(), r.f) == fs_.end()) fs_.push_back(r.f);
  }
  if (pruners.empty())
    for (const auto& r : rows)
      if (std::find(pruners.begin(), pruners.end(), "none" + condition(r)) == pruners.end()) pruners.push_back("none" + condition(r));
  // One order whatever order the rows came in (kdprune run's plan, kdprune results' folders):
  // random first (the baseline), then by name; no KD first, then by α, then by name.
  std::stable_sort(pruners.begin(), pruners.end(), [](const std::string& a, const std::string& b) {
    const bool ra = a.rfind("random", 0) == 0, rb = b.rfind("random", 0) == 0;
    return ra != rb ? ra : a < b;
  });
  std::map<std::string, double> kd_alpha;
  for (const auto& r : rows) kd_alpha.emplace(kd_label(r), r.alpha);
  std::stable_sort(kds.begin(), kds.end(), [&](const std::string& a, const std::string& b) {
    if ((a == "no KD") != (b == "no KD")) return a == "no KD";
    return kd_alpha[a] != kd_alpha[b] ? kd_alpha[a] < kd_alpha[b] : a < b;
  });
  std::sort(fs_.begin(), fs_.end());
  std::map<std::tuple<double, std::string, std::string>, std::vector<double>> cells;
  for (const auto& r : rows) {
    const std::string cond = condition(r);
    if (pruner_label(r) == "none") {  // the full data: every pruner column of the same condition
      for (const auto& q : pruners)
        if (q.size() >= cond.size() && q.compare(q.size() - cond.size(), cond.size(), cond) == 0)
          cells[{r.f, q, kd_label(r)}].push_back(value(r));
    } else {
      cells[{r.f, pruner_label(r) + cond, kd_label(r)}].push_back(value(r));
    }
  }
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> header = {"f"};
  for (const auto& p : pruners)
    for (const auto& k : kds) header.push_back(p + " / " + k);
  table.push_back(header);
  for (double f : fs_) {
    std::vector<std::string> line = {format_number(f)};
    for (const auto& p : pruners)
      for (const auto& k : kds) {
        auto it = cells.find({f, p, k});
        if (it == cells.end()) { line.push_back("-"); continue; }
        const Stats st = stats(it->second);
        char buf[64];
        if (st.n > 1) std::snprintf(buf, sizeof buf, "%.2f ± %.2f (%zu)", st.mean, st.std, st.n);
        else std::snprintf(buf, sizeof buf, "%.2f", st.mean);
        line.push_back(buf);
      }
    table.push_back(line);
  }
  // Markdown, so it pastes into notes and docs as is.
  std::vector<size_t> width(header.size(), 0);
  auto display_len = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count UTF-8 code points (±)
    return n;
  };
  for (const auto& line : table)
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], display_len(line[i]));
  std::ostringstream out;
  for (size_t li = 0; li < table.size(); ++li) {
    out << '|';
    for (size_t i = 0; i < table[li].size(); ++i)
      out << ' ' << table[li][i] << std::string(width[i] - display_len(table[li][i]), ' ') << " |";
    out << '\n';
    if (li == 0) {
      out << '|';
      for (size_t i = 0; i < header.size(); ++i) out << std::string(width[i] + 2, '-') << '|';
      out << '\n';
    }
  }
  // Each teacher's own test top-1 (as its students' runs measured it), beside the students'.
  std::map<std::string, std::vector<double>> teacher_top1;
  std::map<std::string, const ResultRow*> teacher_row;
  for (const auto& r : rows)
    if (!r.teacher_arch.empty() && r.teacher_top1) teacher_top1[teacher_key(r)].push_back(*r.teacher_top1), teacher_row.emplace(teacher_key(r), &r);
  if (!teacher_top1.empty()) {
    std::string line;
    for (const auto& key : teacher_keys) {
      if (!teacher_top1.count(key)) continue;
      const ResultRow& r = *teacher_row[key];
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", stats(teacher_top1[key]).mean);
      line += (line.empty() ? "" : "; ") + r.teacher_arch + " (f_t " + (r.teacher_f ? format_number(*r.teacher_f) : "unknown") +
              (!r.teacher_part.empty() && r.teacher_part != "all" ? ", " + r.teacher_part + " part" : "") + ") " + buf;
    }
    out << "teacher test top-1 %: " << line << "\n";
  }
  const bool seeds = std::any_of(cells.begin(), cells.end(), [](const auto& c) { return c.second.size() > 1; });
  const bool by_val = best_by.count("validation") > 0, by_test = best_by.count("test") > 0;
  const std::string best_text =
      by_val && !by_test ? "test top-1 % of the epoch with the best validation top-1 (data.val_split; --metric last: final epoch)"
      : by_val ? "test top-1 % of the best epoch: the best test top-1 over the evaluated epochs (as RepDistiller and the paper "
                 "report), or, best by validation, of the epoch with the best validation top-1 (data.val_split); --metric last: final epoch"
               : "best test top-1 % over the evaluated epochs (as RepDistiller and the paper report; --metric last: final epoch)";
  out << (metric == "best" ? best_text : "test top-1 % at the final epoch (--metric best: the best over the evaluated epochs)")
      << (seeds ? ", mean ± std (seeds)" : "") << "\n";
  if (seeds)
    out << "between seeds: the student's initialisation and data order, and the subsets of random, CCS and Beta "
           "sampling (drawn per seed); scores, top-k and D2 subsets and the teachers are the same for every seed\n";
  return out.str();
}

}  // namespace kdprune::pipeline
