#include "kdprune/train/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "kdprune/dist/collective.h"
#include "kdprune/system/cpu_share.h"
#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"
#include "cohort.h"
#include "model_run.h"

namespace kdprune::train {

torch::Tensor cross_entropy_loss(const torch::Tensor&, const models::ModelOutput& out, const torch::Tensor& y, const BatchInfo&) {
  return torch::nn::functional::cross_entropy(out.logits.to(torch::kFloat32), y);
}

std::vector<std::string> metrics_columns(bool validation) {
  if (validation)
    return {"epoch",     "lr",        "train_loss", "train_acc",    "val_loss", "val_top1",
            "test_loss", "test_top1", "test_top5",  "images_per_s", "seconds"};
  return {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_top1", "test_top5", "images_per_s", "seconds"};
}

namespace {
// A group trains on one device; each model sees one dataset, and data-parallel runs train alone.
void check_group(const std::vector<TrainInputs>& runs) {
  const auto device = runs.front().data.train.images.device();
  for (size_t i = 1; i < runs.size(); ++i)
    if (runs[i].data.train.images.device() != device)
      throw InternalError("students trained together must share the device (student " + std::to_string(i + 1) + " is on " +
                  runs[i].data.train.images.device().str() + ", student 1 on " + device.str() + ")");
  const auto& lead = runs.front();
  if (lead.collective && !lead.collective->alone() && runs.size() > 1)
    throw Error("data-parallel training trains one model per process (train the students one at a time)");
  if (lead.collective && !lead.collective->alone() && !lead.observers.empty())
    throw Error("data-parallel training: scoring observers see one rank's samples only; score in one process");
}

// One path for a cohort (its models share each step): the graph only if every model can be
// captured, else the eager path all can take.
// `names`: the runs' names, for the errors.
StepPath cohort_path(const std::vector<const TrainInputs*>& runs, const std::vector<std::string>& names, const Precision& precision,
                     bool cuda, bool data_parallel) {
  if (data_parallel) {  // the gradients are reduced during and after backward, not inside a captured step
    if (runs.front()->train.cuda_graph == CaptureSetting::on)
      throw Error("train.cuda_graph=on: data-parallel training steps eagerly (its gradient reduction is not captured); use auto or off");
    return StepPath::host;
  }
  std::vector<StepPath> paths;
  for (const auto* r : runs) paths.push_back(step_path(*r, precision, cuda));
  const auto path = common_path(paths);
  if (path == StepPath::graph || runs.size() == 1) return path;
  const auto blocker = std::find(paths.begin(), paths.end(), path) - paths.begin();
  for (size_t i = 0; i < runs.size(); ++i)
    if (paths[i] == StepPath::graph && runs[i]->train.cuda_graph == CaptureSetting::on)
      throw Error("train.cuda_graph=on: " + names[i] + " shares its batches with " + names[blocker] +
                  ", whose step cannot be captured (" + step_path_reason(*runs[blocker], precision, cuda) +
                  "); use train.cuda_graph=auto (that cohort steps eagerly) or train them apart");
  if (std::find(paths.begin(), paths.end(), StepPath::graph) != paths.end())
    spdlog::info("students trained together: not captured as a CUDA graph ({}'s step cannot be: {})", names[blocker],
                 step_path_reason(*runs[blocker], precision, cuda));
  return path;
}

// The runs split into cohorts of runs that share every batch, in order of first appearance.
std::vector<std::vector<size_t>> cohorts_of(const std::vector<TrainInputs>& runs, const std::vector<Precision>& precisions) {
  std::vector<std::vector<size_t>> cohorts;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto it = std::find_if(cohorts.begin(), cohorts.end(), [&](const auto& c) {
      return same_batches(runs[c.front()], precisions[c.front()], runs[i], precisions[i]);
    });
    if (it == cohorts.end()) cohorts.push_back({i});
    else it->push_back(i);
  }
  return cohorts;
}

}  // namespace

std::vector<TrainResult> fit_group(const std::vector<TrainInputs>& given, const std::vector<std::string>& names) {
  if (given.empty()) return {};
  const auto device = given.front().data.train.images.device();
  const std::vector<TrainInputs>& runs = given;
  // What each run trains in, made concrete for the device once; the runs' settings stay as asked.
  std::vector<Precision> precisions;
  for (const auto& r : runs) precisions.push_back(resolved_precision(r.train, device));
  check_group(runs);
  const auto& lead = runs.front();
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  dist::Collective* collective = lead.collective && !lead.collective->alone() ? lead.collective : nullptr;
  const bool alone = runs.size() == 1;
  std::vector<std::string> tags;
  for (size_t i = 0; i < runs.size(); ++i)
    tags.push_back(alone ? "" : "[" + (i < names.size() ? names[i] : "student " + std::to_string(i + 1)) + "] ");
  const auto groups = cohorts_of(runs, precisions);
  std::vector<StepPath> paths;
  for (const auto& g : groups) {
    std::vector<const TrainInputs*> members;
    std::vector<std::string> member_names;
    for (size_t i : g) {
      members.push_back(&runs[i]);
      member_names.push_back(i < names.size() ? names[i] : "student " + std::to_string(i + 1));
    }
    paths.push_back(cohort_path(members, member_names, precisions[g.front()], device.is_cuda(), collective != nullptr));
  }
  // A graph is recorded on a side stream (capture cannot use the legacy default stream); the whole
  // run, evaluation included, stays on it.
  std::optional<SideStream> side;
  if (std::find(paths.begin(), paths.end(), StepPath::graph) != paths.end()) side.emplace(device);
  std::vector<std::unique_ptr<Cohort>> cohorts;
  std::vector<TrainResult> results(runs.size());
  for (size_t c = 0; c < groups.size(); ++c) {
    try {
      cohorts.push_back(std::make_unique<Cohort>(runs, groups[c], tags, precisions[groups[c].front()], paths[c], collective, alone));
    } catch (...) {  // the cohort's own start (its view): each of its models fails with it
      if (alone) throw;
      const std::string what = failure_line("", "failed to start");
      for (size_t i : groups[c]) results[i].error = tags[i] + what;
    }
  }
  if (cohorts.empty()) return results;
  if (!alone)
    spdlog::info("{} students train together in {} cohort(s) of shared batches ({})", runs.size(), cohorts.size(), [&] {
      std::string s;
      for (size_t c = 0; c < cohorts.size(); ++c) {
        s += (s.empty() ? "" : ", ") + std::to_string(cohorts[c]->size()) + " on " + std::to_string(cohorts[c]->shape().n) + " samples";
        // On a GPU, which step each cohort takes (a cohort stepping eagerly is many times slower).
        if (device.is_cuda()) s += cohorts[c]->path() == StepPath::graph ? " as a CUDA graph" : " eagerly";
      }
      return s;
    }());
  // The progress line follows the cohort with the most steps to go (it sets the group's wall time);
  // its images/s count every cohort's images.
  Cohort* longest = cohorts.front().get();
  for (const auto& c : cohorts)
    if (c->steps_left() > longest->steps_left()) longest = c.get();
  // The progress line follows `shown`: the longest, or, should all its models stop early (non-finite
  // losses), the cohort with the most steps still to go, from where it is then.
  Cohort* shown = longest;
  std::optional<Progress> progress(std::in_place, longest->stop(), longest->shape().steps, longest->first_epoch(), 30.0);
  system::ThreadGovernor governor(at::get_num_threads(), lead.adapt_threads && !device.is_cuda(), !device.is_cuda());
  // Cohorts step in proportion to the steps they have to go, so all of them reach their last step
  // together (the longest steps every tick, one a tenth its length every tenth tick): each stretch
  // of the run holds the same share of every cohort's work (with equal epoch counts, their epochs
  // end together and their epoch times are the group's), and the mix of cohorts stays the same.
  std::vector<double> rate, credit(cohorts.size(), 0.0);
  const int64_t ticks_planned = longest->steps_left();
  int64_t ticks = 0;
  for (const auto& c : cohorts)
    rate.push_back(longest->steps_left() > 0 ? static_cast<double>(c->steps_left()) / static_cast<double>(longest->steps_left()) : 1.0);
  for (bool busy = true; busy; ++ticks) {
    busy = false;
    for (size_t k = 0; k < cohorts.size(); ++k) {
      auto& c = cohorts[k];
      if (c->finished()) continue;
      busy = true;
      // Once the longest has finished, the others finish their last (rounding's) steps in turn.
      credit[k] += longest->finished() ? 1.0 : rate[k];
      // The followed cohort ended before the longest's planned turns: its models stopped early.
      if (shown->finished() && c.get() != shown && ticks < ticks_planned) {
        for (const auto& o : cohorts)
          if (!o->finished() && (shown->finished() || o->steps_left() > shown->steps_left())) shown = o.get();
        progress.reset();  // ends its line before the next one starts
        progress.emplace(shown->stop(), shown->shape().steps, shown->epoch(), 30.0, shown->step());
      }
      for (; credit[k] >= 1.0 && !c->finished(); credit[k] -= 1.0) {
        governor.tick();
        if (c.get() == shown) c->advance(&*progress, alone);
        else progress->add_images(c->advance(nullptr, alone));
      }
    }
  }
  for (const auto& c : cohorts) {
    auto r = c->results();
    for (size_t k = 0; k < r.size(); ++k) results[c->members()[k]] = std::move(r[k]);
  }
  return results;
}

TrainResult fit(const TrainInputs& in) { return fit_group({in}).front(); }

}  // namespace kdprune::train
